"""MEXC Spot v3 market-data REST bodies → exchange-neutral models (pure functions, no I/O).

Covers ``GET /api/v3/exchangeInfo`` (symbol rules) and the market-data endpoints
(https://mexcdevelop.github.io/apidocs/spot_v3_en/#market-data-endpoints). Field names follow the wire. MEXC differs
from Binance in ways that matter here:

* ``exchangeInfo`` ``filters`` are empty; the rules are fields: ``quotePrecision`` (price decimals → tick size),
  ``baseAssetPrecision`` (quantity decimals → step size), ``baseSizePrecision`` (minimum quantity),
  ``quoteAmountPrecision`` (minimum order amount in quote asset), ``maxQuoteAmount`` (maximum amount),
  ``quoteAmountPrecisionMarket``/``maxQuoteAmountMarket`` (the same for MARKET orders); ``status`` is ``"1"``
  online, ``"2"`` paused, ``"3"`` offline (older docs: ``ENABLED``);
* public trade ids are null; numbers may arrive as strings or JSON numbers; nulls are common (``count``,
  ``quoteVolume``);
* ``priceChangePercent`` is a fraction (0.0173 = 1.73 %), converted to percent as in Binance.

Every function raises ``KeyError``/``ValueError``/``TypeError`` on a malformed body; the caller wraps that.
Re-exported by the ``parse`` package; the market pushes (protobuf) are read in :mod:`.pushes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.mexc.parse.account import ORDER_TYPES
from tradingmcp.server.exchanges.models import (
    BookLevel,
    Kline,
    OrderBookSnapshot,
    Stats24h,
    SymbolRules,
    Ticker,
    Trade,
)
from tradingmcp.server.exchanges.wire import ZERO, dec

Json = Mapping[str, Any]


def _int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    return int(value)


def _id(value: Any) -> int | str:
    """A MEXC id: ints and numeric strings as int, other strings (hex/prefixed ids) unchanged, null/"" as -1."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        return int(value) if value.isdigit() else value
    return -1


def _levels(rows: Iterable[Sequence[Any]]) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(dec(r[0]), dec(r[1])) for r in rows)


# --- exchangeInfo -----------------------------------------------------------------------------------------------


# --- exchangeInfo -----------------------------------------------------------------------------------------------


def _decimals_to_step(decimals: Any) -> Decimal:
    return Decimal(1).scaleb(-_int(decimals, 8))


def symbol_rules(entry: Json) -> SymbolRules:
    """One ``GET /api/v3/exchangeInfo`` ``symbols[]`` entry → SymbolRules.

    tick size = 10^-quotePrecision; step size = 10^-baseAssetPrecision; min qty = baseSizePrecision;
    min notional = quoteAmountPrecision; max notional = maxQuoteAmount (quote asset). No max quantity (0).
    MARKET orders: min/max notional = quoteAmountPrecisionMarket/maxQuoteAmountMarket (None when absent).
    ``orderTypes`` LIMIT/MARKET/LIMIT_MAKER map directly (IOC/FOK are LIMIT with a time in force).
    """
    base_decimals = _int(entry.get("baseAssetPrecision"), 8)
    quote_decimals = _int(entry.get("quotePrecision", entry.get("quoteAssetPrecision")), 8)
    order_types = frozenset(ORDER_TYPES[t][0] for t in entry.get("orderTypes", ()) if t in ORDER_TYPES)
    return SymbolRules(
        symbol=entry["symbol"],
        base_asset=entry["baseAsset"],
        quote_asset=entry["quoteAsset"],
        status=str(entry.get("status", "1")),
        tick_size=_decimals_to_step(quote_decimals),
        step_size=_decimals_to_step(base_decimals),
        min_qty=dec(entry.get("baseSizePrecision")),
        max_qty=ZERO,
        market_step_size=_decimals_to_step(base_decimals),
        min_notional=dec(entry.get("quoteAmountPrecision")),
        max_notional=dec(entry.get("maxQuoteAmount")),
        apply_min_to_market=True,
        apply_max_to_market=False,
        base_precision=base_decimals,
        quote_precision=_int(entry.get("quoteAssetPrecision", quote_decimals), quote_decimals),
        order_types=order_types,
        quote_order_qty_market_allowed=bool(entry.get("quoteOrderQtyMarketAllowed", True)),
        oco_allowed=False,
        market_min_notional=dec(entry["quoteAmountPrecisionMarket"]) if "quoteAmountPrecisionMarket" in entry else None,
        market_max_notional=dec(entry["maxQuoteAmountMarket"]) if "maxQuoteAmountMarket" in entry else None,
    )


def exchange_info(body: Json) -> dict[str, SymbolRules]:
    """``GET /api/v3/exchangeInfo`` body → ``{symbol: SymbolRules}``."""
    return {s["symbol"]: symbol_rules(s) for s in body.get("symbols", ())}


