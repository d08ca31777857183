"""``tradingmcp demo``: the main job end to end on real recorded data, on loopback.

simulator (replaying ``../shared/data/binance/recorded``: BTCUSDT + ETHUSDT, ~11× so the 10.8 recorded minutes take
about a minute; the seeded synthetic market when no recording exists) → python-binance adapter → MCP server over wss
(fresh dev CA, bearer token with read+trade scopes) → the reference trading bot (:mod:`tradingmcp.client.bot`), which
subscribes to trades, book tickers, the order book and its order updates, quotes both symbols, and at the end cancels
its orders and writes its report (JSON + text + PNG plots). While the bot trades, the server's port also serves the
web console (``/console``, :mod:`tradingmcp.server.console`): the demo prints its address with a token made for this
run only (scopes read+trade+audit, so the audit panel shows the bot's calls and the kill switch works).

With ``exchange="mexc"`` (``tradingmcp demo --exchange mexc``) the server runs the simulator's MEXC face instead (the
same replayed market and matching engine speaking MEXC Spot v3: REST + protobuf WebSocket, string order ids, replace
emulated as cancel + place) behind the MEXC adapter, and the same bot trades it with ``exchange = "mexc"``; with
``exchange="bybit"`` the simulator's Bybit face (Bybit V5 spot: REST + JSON WebSocket) behind the Bybit adapter. With
``ccxt:binance`` or ``ccxt:mexc`` the same faces are reached through ccxt (:mod:`tradingmcp.app.ccxt_venue`): ccxt's
Binance or MEXC class behind the CCXT adapter, the venue named ``binance`` or ``mexc``.

Exits non-zero when anything failed: start-up, no order placed, no fill, the bot's P&L not matching the P&L of the
account's balances, an order left open, an order placed twice on the exchange.
"""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from tradingmcp.app.serve import HTTP_OPEN_PATHS, console_url, http_routes
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.client.bot.app import make_view, print_summary, run_session
from tradingmcp.client.bot.config import (
    BotConfig,
    ConnectionConfig,
    ReportConfig,
    RiskConfig,
    StrategyConfig,
    SymbolConfig,
    load_config,
)
from tradingmcp.server.audit import AuditConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.metrics import metrics_routes
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport.auth import TokenStore, new_token
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs

SYMBOLS = ("BTCUSDT", "ETHUSDT")
DEMO_EXCHANGES = ("binance", "mexc", "bybit", "ccxt:binance", "ccxt:mexc")
"""Venues the demo can run the bot on (the simulator's Binance face or its MEXC face)."""


@dataclass(frozen=True)
class DemoOptions:
    """``duration_s`` of trading, replay ``speed``, data root, ``out_dir`` for the report, ``quiet`` (log lines instead
    of the live view), ``bot_config`` (a TOML file; its connection settings are replaced by the demo's server),
    ``exchange`` (one of :data:`DEMO_EXCHANGES`: the simulator face the server bridges and the bot trades on)."""

    duration_s: float = 60.0
    speed: float = 11.0  # 10.8 recorded minutes in ~1 minute
    data_dir: Path | None = None
    synthetic: bool = False
    out_dir: Path = Path("demo-report")
    quiet: bool = False
    bot_config: Path | None = None
    exchange: str = "binance"


def demo_bot_config(url: str, token: str, cafile: Path, out_dir: Path, exchange: str = "binance") -> BotConfig:
    """The bot settings the demo uses (the same as ``bot.example.toml``), pointed at the demo's server and trading on
    ``exchange``."""
    return BotConfig(
        connection=ConnectionConfig(url=url, token=token, cafile=str(cafile), exchange=exchange),
        symbols=(
            SymbolConfig("BTCUSDT", Decimal("0.0002"), Decimal("0.002")),
            SymbolConfig("ETHUSDT", Decimal("0.004"), Decimal("0.04")),
        ),
        risk=RiskConfig(max_daily_loss_quote=Decimal("25"), reject_cooldown_ms=250),
        report=ReportConfig(out_dir=out_dir),
    )


