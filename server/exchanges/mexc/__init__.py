"""The MEXC Spot v3 adapter: our own protobuf schema and codec, signing, errors, REST client, streams, adapter.

MEXC's spot WebSocket (``wss://wbs-api.mexc.com/ws``) pushes binary protobuf frames; JSON text frames carry only the
control messages (SUBSCRIPTION / UNSUBSCRIPTION / PING). REST follows a Binance-like v3 API at
``https://api.mexc.com/api/v3``. API docs: https://mexcdevelop.github.io/apidocs/spot_v3_en/

Modules (same names as ``exchanges.binance`` where they apply):
    config: ``MexcConfig`` (frozen; URLs, keys, ``recv_window_ms``).
    proto: the generated ``tradingmcp_mexc_pb2`` (package ``tradingmcp.mexc``) and its ``.proto`` source.
    codec: binary push → (channel, symbol, typed body) → exchange-neutral events.
    encode: ``encode_*`` builders of binary pushes (for the simulator).
    control: topic-name builders and the JSON control messages (SUBSCRIPTION/UNSUBSCRIPTION/PING and their acks).
    signing: sans-I/O HMAC-SHA256 signer and a verifier the simulator reuses.
    errors: MEXC codes → the shared types of ``exchanges.errors`` (``from_response``, ``error_for_code``).
    ratelimit: per-endpoint weight windows (500 per 10 s) and Retry-After blocking (sans-I/O).
    rest: ``MexcRestClient`` on aiohttp (public, signed, batch orders, listenKey endpoints).
    parse: MEXC REST bodies → exchange-neutral models.
    book: sans-I/O local order book (REST snapshot + aggre depth diffs, version-checked).
    streams: ``MexcStream``, one connection on ``tradingmcp.transport.ws`` (ack-checked subscriptions, PING
        keepalive, dead-peer detection, pushes), and ``MarketStreams``, the pool of them (≤ 30 topics each), local
        books, reconnect → resubscribe → resync.
    merge: ``FillMerger`` (sans-I/O), private order + deal pushes → ``OrderEvent`` with ``last_fill``.
    userdata: ``UserDataStream``, listenKey lifecycle and the private topics → OrderEvent/BalanceEvent.
    adapter: ``MexcAdapter``, the ``ExchangeAdapter`` implementation.
"""
