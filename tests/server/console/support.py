"""Support for the console's browser tests: the whole server on the simulator (as ``tradingmcp serve`` composes it:
``app.serve.http_routes`` with the console, metrics and ``/health``) on a loopback port that can be stopped and
started again on the same port, and Debian's Chromium driven by Playwright.

Chromium is ``/usr/bin/chromium`` (``make test`` installs it with apt-get when missing) or ``$TRADINGMCP_CHROMIUM``;
Playwright's own browser download is never used. Screenshots go to ``test-output/console/`` at the top of the
repository (gitignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from tradingmcp.app.serve import HTTP_OPEN_PATHS, http_routes
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.audit import AuditConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.metrics import metrics_routes
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import Simulator
from tradingmcp.transport.auth import TokenStore

TRADER_TOKEN = "console-trader-0123456789abcdef"
READER_TOKEN = "console-reader-0123456789abcdef"
CHROMIUM = os.environ.get("TRADINGMCP_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "console"
WAIT_MS = 30_000
"""Longest wait for one condition in the page (ms): generous, the machine is shared."""
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-features=MediaRouter,OptimizationHints,Translate",
    "--metrics-recording-only",
)
"""Chromium's own network traffic off (updates, sync, metrics upload): the tests reach only the loopback server."""


@dataclass
class ConsoleServer:
    """A running server: ``base`` (``http://127.0.0.1:<port>``), ``sim`` (step it), ``mcp_url``; :meth:`stop` and
    :meth:`start` the MCP server on the same port (the venues and streams keep running)."""

    app: McpApp
    hub: StreamHub
    stack: ExchangeStack
    config: ServerConfig
    server: McpServer | None = None
    port: int = 0
    routes: dict[str, Any] = field(default_factory=dict)

    @property
    def sim(self) -> Simulator:
        assert self.stack.sim is not None
        return self.stack.sim

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/mcp"

    def console(self, token: str | None) -> str:
        return f"{self.base}/console" + (f"#token={token}" if token is not None else "")

    async def start(self) -> None:
        stack = self.stack
        server = McpServer(
            self.app,
            replace(self.config, port=self.port),
            streams=self.hub,
            routes=http_routes(lambda: stack),
            open_paths=HTTP_OPEN_PATHS,
        )
        await server.start()
        server.http_routes.update(
            metrics_routes(self.app, lambda: server, stack.venues, stack.toolset.audit, stack.toolset.market)
        )
        self.server = server
        self.port = server.port

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()

    @asynccontextmanager
    async def client(self, token: str = TRADER_TOKEN) -> AsyncIterator[McpClient]:
        c = await connect(self.mcp_url, token=token)
        try:
            yield c
        finally:
            await c.close()


@asynccontextmanager
async def console_server(data_dir: Path, tmp_path: Path, host: str = "127.0.0.1") -> AsyncIterator[ConsoleServer]:
    """The simulator on the real recording in manual-step mode (``sim.step(n)`` replays ``n`` events), the Binance
    venue, every tool, and the server on ``host`` (reached at 127.0.0.1) with two tokens: ``trader`` (read, trade)
    and ``reader`` (read)."""
    app, hub = McpApp(), StreamHub()
    register_builtin_tools(app, hub)
    tools = ToolsetConfig(audit=AuditConfig(data_dir=tmp_path / "audit"))
    opts = ExchangeOptions(exchange="binance", speed=0, loop=False, data_dir=data_dir)
    stack = await ExchangeStack.start(app, hub, opts, tools)
    tokens = TokenStore({TRADER_TOKEN: ("trader", ["read", "trade"]), READER_TOKEN: ("reader", ["read"])})
    srv = ConsoleServer(app, hub, stack, ServerConfig(host=host, port=0, tokens=tokens))
    try:
        await srv.start()
        yield srv
    finally:
        await srv.stop()
        await stack.close()


def chromium_path() -> str:
    """:data:`CHROMIUM`, which must exist (fails with what to do)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    return CHROMIUM


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, through Playwright."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def replaying(sim: Simulator, events: int = 3, every_s: float = 0.05) -> AsyncIterator[None]:
    """The simulator replays ``events`` recorded events every ``every_s`` while the block runs."""

    async def run() -> None:
        while True:
            sim.step(events)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def shot(page: Page, name: str, full_page: bool = True) -> Path:
    """A screenshot under :data:`SCREENSHOTS` (the whole page, or what the viewport shows)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def page_until(page: Page, expression: str, timeout_s: float = WAIT_MS / 1000) -> None:
    """Until the JavaScript ``expression`` is true in ``page`` (polled every 50 ms; fails after ``timeout_s``). Not
    ``wait_for_function``: that evaluates its string with ``eval``, which the page's Content-Security-Policy forbids."""
    try:
        await until(lambda: _truthy(page, expression), timeout_s)
    except TimeoutError:
        raise AssertionError(f"still false after {timeout_s} s: {expression}") from None


async def _truthy(page: Page, expression: str) -> bool:
    return bool(await page.evaluate(expression))


async def state_is(page: Page, state: str) -> None:
    """Until the page's connection state is ``state`` (``connected``, ``reconnecting``, ``refused``)."""
    await page_until(page, f"document.body.dataset.state === {state!r}")


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = WAIT_MS / 1000) -> None:
    """Until ``check()`` holds (polls every 50 ms; fails after ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - polling the browser's state, bounded by the timeout
            await asyncio.sleep(0.05)


def below(price: str, pct: str = "0.98", tick: str = "0.01") -> str:
    """``price`` × ``pct`` on the tick grid: a resting buy away from the market, inside the price band."""
    return str((Decimal(price) * Decimal(pct)).quantize(Decimal(tick)))


def resting_buy(bid: str, pct: str = "0.98") -> dict[str, str]:
    """``place_order`` arguments of a small BTCUSDT limit buy at ``bid`` × ``pct`` (it rests on the book)."""
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.001",
        "price": below(bid, pct),
        "time_in_force": "GTC",
    }
