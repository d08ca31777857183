"""Account push streams (``orders:``/``balances:``), market resources (``ticker://``, ``book://``) and ``wait_for_event``."""

from __future__ import annotations

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.venues import Venues


def register_live_tools(app: McpApp, hub: StreamHub, venues: Venues) -> None:
    """Register the account streams, market resources and ``wait_for_event`` for ``venues``."""
