"""The Bybit V5 (spot) adapter: signing, errors, REST client, JSON WebSocket streams, local book, adapter.

REST is ``https://api.bybit.com/v5/...`` (testnet ``https://api-testnet.bybit.com``) with ``{retCode, retMsg,
result}`` envelopes; the public spot stream is ``wss://stream.bybit.com/v5/public/spot`` and the private one
``wss://stream.bybit.com/v5/private`` (``auth`` op). API docs: https://bybit-exchange.github.io/docs/v5/intro

Modules: the same names as ``exchanges.binance`` and ``exchanges.mexc`` for the same jobs: ``config`` (frozen
config, testnet by default, mainnet only with ``allow_live``), ``params`` (V5 request parameters), ``signing``
(sans-I/O ``X-BAPI-*`` headers and the WebSocket ``auth`` args), ``errors`` (retCode → the shared types of
``exchanges.errors``), ``ratelimit`` (per-endpoint ``X-Bapi-Limit-*`` headers → waits), ``rest``
(``BybitRestClient`` on aiohttp), ``parse`` (wire → exchange-neutral models: ``market`` REST and public pushes,
``account`` orders, fills, balances and private pushes), ``book`` (sans-I/O local book: WebSocket snapshot + deltas
with contiguous ``u``), ``streams`` (``BybitSocket``, one JSON op connection with req_id-matched answers and ping
keepalive, and ``MarketStreams`` with reconnect → resubscribe, and resubscribe-to-resync on a book gap), ``userdata``
(the private stream → OrderEvent/BalanceEvent), ``adapter`` (``BybitAdapter``, the ``ExchangeAdapter``). Bybit's own
extra: ``tradews`` (``OrderEntry``: orders over the order entry WebSocket ``/v5/trade``, with ``trade_over_ws``).
"""
