"""Any exchange ccxt knows (https://docs.ccxt.com), as a venue: ccxt's async classes for REST and its ``ccxt.pro``
watch methods for streams, behind the same :class:`~tradingmcp.server.exchanges.base.ExchangeAdapter` interface as
the native venues. ccxt is an optional extra (``pip install 'tradingmcp[ccxt]'``): nothing here imports it until a
CCXT venue is built (:func:`tradingmcp.server.exchanges.ccxt.exchange.build_exchange`).

Modules: ``config`` (settings, URL redirection), ``exchange`` (the ccxt object: sandbox, credentials, endpoints),
``errors`` (ccxt exceptions → our error types), ``parse`` (ccxt's unified structures → our models), ``streams`` (the
watch loops feeding the market and account event queues), ``adapter`` (:class:`CcxtAdapter`).
"""
