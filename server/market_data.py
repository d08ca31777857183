"""Market-data tools beyond the basics: ``get_24h_stats``, ``get_recent_trades``, ``get_klines``, ``get_server_status``."""

from __future__ import annotations

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.venues import Venues


def register_market_data_tools(app: McpApp, hub: StreamHub, venues: Venues) -> None:
    """Register the market-data tools (read scope) for ``venues``."""
