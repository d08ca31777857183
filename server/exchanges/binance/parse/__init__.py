"""Binance Spot wire JSON → exchange-neutral models (pure functions, no I/O): one import for both halves.

Market data (exchangeInfo, REST market data, market streams) lives in :mod:`.market`; orders, fills, account and the
user data stream in :mod:`.account`. Both are re-exported here, so ``parse.<name>`` reaches either.
Field names follow the wire exactly (https://developers.binance.com/docs/binance-spot-api-docs/rest-api and
``web-socket-streams`` / ``user-data-stream``). Numbers arrive as decimal strings and become ``Decimal``; times are ms.
Every function raises ``KeyError``/``ValueError`` on a malformed body; the adapter turns that into an ExchangeError.
"""

from __future__ import annotations

from tradingmcp.server.exchanges.binance.parse.account import (
    cancel_replace,
    execution_report,
    my_trade,
    order,
    order_fill,
    order_list,
    user_event,
)
from tradingmcp.server.exchanges.binance.parse.market import (
    Json,
    book_ticker,
    depth,
    exchange_info,
    levels,
    rest_kline,
    rest_trade,
    stats_24h,
    stream_event,
    symbol_rules,
)

__all__ = [
    "Json",
    "book_ticker",
    "cancel_replace",
    "depth",
    "exchange_info",
    "execution_report",
    "levels",
    "my_trade",
    "order",
    "order_fill",
    "order_list",
    "rest_kline",
    "rest_trade",
    "stats_24h",
    "stream_event",
    "symbol_rules",
    "user_event",
]
