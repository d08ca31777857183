"""The trading tool family (scope ``trade`` to place, ``read`` to look): ``place_order``, ``preview_order``,
``place_orders_batch``, ``place_oco``, ``replace_order``, ``cancel_order``, ``cancel_all_orders``,
``cancel_orders_batch``, ``kill_switch``, ``get_order``, ``get_open_orders``, ``get_order_history``, ``get_my_trades``,
``get_trading_limits``.

* :mod:`.place`: ``place_order``, ``preview_order``, ``place_orders_batch``;
* :mod:`.combo`: ``place_oco``, ``replace_order``;
* :mod:`.manage`: cancels, the kill switch, order and trade queries, the limits;
* :mod:`.schemas`: the arguments' JSON Schemas.

Every order goes through the order path of :mod:`tradingmcp.server.trading` (the desk, its safety checks and
confirmations).
"""

from __future__ import annotations

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.trading.combo import ComboTools
from tradingmcp.server.tools.trading.manage import ManageTools
from tradingmcp.server.tools.trading.place import PlaceTools
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.journal import IntentJournal
from tradingmcp.server.trading.safety import SafetyConfig
from tradingmcp.server.venues import Venues


def register_trading_tools(
    app: McpApp, hub: StreamHub, venues: Venues, safety: SafetyConfig, journal: IntentJournal | None = None
) -> TradingDesk:
    """Register the trading tools (see module docstring) for ``venues`` under ``safety``, writing order intents to
    ``journal`` (None: no journal); returns the desk (its per-venue state: kill switch, daily notional, open-order
    count, loss limits)."""
    desk = TradingDesk(venues, safety, journal)
    PlaceTools(venues, desk).register(app)
    ComboTools(venues, desk).register(app)
    ManageTools(venues, desk).register(app)
    return desk


__all__ = ["register_trading_tools"]
