"""The MCP-facing side of the server: every tool family's argument schemas, handlers, JSON shapes, push streams and
resource templates, over the domain packages (:mod:`tradingmcp.server.trading`, :mod:`tradingmcp.server.portfolio`,
:mod:`tradingmcp.server.live`, :mod:`tradingmcp.server.audit`) and the exchange adapters.

* :mod:`.toolset`: registers every family for ``serve``, ``demo`` and the tests;
* :mod:`.builtin`: ``echo``, ``get_server_info``; :mod:`.subscriptions`: ``subscribe``, ``unsubscribe``,
  ``list_subscriptions``;
* families: :mod:`.market`, :mod:`.trading`, :mod:`.portfolio`, :mod:`.live`, :mod:`.audit`;
* :mod:`.shapes`: the JSON shapes of orders, fills and balances every family renders.

This package imports nothing itself, so importing one of its modules loads only what that module needs.
"""
