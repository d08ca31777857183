"""Support for the server tests: a whole TradingMCP server: the simulator on the real recording (manual-step,
``speed=0``: only ``server.sim.step(n)`` advances the market) → python-binance adapter → every tool family →
McpServer on loopback ws.

Two tokens: ``trader`` (scopes read+trade) and ``reader`` (read only). ``tool_server`` uses the default
:class:`ToolsetConfig`; a test that needs other limits builds its own with ``start_tool_server(data_dir, tmp_path,
config)``. ``start_counted_server`` is the same Binance stack with the adapter's REST calls going through a loopback
proxy that counts them (:class:`RestCounter`).

The server's port also serves what ``tradingmcp serve`` mounts beside the MCP endpoint (``app.serve.http_routes``:
the REST market data, ``/openapi.json``, ``/docs``); ``ToolServer.http_url`` is its base URL.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tradingmcp.app.serve import HTTP_OPEN_PATHS, http_routes
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack, sim_binance_config
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.audit import AuditConfig
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.replay import Retention
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig, build_toolset
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET
from tradingmcp.sim.weights import RateLimitConfig
from tradingmcp.transport.auth import TokenStore

TRADER_TOKEN = "trader-token-0123456789abcdef"
READER_TOKEN = "reader-token-0123456789abcdef"
AUDITOR_TOKEN = "auditor-token-0123456789abcdef"
AUDIT_ONLY_TOKEN = "audit-only-token-0123456789abcdef"
"""A token without the ``read`` scope."""


@dataclass
class ToolServer:
    """A running server: ``url``, ``sim`` (step it), ``venues``, ``app``, ``stack``; ``client()`` connects."""

    url: str
    sim: Simulator
    venues: Venues
    app: McpApp
    hub: StreamHub
    stack: ExchangeStack
    server: McpServer

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:<port>``: the plain-HTTP side of the MCP port."""
        return self.url.replace("ws://", "http://").removesuffix("/mcp")

    @asynccontextmanager
    async def client(self, token: str = TRADER_TOKEN, **options: Any) -> AsyncIterator[McpClient]:
        c = await connect(self.url, token=token, **options)
        try:
            yield c
        finally:
            await c.close()


@asynccontextmanager
async def start_tool_server(
    data_dir: Path,
    tmp_path: Path,
    config: ToolsetConfig | None = None,
    speed: float = 0,
    exchange: str = "binance",
    retention: Retention | None = None,
) -> AsyncIterator[ToolServer]:
    """Start the whole stack (see module docstring) for ``exchange`` (binance, mexc or both); the audit database goes
    under ``tmp_path``; ``retention``: the streams' replay windows (default :class:`Retention`)."""
    config = _audit_under(config, tmp_path)
    app, hub = McpApp(), StreamHub(retention)
    register_builtin_tools(app, hub)
    opts = ExchangeOptions(exchange=exchange, speed=speed, loop=False, data_dir=data_dir)
    stack = await ExchangeStack.start(app, hub, opts, config)
    async with _serve(app, hub, stack) as srv:
        yield srv


@asynccontextmanager
async def stepped_tool_server(
    data_dir: Path, tmp_path: Path, exchange: str, config: ToolsetConfig | None = None, steps: int = 2000
) -> AsyncIterator[ToolServer]:
    """:func:`start_tool_server` for ``exchange`` on the manual-step simulator with ``steps`` events replayed."""
    async with start_tool_server(data_dir, tmp_path, config, exchange=exchange) as srv:
        srv.sim.step(steps)
        yield srv


def structured(result: dict[str, Any]) -> dict[str, Any]:
    """The structuredContent of a successful ``call_tool`` result (fails the test on an isError result)."""
    assert not result.get("isError"), result
    content: dict[str, Any] = result["structuredContent"]
    return content


def _audit_under(config: ToolsetConfig | None, tmp_path: Path) -> ToolsetConfig:
    config = config or ToolsetConfig()
    if config.audit.data_dir is None:
        config = replace(config, audit=replace(config.audit, data_dir=tmp_path / "audit"))
    return config


@asynccontextmanager
async def _serve(app: McpApp, hub: StreamHub, stack: ExchangeStack) -> AsyncIterator[ToolServer]:
    """An MCP server on loopback over a started stack; stops both."""
    assert stack.sim is not None
    tokens = TokenStore(
        {
            TRADER_TOKEN: ("trader", ["read", "trade"]),
            READER_TOKEN: ("reader", ["read"]),
            AUDITOR_TOKEN: ("auditor", ["read", "audit"]),
            AUDIT_ONLY_TOKEN: ("audit-only", ["audit"]),
        }
    )
    server = McpServer(
        app,
        ServerConfig(port=0, tokens=tokens),
        streams=hub,
        routes=http_routes(lambda: stack),
        open_paths=HTTP_OPEN_PATHS,
    )
    try:
        await server.start()
        yield ToolServer(server.url, stack.sim, stack.venues, app, hub, stack, server)
    finally:
        await server.stop()
        await stack.close()


