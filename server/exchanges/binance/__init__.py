"""Binance Spot adapter on python-binance 1.0.37 (Spot Testnet by default).

Modules (the MEXC adapter uses the same names): ``config`` (frozen config), ``parse`` (wire JSON → models; its halves
``parse_market`` and ``parse_account``), ``rest`` (the python-binance client behind the rate limiter and clock sync),
``book`` (sans-I/O local order book), ``ratelimit`` (weight-aware limiter), ``errors`` (typed errors),
``streams`` (combined market streams), ``userdata`` (user data stream), ``adapter`` (the ``ExchangeAdapter``).
"""
