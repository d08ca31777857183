"""Live state of each venue, kept current by its streams (no MCP here; the live tools are in
:mod:`tradingmcp.server.tools.live`).

* :mod:`.state`: an account's balances and open orders from a snapshot plus the account events since (sans-I/O);
* :mod:`.account_cache`: the asyncio shell that seeds and follows that state for one venue;
* :mod:`.tickers`: each venue's :class:`~.tickers.TickerCache`, the latest best bid/ask of each symbol pushed by its
  market streams (the order path's live reference quote), and the symbols whose stream the venue keeps (sans-I/O).
"""