def _exchange_problems(stack: ExchangeStack, prefix: str) -> list[str]:
    """Orders placed twice (same client order id) on the simulator."""
    if stack.sim is None:
        return []
    seen: dict[str, int] = {}
    for account in stack.sim.engine.accounts.values():
        for order in account.orders:
            if order.client_order_id.startswith(prefix):
                seen[order.client_order_id] = seen.get(order.client_order_id, 0) + 1
    return [f"client order id {cid} placed {n} times" for cid, n in seen.items() if n > 1]


async def run_demo(opts: DemoOptions) -> int:
    """Run the demo; returns the exit status (0 when the run was good, 1 otherwise).

    Raises:
        ValueError: ``opts.exchange`` is not one of :data:`DEMO_EXCHANGES`.
    """
    if opts.exchange not in DEMO_EXCHANGES:
        raise ValueError(f"exchange must be one of {', '.join(DEMO_EXCHANGES)}, got {opts.exchange!r}")
    work = Path(tempfile.mkdtemp(prefix="tradingmcp-demo-"))
    certs = work / "certs"
    write_dev_certs(certs)
    token = new_token()
    console_token = new_token()  # the web console's, for this run only: it dies with the server
    app, hub = McpApp(), StreamHub()
    register_builtin_tools(app, hub)
    tools = ToolsetConfig(audit=AuditConfig(data_dir=opts.out_dir / "audit"))
    stack = await ExchangeStack.start(
        app,
        hub,
        ExchangeOptions(
            exchange=opts.exchange, speed=opts.speed, loop=False, data_dir=opts.data_dir, synthetic=opts.synthetic
        ),
        tools,
    )
    print(stack.banner, flush=True)
    server = McpServer(
        app,
        ServerConfig(
            port=0,
            ssl=server_ssl_context(certs / "server.pem"),
            tokens=TokenStore(
                {token: ("demo-bot", ["read", "trade"]), console_token: ("console", ["read", "trade", "audit"])}
            ),
        ),
        streams=hub,
        routes=http_routes(lambda: stack),
        open_paths=HTTP_OPEN_PATHS,
    )
    status = 0
    try:
        await server.start()
        server.http_routes.update(
            metrics_routes(app, lambda: server, stack.venues, stack.toolset.audit, stack.toolset.market)
        )
        print(f"MCP server: {server.url} (TLS with a fresh dev CA, bearer token, scopes read+trade)", flush=True)
        print(
            f"web console: {console_url(server, console_token)}\n"
            f"  (a one-time token for this run, scopes read+trade+audit; the certificate is from the run's dev CA "
            f"{certs / 'ca.pem'}: trust it, or accept the browser's warning for this address)",
            flush=True,
        )
        venue = stack.venues.default  # ccxt:binance's venue is called binance
        config = demo_bot_config(server.url, token, certs / "ca.pem", opts.out_dir, venue)
        if opts.bot_config is not None:
            config = replace(load_config(opts.bot_config), connection=config.connection, report=config.report)
        strategy = config.symbols[0].strategy if config.symbols else StrategyConfig()
        if strategy.kind == "market_making":
            how = (
                f"market making on {', '.join(s.symbol for s in config.symbols)} ({opts.exchange}) around the "
                f"microprice (half spread {strategy.half_spread_ticks} ticks, inventory skew {strategy.skew_ticks} ticks)"
            )
        else:
            how = f"{strategy.kind} on {', '.join(s.symbol for s in config.symbols)} ({opts.exchange})"
        print(f"bot: {how}, {opts.duration_s:g} s", flush=True)
        sim = stack.sim
        session = await run_session(
            config,
            duration_s=opts.duration_s,
            view=make_view(opts.quiet),
            until=sim.replay_done.is_set if sim is not None else None,
        )
        prefix = f"{session.runner.core.tracker.prefix}{session.runner.core.tracker.run_id}x"
        session.problems += _exchange_problems(stack, prefix)
        print_summary(session)
        status = 0 if session.ok else 1
    except Exception as exc:  # the demo reports any failure and exits non-zero
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    finally:
        await server.stop()
        await stack.close()
    print("demo OK" if status == 0 else "demo FAILED", flush=True)
    return status


def speed_for(duration_s: float, recording_s: float = 650.0) -> float:
    """Replay speed that fits the recording into ``duration_s``."""
    return max(1.0, math.ceil(recording_s / max(1.0, duration_s)))