class RestCounter:
    """A loopback HTTP proxy in front of the simulator's REST API (``target``: its ``/api`` base) that counts each
    request as ``(method, path after /api/)``, e.g. ``("GET", "v3/ticker/bookTicker")``."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.requests: Counter[tuple[str, str]] = Counter()
        self.url = ""
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    def count(self, method: str, path: str) -> int:
        return self.requests[(method, path)]

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/api/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        tail = request.match_info["tail"]
        self.requests[(request.method, tail)] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("x-mbx-apikey", "content-type")}
        url = f"{self.target}/{tail}" + (f"?{request.query_string}" if request.query_string else "")
        async with self._session.request(request.method, url, data=await request.read(), headers=headers) as up:
            keep = {k: v for k, v in up.headers.items() if k.upper().startswith("X-MBX-") or k == "Retry-After"}
            return web.Response(body=await up.read(), status=up.status, content_type="application/json", headers=keep)


@asynccontextmanager
async def start_counted_server(
    data_dir: Path,
    tmp_path: Path,
    config: ToolsetConfig | None = None,
    sim_limits: RateLimitConfig | None = None,
    max_rate_wait_s: float | None = None,
) -> AsyncIterator[tuple[ToolServer, RestCounter]]:
    """The Binance stack of :func:`start_tool_server` (manual-step simulator), its adapter's REST calls through a
    :class:`RestCounter` (its WebSocket streams and WS API orders go to the simulator directly). ``sim_limits``: the
    simulator's rate limits; ``max_rate_wait_s``: the adapter's longest wait in its rate limiter (then RateLimited)."""
    config = _audit_under(config, tmp_path)
    sim_config = SimConfig(speed=0, loop=False, data_dir=data_dir)
    if sim_limits is not None:
        sim_config = replace(sim_config, limits=sim_limits)
    sim = Simulator(sim_config)
    await sim.start()
    counter = RestCounter(sim.rest_url)
    stack: ExchangeStack | None = None  # once made, it stops the simulator with the adapter
    try:
        await counter.start()
        app, hub = McpApp(), StreamHub()
        register_builtin_tools(app, hub)
        binance = sim_binance_config(counter.url, sim.stream_url, sim.ws_api_url)
        if max_rate_wait_s is not None:
            binance = replace(binance, max_rate_wait_s=max_rate_wait_s)
        adapter = BinanceAdapter(binance)
        venues = Venues([Venue("binance", adapter, "sim", sim)])
        stack = ExchangeStack(venues, build_toolset(app, hub, venues, config), sim, "counted REST")
        try:
            await adapter.start()
            await venues.get().user.start()
            await stack.toolset.start()
        except BaseException:
            await stack.close()
            raise
        async with _serve(app, hub, stack) as srv:
            yield srv, counter
    finally:
        await counter.stop()
        if stack is None:
            await sim.stop()


START_S = 60.0
"""Longest wait for a ``tradingmcp serve`` process to print its URL (it connects to the exchange first)."""


@asynccontextmanager
async def serve_on_sim(
    sim: Simulator, var: Path, **env_extra: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process, list[str]]]:
    """``tradingmcp serve`` as its own process on the simulator ``sim`` in this one (as a testnet: the Binance endpoints point at it), its data in ``var``, ``env_extra`` added to its environment; yields its URL, the process
    and the stderr lines printed up to the URL (killed if still running at the end)."""
    env = {
        **os.environ,
        "TRADINGMCP_DATA_DIR": str(var),
        "BINANCE_API_KEY": BINANCE_SIM_KEY,
        "BINANCE_API_SECRET": BINANCE_SIM_SECRET,
        "BINANCE_REST_URL": sim.rest_url,
        "BINANCE_STREAM_URL": sim.stream_url,
        "BINANCE_WS_API_URL": sim.ws_api_url,
        "TRADINGMCP_SAFETY_CONFIRM_ABOVE_NOTIONAL": "none",
        **env_extra,
    }
    tokens = f"trader:{TRADER_TOKEN}:read,trade;auditor:{AUDITOR_TOKEN}:read,audit"
    cmd = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--exchange", "binance", "--tokens", tokens]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        url = ""
        async with asyncio.timeout(START_S):
            while not url:
                line = (await proc.stderr.readline()).decode()
                assert line, "serve ended before printing its URL:\n" + "".join(lines)
                lines.append(line)
                if m := re.search(r"at (ws://\S+)", line):
                    url = m.group(1)
        yield url, proc, lines
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def held(sim: Simulator, n: int) -> None:
    """Until the simulator holds ``n`` placements (state with no event to wait on); fails after 20 s."""
    async with asyncio.timeout(20):
        while sim.state.faults.held < n:  # noqa: ASYNC110 - polling simulator state, bounded by the timeout
            await asyncio.sleep(0.01)


async def bid(sim: Simulator) -> Decimal:
    async with aiohttp.ClientSession() as http, http.get(f"{sim.rest_url}/v3/ticker/bookTicker?symbol=BTCUSDT") as r:
        return Decimal((await r.json())["bidPrice"])


WAIT_S = 10.0
"""Longest wait for one tool call in the tool tests (s)."""


async def call(c: McpClient, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """``call_tool`` bounded by :data:`WAIT_S`."""
    async with asyncio.timeout(WAIT_S):
        return await c.call_tool(tool, args)


async def ok(c: McpClient, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """The structuredContent of a successful call (fails the test on an isError result)."""
    res = await call(c, tool, args)
    assert res["isError"] is False, res["content"][0]["text"]
    structured: dict[str, Any] = res["structuredContent"]
    return structured


__all__ = [
    "AUDITOR_TOKEN",
    "AUDIT_ONLY_TOKEN",
    "READER_TOKEN",
    "TRADER_TOKEN",
    "WAIT_S",
    "AuditConfig",
    "RestCounter",
    "ToolServer",
    "bid",
    "call",
    "held",
    "ok",
    "serve_on_sim",
    "start_counted_server",
    "start_tool_server",
    "stepped_tool_server",
    "structured",
]
