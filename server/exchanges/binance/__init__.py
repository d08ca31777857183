"""Binance Spot adapter on python-binance 1.0.37 (Spot Testnet by default).

Modules (the MEXC adapter uses the same names for the same jobs): ``config`` (frozen config), ``params`` (REST request
parameters), ``signing`` (HMAC / Ed25519 / RSA signers), ``errors`` (typed errors), ``ratelimit`` (weight-aware
limiter), ``rest`` (the python-binance client behind the rate limiter and clock sync), ``parse`` (wire JSON → models:
``market`` and ``account``), ``book`` (sans-I/O local order book), ``streams`` (combined market streams on
``tradingmcp.transport.ws``), ``userdata`` (user data stream), ``adapter`` (the ``ExchangeAdapter``).

Binance's own extra: ``wsapi`` (the WebSocket API order channel, which also carries the user data stream).
"""
