"""Bybit V5 wire → exchange-neutral models (pure functions, no I/O): market data and public pushes in :mod:`.market`,
orders, fills and balances in :mod:`.account`; both re-exported here."""

from __future__ import annotations

from tradingmcp.server.exchanges.bybit.parse.account import (
    EXECUTION_TYPES,
    STATUSES,
    balances,
    fill,
    order,
    with_fee_asset,
)
from tradingmcp.server.exchanges.bybit.parse.market import (
    KLINE_INTERVALS,
    NEUTRAL_INTERVALS,
    Json,
    best_level_ticker,
    bybit_interval,
    instrument,
    instruments,
    kline_push,
    klines,
    levels,
    orderbook,
    recent_trades,
    stats,
    ticker,
    trade_push,
)

__all__ = [
    "EXECUTION_TYPES",
    "KLINE_INTERVALS",
    "NEUTRAL_INTERVALS",
    "STATUSES",
    "Json",
    "balances",
    "best_level_ticker",
    "bybit_interval",
    "fill",
    "instrument",
    "instruments",
    "kline_push",
    "klines",
    "levels",
    "order",
    "orderbook",
    "recent_trades",
    "stats",
    "ticker",
    "trade_push",
    "with_fee_asset",
]
