"""Trading tools behind the safety checks (issue 4): ``place_order``, ``preview_order``, ``place_orders_batch``,
``place_oco``, ``replace_order``, ``cancel_order``, ``cancel_all_orders``, ``cancel_orders_batch``, ``kill_switch``,
``get_order``, ``get_open_orders``, ``get_order_history``, ``get_my_trades``, ``get_trading_limits``.

Modules: :mod:`safety` (limits and checks), :mod:`confirm` (confirmation tokens), :mod:`idempotency` (client order
ids, duplicate detection), :mod:`orders` (arguments → ``OrderRequest``, texts), :mod:`open_orders` (open-order count),
:mod:`pretrade` (the checks of one order), :mod:`desk` (placement flow and per-venue state), :mod:`errors` (adapter
errors → tool errors), :mod:`place_tools`, :mod:`combo_tools` and :mod:`manage_tools` (the MCP tools).
"""

from __future__ import annotations

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.trading.combo_tools import ComboTools
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.manage_tools import ManageTools
from tradingmcp.server.trading.place_tools import PlaceTools
from tradingmcp.server.trading.safety import SafetyConfig, SafetyRefusal
from tradingmcp.server.venues import Venues


def register_trading_tools(app: McpApp, hub: StreamHub, venues: Venues, safety: SafetyConfig) -> TradingDesk:
    """Register the trading tools (see module docstring) for ``venues`` under ``safety``; returns the desk (its
    per-venue state: kill switch, daily notional, open-order count)."""
    desk = TradingDesk(venues, safety)
    PlaceTools(venues, desk).register(app)
    ComboTools(venues, desk).register(app)
    ManageTools(venues, desk).register(app)
    return desk


__all__ = ["SafetyConfig", "SafetyRefusal", "TradingDesk", "register_trading_tools"]
