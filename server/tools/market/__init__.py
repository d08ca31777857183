"""The market tool family (read scope): quotes, statistics and live market streams of each venue.

* :mod:`.quotes`: ``get_ticker``, ``get_order_book``, ``get_symbol_rules``;
* :mod:`.stats`: ``get_24h_stats``, ``get_recent_trades``, ``get_klines``, ``get_server_status``;
* :mod:`.indicators`: ``get_indicators`` (TA-Lib indicators of the candles, through
  :mod:`tradingmcp.research.indicators`);
* :mod:`.streams`: the push streams ``trades:``, ``book_ticker:``, ``book:``, ``klines:``, ``ticker_24h:`` fed by
  each venue's adapter (:class:`~.streams.MarketBridge`), which also keeps the venue's ticker cache current;
* :mod:`.ticker_feed`: the venue's own ``book_ticker`` subscriptions of the symbols it trades;
* quotes, books, trades, candles and statistics are read through the server's
  :class:`~tradingmcp.server.market.data.MarketData` (its TTL cache is shared with the REST API);
* :mod:`.args`: argument schemas and checks shared by the tools and the stream keys; :mod:`.shapes`: the JSON shapes
  and text renderings shared by the tools, the streams and the live resources.
"""

from __future__ import annotations

from tradingmcp.server.market.data import MarketData
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.market.indicators import register_indicator_tools
from tradingmcp.server.tools.market.quotes import register_quote_tools
from tradingmcp.server.tools.market.stats import VenueRails, register_stats_tools
from tradingmcp.server.tools.market.streams import MarketBridge
from tradingmcp.server.venues import Venues

__all__ = ["MarketBridge", "VenueRails", "register_market_tools"]


def register_market_tools(
    app: McpApp, hub: StreamHub, venues: Venues, rails: VenueRails | None = None, market: MarketData | None = None
) -> list[MarketBridge]:
    """Offer each venue's market streams on ``hub`` and register the market tools on ``app``; returns the bridges
    (``await bridge.start()`` each before serving, ``close()`` at shutdown). ``rails``: each venue's mode, account
    and limits for ``get_server_status`` (see :data:`~.stats.VenueRails`); ``market``: the cached market reads (a
    new one with the default TTLs when None)."""
    market = market or MarketData()
    bridges = [MarketBridge(v.name, v.adapter, hub, v.tickers) for v in venues]
    register_quote_tools(app, venues, market)
    register_stats_tools(app, hub, venues, market, rails)
    register_indicator_tools(app, venues, market)
    return bridges
