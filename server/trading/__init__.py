"""Trading tools behind the safety checks (``place_order``, ``preview_order``, ``cancel_order``, ``kill_switch``...)."""

from __future__ import annotations

from dataclasses import dataclass

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.venues import Venues


@dataclass(frozen=True)
class SafetyConfig:
    """Trading limits (placeholder until the trading package lands)."""


def register_trading_tools(app: McpApp, hub: StreamHub, venues: Venues, safety: SafetyConfig) -> None:
    """Register the trading tools (trade scope) for ``venues`` under ``safety``."""
