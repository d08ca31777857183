"""Every MCP tool family a TradingMCP server offers, registered in one place for ``serve``, ``demo`` and the tests.

Families (one module each; the built-ins and stream tools of :mod:`builtin` are registered by the caller): market data (:mod:`markets`,
:mod:`market_data`), account push streams, resources and ``wait_for_event`` (:mod:`live`), trading behind the safety
checks (:mod:`trading`), portfolio and P&L (:mod:`portfolio`), and the audit log (:mod:`audit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tradingmcp.server.audit import AuditConfig, AuditLog, install_audit
from tradingmcp.server.live import register_live_tools
from tradingmcp.server.market_data import register_market_data_tools
from tradingmcp.server.markets import MarketBridge, register_market_tools
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.portfolio import register_portfolio_tools
from tradingmcp.server.trading import SafetyConfig, register_trading_tools
from tradingmcp.server.venues import Venues


@dataclass(frozen=True)
class ToolsetConfig:
    """``safety``: trading limits; ``audit``: where the audit log goes (``data_dir`` None = a temp dir)."""

    safety: SafetyConfig = field(default_factory=SafetyConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)


@dataclass
class Toolset:
    """What :func:`build_toolset` made: the bridges feeding market streams and the audit log (close them)."""

    bridges: list[MarketBridge]
    audit: AuditLog

    async def start(self) -> None:
        await self.audit.start()
        for bridge in self.bridges:
            await bridge.start()

    async def close(self) -> None:
        for bridge in self.bridges:
            await bridge.close()
        await self.audit.close()


def build_toolset(app: McpApp, hub: StreamHub, venues: Venues, config: ToolsetConfig | None = None) -> Toolset:
    """Register every tool family on ``app`` for ``venues``; ``await toolset.start()`` before serving."""
    config = config or ToolsetConfig()
    bridges = [MarketBridge(v.name, v.adapter, hub) for v in venues]
    register_market_tools(app, venues)
    register_market_data_tools(app, hub, venues)
    register_live_tools(app, hub, venues)
    register_trading_tools(app, hub, venues, config.safety)
    register_portfolio_tools(app, hub, venues)
    audit = install_audit(app, venues, config.audit)
    return Toolset(bridges, audit)


def default_audit_dir() -> Path:
    """``$TRADINGMCP_DATA_DIR`` or ``./var`` (the audit database lives in ``<dir>/audit.sqlite3``)."""
    import os

    return Path(os.environ.get("TRADINGMCP_DATA_DIR", "var"))
