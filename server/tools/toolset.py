"""Every MCP tool family a TradingMCP server offers, registered in one place for ``serve``, ``demo`` and the tests.

Families (one package each; the caller registers the built-ins and subscription tools of :mod:`.builtin`): market
data and market streams (:mod:`.market`), account push streams, resources and ``wait_for_event`` (:mod:`.live`),
trading behind the safety checks (:mod:`.trading`), portfolio and P&L (:mod:`.portfolio`), and the audit log
(:mod:`.audit`).
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tradingmcp.server.audit import AuditConfig, AuditLog, default_data_dir
from tradingmcp.server.market import MarketCacheConfig, MarketData
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.replay import Retention
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.portfolio import PortfolioConfig
from tradingmcp.server.tools.audit import register_audit_tools
from tradingmcp.server.tools.live import Live, register_live_tools
from tradingmcp.server.tools.market import MarketBridge, register_market_tools
from tradingmcp.server.tools.portfolio import register_portfolio_tools
from tradingmcp.server.tools.trading import register_trading_tools
from tradingmcp.server.trading import SafetyConfig, TradingDesk
from tradingmcp.server.trading.journal import JOURNAL_NAME, IntentJournal
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.server.webhooks.config import TradingViewConfig


@dataclass(frozen=True)
class ToolsetConfig:
    """Settings of the tool families: ``safety`` (trading limits), ``audit`` (where the audit log goes),
    ``portfolio`` (export directory, backfill depth), ``market`` (the TTLs of the market-data cache shared by the
    market tools and the REST API), ``streams`` (the push streams' replay windows for resume,
    :class:`~tradingmcp.server.mcp.replay.Retention`: ``max_count``, ``max_bytes``, ``max_age_s``, ``linger_s``),
    ``tradingview`` (the TradingView webhook, :class:`~tradingmcp.server.webhooks.config.TradingViewConfig`; off
    without a secret).

    :meth:`load` reads them from one TOML file with ``[safety]``, ``[audit]``, ``[portfolio]``, ``[market]``,
    ``[streams]`` and ``[webhooks.tradingview]`` tables (see
    ``tradingmcp.example.toml``), then the environment: ``TRADINGMCP_SAFETY_<FIELD>`` (see :class:`SafetyConfig`),
    ``TRADINGMCP_DATA_DIR`` (audit database directory), ``TRADINGMCP_AUDIT_URL`` (PostgreSQL URL for the audit log),
    ``TRADINGMCP_EXPORT_DIR`` (where ``export_trades`` may write), ``TRADINGMCP_WEBHOOK_TRADINGVIEW_<KEY>``.
    """

    safety: SafetyConfig = field(default_factory=SafetyConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    market: MarketCacheConfig = field(default_factory=MarketCacheConfig)
    streams: Retention = field(default_factory=Retention)
    tradingview: TradingViewConfig = field(default_factory=TradingViewConfig)

    @classmethod
    def load(cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> ToolsetConfig:
        """Defaults, then the TOML file (when given), then the environment.

        Raises:
            OSError: the file cannot be read. ValueError: bad TOML, an unknown key or a bad value.
        """
        env = os.environ if environ is None else environ
        doc: dict[str, Any] = {}
        if path is not None:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
            unknown = set(doc) - {"safety", "audit", "portfolio", "market", "streams", "webhooks"}
            if unknown:
                raise ValueError(
                    f"{path}: unknown table(s) {sorted(unknown)}; expected safety, audit, portfolio, market, streams, "
                    "webhooks"
                )
        safety = SafetyConfig.from_env(env, SafetyConfig.from_mapping(doc.get("safety", {})))
        audit = _audit_config(dict(doc.get("audit", {})), env)
        portfolio_doc = dict(doc.get("portfolio", {}))
        export_dir = _path(env.get("TRADINGMCP_EXPORT_DIR") or portfolio_doc.pop("export_dir", None))
        try:
            portfolio = PortfolioConfig(**portfolio_doc)
        except TypeError as exc:
            raise ValueError(f"[portfolio]: {exc}") from None
        if export_dir is not None:
            portfolio = replace(portfolio, export_dir=export_dir)
        try:
            market = MarketCacheConfig.from_mapping(dict(doc.get("market", {})))
        except TypeError as exc:
            raise ValueError(f"[market]: {exc}") from None
        return cls(
            safety=safety,
            audit=audit,
            portfolio=portfolio,
            market=market,
            streams=_retention(dict(doc.get("streams", {}))),
            tradingview=TradingViewConfig.load(_webhooks(doc.get("webhooks", {})).get("tradingview"), env),
        )


def _webhooks(doc: Any) -> dict[str, Any]:
    """``[webhooks]``: only its ``tradingview`` table.

    Raises:
        ValueError: not a table, or another webhook than ``tradingview``.
    """
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise ValueError("[webhooks] must hold tables, e.g. [webhooks.tradingview]")
    unknown = sorted(set(doc) - {"tradingview"})
    if unknown:
        raise ValueError(f"[webhooks]: unknown webhook(s) {unknown}; expected tradingview")
    return doc


def _retention(doc: dict[str, Any]) -> Retention:
    """``[streams]``: the fields of :class:`Retention`, numbers.

    Raises:
        ValueError: an unknown key, a value that is not a number, or a bound that is not positive.
    """
    names = ("max_count", "max_bytes", "max_age_s", "linger_s")
    unknown = sorted(set(doc) - set(names))
    if unknown:
        raise ValueError(f"[streams]: unknown key(s) {unknown}; expected {', '.join(names)}")
    for key, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"[streams]: {key} must be a number, not {value!r}")
        if key in ("max_count", "max_bytes") and not isinstance(value, int):
            raise ValueError(f"[streams]: {key} must be a whole number, not {value!r}")
    return Retention(**doc)


_AUDIT_KEYS = ("data_dir", "enabled", "postgres_url", "retention_days", "max_rows", "retention_interval_s", "sample")


def _audit_config(doc: dict[str, Any], env: Mapping[str, str]) -> AuditConfig:
    """``[audit]`` (keys :data:`_AUDIT_KEYS`) plus ``TRADINGMCP_DATA_DIR`` and ``TRADINGMCP_AUDIT_URL``.

    Raises:
        ValueError: an unknown key or a bad value.
    """
    unknown = sorted(set(doc) - set(_AUDIT_KEYS))
    if unknown:
        raise ValueError(f"[audit]: unknown key(s) {unknown}; expected {', '.join(_AUDIT_KEYS)}")
    base = AuditConfig()
    sample = doc.get("sample", base.sample)
    if not isinstance(sample, Mapping):
        raise ValueError("[audit] sample must be a table of tool = N (1 in N successful calls audited)")
    numbers: dict[str, Any] = {}
    for key, kind in (("retention_days", (int, float)), ("max_rows", (int,)), ("retention_interval_s", (int, float))):
        value = doc.get(key, getattr(base, key))
        if type(value) is bool or not isinstance(value, kind):
            raise ValueError(f"[audit] {key} must be a number, got {value!r}")
        numbers[key] = value
    try:
        return AuditConfig(
            data_dir=_path(env.get("TRADINGMCP_DATA_DIR") or doc.get("data_dir")),
            enabled=bool(doc.get("enabled", True)),
            postgres_url=env.get("TRADINGMCP_AUDIT_URL") or doc.get("postgres_url"),
            retention_days=float(numbers["retention_days"]),
            max_rows=numbers["max_rows"],
            retention_interval_s=float(numbers["retention_interval_s"]),
            sample=dict(sample),
        )
    except ValueError as exc:
        raise ValueError(f"[audit]: {exc}") from None


def _path(value: object) -> Path | None:
    return Path(str(value)) if value else None


@dataclass
class Toolset:
    """What :func:`build_toolset` made: the bridges feeding market streams, the live feeds, the audit log, the
    trading desk, and the cached market reads (shared with the REST API)."""

    bridges: list[MarketBridge]
    live: Live
    audit: AuditLog
    desk: TradingDesk | None = None
    market: MarketData = field(default_factory=MarketData)

    async def start(self) -> None:
        """Start the audit log and the bridges (with each venue's own ``book_ticker`` streams of the symbols it trades
        so far), seed the desk's open-order counts (after the venues' user data streams started, so no order on
        the order path pays ``GET /api/v3/openOrders``), reconcile the journal's open intents and rebuild the day's
        loss limits (:meth:`TradingDesk.reconcile_intents`, :meth:`TradingDesk.restore_rails`)."""
        await self.audit.start()
        for bridge in self.bridges:
            await bridge.start()
        if self.desk is not None:
            await self.desk.seed_open_orders()
            await self.desk.reconcile_intents()
            await self.desk.restore_rails()

    async def close(self) -> None:
        """Stop the bridges (releasing the venues' own streams), the live feeds, then the audit log."""
        for bridge in self.bridges:
            await bridge.close()
        await self.live.close()
        await self.audit.close()  # last: flushes every queued entry, including the shutdown's own events
        if self.desk is not None and self.desk.journal is not None:
            await asyncio.to_thread(self.desk.journal.close)  # commits the outcomes still queued


def build_toolset(app: McpApp, hub: StreamHub, venues: Venues, config: ToolsetConfig | None = None) -> Toolset:
    """Register every tool family on ``app`` for ``venues``, and have ``app``'s handshake name them and their modes
    (:meth:`Venues.announce`); ``await toolset.start()`` before serving."""
    config = config or ToolsetConfig()
    venues.announce(app)
    desk: TradingDesk | None = None

    def rails(venue: Venue) -> dict[str, Any]:  # the desk is made below, before any tool can be called
        return desk.rails(venue) if desk is not None else venue.describe()

    market = MarketData(config.market)
    bridges = register_market_tools(app, hub, venues, rails, market)
    live = register_live_tools(app, hub, venues)
    journal = None
    if config.safety.intent_journal:
        path = (config.audit.data_dir or default_data_dir()) / JOURNAL_NAME
        journal = IntentJournal(path, config.safety.intent_durability)
    desk = register_trading_tools(app, hub, venues, config.safety, journal)
    register_portfolio_tools(app, hub, venues, config.portfolio)
    audit = register_audit_tools(app, venues, config.audit)
    desk.rail_listeners.append(audit.safety_event)

    def push(venue: Venue, event: dict[str, Any]) -> None:  # beside the venue's order events, lossless
        hub.publish(f"orders:{venue.name}", event, conflate=False)

    desk.rail_listeners.append(push)
    return Toolset(bridges, live, audit, desk, market)
