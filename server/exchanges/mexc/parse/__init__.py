"""MEXC Spot v3 wire → exchange-neutral models (pure functions, no I/O): one import for the three parts.

Market data (exchangeInfo, REST market data) lives in :mod:`.market`; orders, fills, account and listenKeys in
:mod:`.account`; the protobuf pushes of the streams (market and private) in :mod:`.pushes`. All are re-exported here, so
``parse.<name>`` reaches any of them. The tables of wire codes stay in their modules (``account.ORDER_TYPES`` are REST
type names, ``pushes.ORDER_TYPES`` the pushes' numeric codes).
"""

from __future__ import annotations

from tradingmcp.server.exchanges.mexc.parse.account import batch_orders, listen_key, my_trade, order
from tradingmcp.server.exchanges.mexc.parse.market import (
    Json,
    agg_trade,
    book_ticker,
    depth,
    exchange_info,
    price,
    rest_kline,
    rest_trade,
    rest_trades,
    stats_24h,
    symbol_rules,
)
from tradingmcp.server.exchanges.mexc.parse.pushes import (
    NeutralEvent,
    Push,
    PushDecodeError,
    decode_push,
    private_account,
    private_deal,
    private_order,
    to_events,
    wire_id,
)

__all__ = [
    "Json",
    "NeutralEvent",
    "Push",
    "PushDecodeError",
    "agg_trade",
    "batch_orders",
    "book_ticker",
    "decode_push",
    "depth",
    "exchange_info",
    "listen_key",
    "my_trade",
    "order",
    "price",
    "private_account",
    "private_deal",
    "private_order",
    "rest_kline",
    "rest_trade",
    "rest_trades",
    "stats_24h",
    "symbol_rules",
    "to_events",
    "wire_id",
]
