"""The MEXC Spot v3 adapter: our own protobuf schema and push decoder, signing, errors, REST client, streams, adapter.

MEXC's spot WebSocket (``wss://wbs-api.mexc.com/ws``) pushes binary protobuf frames; JSON text frames carry only the
control messages (SUBSCRIPTION / UNSUBSCRIPTION / PING). REST follows a Binance-like v3 API at
``https://api.mexc.com/api/v3``. API docs: https://mexcdevelop.github.io/apidocs/spot_v3_en/

Modules: the same names as ``exchanges.binance`` for the same jobs: ``config`` (frozen config), ``params`` (REST
request parameters), ``signing`` (sans-I/O HMAC-SHA256 signer), ``errors`` (MEXC codes → the shared types of
``exchanges.errors``), ``ratelimit`` (per-endpoint weight windows, 500 per 10 s, and Retry-After blocking), ``rest``
(``MexcRestClient`` on aiohttp), ``parse`` (wire → exchange-neutral models: ``market`` and ``account`` REST bodies,
``pushes`` the protobuf stream pushes), ``book`` (sans-I/O local order book, version-checked), ``connection``
(``MexcStream``, one connection on ``tradingmcp.transport.ws`` with ack-checked subscriptions, PING keepalive and
dead-peer detection), ``streams`` (``MarketStreams``, the pool of them, ≤ 30 topics each, with local books and
reconnect → resubscribe → resync), ``userdata`` (listenKey lifecycle, the private topics → OrderEvent/BalanceEvent), ``adapter``
(``MexcAdapter``, the ``ExchangeAdapter``).

MEXC's own extras: ``proto`` (the generated ``tradingmcp_mexc_pb2``, package ``tradingmcp.mexc``, and its
``.proto``), ``control`` (topic names, ``StreamSpec`` → topic, and the JSON control messages with their acks), ``merge`` (``FillMerger``,
sans-I/O: the separate order and deal pushes → one ``OrderEvent`` with ``last_fill``).
"""
