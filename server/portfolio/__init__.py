"""Portfolio tools: balances valued in USDT, positions and P&L from fills, trade export, risk metrics."""

from __future__ import annotations

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.venues import Venues


def register_portfolio_tools(app: McpApp, hub: StreamHub, venues: Venues) -> None:
    """Register the portfolio tools (read scope) for ``venues``."""
