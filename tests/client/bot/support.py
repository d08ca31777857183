"""A whole TradingMCP server for the bot tests: the simulator on the real recording (paced replay) → python-binance
adapter → every tool family → McpServer over wss (fresh dev CA, bearer token with read+trade scopes).

``BotServer.restart()`` stops the McpServer and starts a new one on the same port with the same app, stream hub and
exchange stack (the resilience drill).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradingmcp.app.demo import DemoOptions, run_demo
from tradingmcp.app.serve import HTTP_OPEN_PATHS, http_routes
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.client.bot.config import BotConfig, ConnectionConfig, ReportConfig, RiskConfig, SymbolConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.webhooks.config import TradingViewConfig
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import Simulator
from tradingmcp.transport.auth import TokenStore
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs

TOKEN = "bot-test-token-0123456789abcdef"


@dataclass
class BotServer:
    """A running server: ``url`` (wss), ``cafile``, ``sim``; ``restart()`` replaces the McpServer on the same port."""

    url: str
    cafile: Path
    sim: Simulator
    stack: ExchangeStack
    app: McpApp
    hub: StreamHub
    server: McpServer
    server_config: ServerConfig

    async def restart(self, down_s: float = 0.0) -> None:
        """Stop the McpServer (clients are disconnected), wait ``down_s``, start a new one on the same port."""
        await self.server.stop()
        await asyncio.sleep(down_s)
        self.server_config = replace(self.server_config, port=self.server.port)
        self.server = McpServer(self.app, self.server_config, streams=self.hub)
        await self.server.start()

    def bot_config(
        self, out_dir: Path, symbols: tuple[str, ...] = ("BTCUSDT",), exchange: str = "binance"
    ) -> BotConfig:
        """A bot config for this server (small quotes, report under ``out_dir``, trading on ``exchange``)."""
        sym = {
            "BTCUSDT": SymbolConfig("BTCUSDT", Decimal("0.0002"), Decimal("0.002")),
            "ETHUSDT": SymbolConfig("ETHUSDT", Decimal("0.004"), Decimal("0.04")),
        }
        return BotConfig(
            connection=ConnectionConfig(
                url=self.url, token=TOKEN, cafile=str(self.cafile), exchange=exchange, call_timeout_s=5.0
            ),
            symbols=tuple(sym[s] for s in symbols),
            risk=RiskConfig(reject_cooldown_ms=100),
            report=ReportConfig(out_dir=out_dir),
        )


def exchange_records(
    sim: Simulator, prefix: str, account_key: str = "sim-key"
) -> tuple[dict[tuple[str, int], dict[str, str]], list[str]]:
    """The simulator's own records of the bot's orders in the engine account ``account_key`` (``sim-key`` for the
    Binance face, ``mexc-sim-key`` for the MEXC face): fills by ``(symbol, trade_id)`` (price, qty, commission,
    commission asset, side) and the client order ids of every order whose id starts with ``prefix``."""
    account = sim.engine.accounts[account_key]
    ours = {(o.symbol, o.order_id): o for o in account.orders if o.client_order_id.startswith(prefix)}
    fills = {
        (t.symbol, t.id): {
            "price": str(t.price.normalize()),
            "qty": str(t.qty.normalize()),
            "commission": str(t.commission.normalize()),
            "commission_asset": t.commission_asset,
            "side": "BUY" if t.is_buyer else "SELL",
        }
        for t in account.trades
        if (t.symbol, t.order_id) in ours
    }
    return fills, [o.client_order_id for o in ours.values()]


def booked_fills(
    trades: list[dict[str, Any]], trade_key: Callable[[Any], Any] = lambda tid: tid
) -> dict[tuple[str, Any], dict[str, str]]:
    """The fills a bot report booked, shaped as :func:`exchange_records` gives the simulator's: by ``(symbol,
    trade_key(trade_id))``, decimals normalised."""
    return {
        (f["symbol"], trade_key(f["trade_id"])): {
            "price": str(Decimal(f["price"]).normalize()),
            "qty": str(Decimal(f["qty"]).normalize()),
            "commission": str(Decimal(f["commission"]).normalize()),
            "commission_asset": f["commission_asset"],
            "side": f["side"],
        }
        for f in trades
    }


async def demo_run(
    exchange: str,
    data_dir: Path,
    out: Path,
    capsys: pytest.CaptureFixture[str],
    duration_s: float = 4.0,
    timeout_s: float = 40.0,
) -> tuple[int, str, dict[str, Any]]:
    """``tradingmcp demo --exchange <exchange>`` at 20× into ``out``: its exit status, what it printed and its
    ``report.json``."""
    opts = DemoOptions(duration_s=duration_s, speed=20.0, data_dir=data_dir, out_dir=out, quiet=True, exchange=exchange)
    async with asyncio.timeout(timeout_s):
        status = await run_demo(opts)
    text = capsys.readouterr().out
    report = orjson.loads((out / "report.json").read_bytes()) if status == 0 else {}
    return status, text, report


@asynccontextmanager
async def start_bot_server(
    data_dir: Path,
    tmp_path: Path,
    speed: float = 20.0,
    exchange: str = "binance",
    mexc_offset_bps: float = 0.0,
    tradingview: TradingViewConfig | None = None,
) -> AsyncIterator[BotServer]:
    """Start the whole stack over wss with the venue(s) ``exchange`` (``binance``, ``mexc`` = the simulator's MEXC
    face, ``both``); the replay runs paced at ``speed`` (not looping); ``mexc_offset_bps``: the MEXC face replays
    on its own simulator at prices moved by that much (``stack.mexc_sim``); ``tradingview`` (with a secret): the
    port also serves ``POST /webhooks/tradingview`` (``BotServer.url`` with ``https://`` and no ``/mcp``)."""
    certs = tmp_path / "certs"
    write_dev_certs(certs)
    app, hub = McpApp(), StreamHub()
    register_builtin_tools(app, hub)
    config = ToolsetConfig() if tradingview is None else ToolsetConfig(tradingview=tradingview)
    config = replace(config, audit=replace(config.audit, data_dir=tmp_path / "audit"))
    stack = await ExchangeStack.start(
        app,
        hub,
        ExchangeOptions(exchange, speed=speed, loop=False, data_dir=data_dir, mexc_offset_bps=mexc_offset_bps),
        config,
    )
    assert stack.sim is not None
    server_config = ServerConfig(
        port=0, ssl=server_ssl_context(certs / "server.pem"), tokens=TokenStore({TOKEN: ("bot", ["read", "trade"])})
    )
    if tradingview is None:
        server = McpServer(app, server_config, streams=hub)
    else:
        routes = http_routes(lambda: stack, hub=hub, tradingview=config.tradingview)
        server = McpServer(app, server_config, streams=hub, routes=routes, open_paths=HTTP_OPEN_PATHS)
    try:
        await server.start()
        yield BotServer(server.url, certs / "ca.pem", stack.sim, stack, app, hub, server, server_config)
    finally:
        await server.stop()
        await stack.close()
