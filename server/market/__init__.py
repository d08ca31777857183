"""Market data of the venues as the tools and the REST API read it (no MCP, no HTTP here).

* :mod:`.cache`: a TTL cache with single flight in front of the venues' REST reads;
* :mod:`.data`: :class:`~.data.MarketData`, the cached reads (ticker, book, trades, klines, 24 h stats, symbols) and
  their TTLs (:class:`~.data.MarketCacheConfig`).
"""

from tradingmcp.server.market.data import MarketCacheConfig, MarketData

__all__ = ["MarketCacheConfig", "MarketData"]