# --- market data ------------------------------------------------------------------------------------------------


def depth(symbol: str, body: Json, time_ms: int = 0) -> OrderBookSnapshot:
    """``GET /api/v3/depth`` body ``{lastUpdateId, bids, asks, timestamp}`` → OrderBookSnapshot.

    ``lastUpdateId`` is the version the ``aggre.depth`` diffs continue from (see ``book``).
    """
    return OrderBookSnapshot(
        symbol=symbol,
        last_update_id=_int(body["lastUpdateId"]),
        bids=_levels(body["bids"]),
        asks=_levels(body["asks"]),
        time_ms=_int(body.get("timestamp"), time_ms),
    )


def rest_trade(symbol: str, row: Json) -> Trade:
    """``GET /api/v3/trades`` row ``{id (null), price, qty, quoteQty, time, isBuyerMaker, tradeType}`` → Trade."""
    return Trade(
        symbol=symbol,
        trade_id=_id(row.get("id")),
        price=dec(row["price"]),
        qty=dec(row["qty"]),
        time_ms=_int(row["time"]),
        is_buyer_maker=bool(row["isBuyerMaker"]),
    )


def rest_trades(symbol: str, body: Sequence[Json]) -> list[Trade]:
    """``GET /api/v3/trades`` body (newest first) → Trades, oldest first."""
    return sorted((rest_trade(symbol, r) for r in body), key=lambda t: t.time_ms)


def agg_trade(symbol: str, row: Json) -> Trade:
    """``GET /api/v3/aggTrades`` row ``{a, f, l, p, q, T, m, M}`` (ids null on MEXC) → Trade (aggregate)."""
    first, last = row.get("f"), row.get("l")
    return Trade(
        symbol=symbol,
        trade_id=_id(row.get("a")),
        price=dec(row["p"]),
        qty=dec(row["q"]),
        time_ms=_int(row["T"]),
        is_buyer_maker=bool(row["m"]),
        is_aggregate=True,
        first_trade_id=int(first) if first is not None and str(first).lstrip("-").isdigit() else None,
        last_trade_id=int(last) if last is not None and str(last).lstrip("-").isdigit() else None,
    )


def rest_kline(symbol: str, interval: str, row: Sequence[Any], now_ms: int | None = None) -> Kline:
    """``GET /api/v3/klines`` row ``[openTime, o, h, l, c, volume, closeTime, quoteVolume]`` → Kline.

    MEXC sends no trade count (0) and no taker volumes. ``closed`` is ``closeTime < now_ms`` when ``now_ms`` is
    given, else True.
    """
    close_ms = _int(row[6])
    return Kline(
        symbol=symbol,
        interval=interval,
        open_time_ms=_int(row[0]),
        close_time_ms=close_ms,
        open=dec(row[1]),
        high=dec(row[2]),
        low=dec(row[3]),
        close=dec(row[4]),
        volume=dec(row[5]),
        quote_volume=dec(row[7]) if len(row) > 7 else ZERO,
        trades=_int(row[8]) if len(row) > 8 else 0,
        closed=True if now_ms is None else close_ms < now_ms,
    )


def stats_24h(body: Json) -> Stats24h:
    """``GET /api/v3/ticker/24hr`` body → Stats24h (``priceChangePercent`` fraction → percent; weighted average
    price = quoteVolume / volume when both are given, else 0)."""
    volume, quote_volume = dec(body.get("volume")), dec(body.get("quoteVolume"))
    return Stats24h(
        symbol=body["symbol"],
        last_price=dec(body["lastPrice"]),
        open_price=dec(body.get("openPrice")),
        high_price=dec(body.get("highPrice")),
        low_price=dec(body.get("lowPrice")),
        volume=volume,
        quote_volume=quote_volume,
        price_change=dec(body.get("priceChange")),
        price_change_percent=dec(body.get("priceChangePercent")) * 100,
        weighted_avg_price=quote_volume / volume if volume and quote_volume else ZERO,
        bid=dec(body.get("bidPrice")),
        ask=dec(body.get("askPrice")),
        open_time_ms=_int(body.get("openTime")),
        close_time_ms=_int(body.get("closeTime")),
        count=_int(body.get("count")),
    )


def price(body: Json) -> Decimal:
    """``GET /api/v3/ticker/price`` body ``{symbol, price}`` → last price."""
    return dec(body["price"])


def book_ticker(body: Json, time_ms: int = 0) -> Ticker:
    """``GET /api/v3/ticker/bookTicker`` body ``{symbol, bidPrice, bidQty, askPrice, askQty}`` → Ticker (price 0)."""
    return Ticker(
        symbol=body["symbol"],
        price=ZERO,
        bid=dec(body.get("bidPrice")),
        bid_qty=dec(body.get("bidQty")),
        ask=dec(body.get("askPrice")),
        ask_qty=dec(body.get("askQty")),
        time_ms=time_ms,
    )
