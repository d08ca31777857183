"""Binance Spot market-data wire JSON → exchange-neutral models (pure functions, no I/O).

Covers ``GET /api/v3/exchangeInfo`` (symbol filters), the REST market-data endpoints
(https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints) and the market streams
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams). Field names follow the wire exactly;
numbers arrive as decimal strings and become ``Decimal``; times are ms. Every function raises ``KeyError``/``ValueError``
on a malformed body; the adapter turns that into an ExchangeError. Re-exported by the ``parse`` package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import (
    BookLevel,
    DepthUpdate,
    Kline,
    MarketEvent,
    OrderBookSnapshot,
    OrderType,
    Stats24h,
    SymbolRules,
    Ticker,
    Trade,
)
from tradingmcp.server.exchanges.wire import ZERO, dec

Json = Mapping[str, Any]


def levels(rows: Iterable[Sequence[Any]]) -> tuple[BookLevel, ...]:
    """``[["price","qty"], ...]`` → BookLevels (order kept)."""
    return tuple(BookLevel(Decimal(r[0]), Decimal(r[1])) for r in rows)


# --- exchangeInfo -----------------------------------------------------------------------------------------------


def symbol_rules(entry: Json) -> SymbolRules:
    """One ``exchangeInfo.symbols[]`` entry → SymbolRules (``GET /api/v3/exchangeInfo``, filters page).

    Reads PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL (or the legacy MIN_NOTIONAL), PERCENT_PRICE_BY_SIDE,
    MAX_NUM_ORDERS. A MARKET_LOT_SIZE with stepSize/maxQty 0 falls back to LOT_SIZE's values.
    """
    filters = {f["filterType"]: f for f in entry.get("filters", ())}
    price_f = filters.get("PRICE_FILTER", {})
    lot = filters.get("LOT_SIZE", {})
    market_lot = filters.get("MARKET_LOT_SIZE", {})
    notional = filters.get("NOTIONAL")
    band = filters.get("PERCENT_PRICE_BY_SIDE")
    step = dec(lot.get("stepSize"))
    max_qty = dec(lot.get("maxQty"))
    if notional is not None:
        min_notional = dec(notional.get("minNotional"))
        max_notional = dec(notional.get("maxNotional"))
        apply_min = bool(notional.get("applyMinToMarket", True))
        apply_max = bool(notional.get("applyMaxToMarket", False))
    else:
        legacy = filters.get("MIN_NOTIONAL", {})
        min_notional, max_notional = dec(legacy.get("minNotional")), ZERO
        apply_min, apply_max = bool(legacy.get("applyToMarket", True)), False
    order_types = frozenset(OrderType(t) for t in entry.get("orderTypes", ()) if t in OrderType.__members__)
    max_orders = filters.get("MAX_NUM_ORDERS", {}).get("maxNumOrders")
    return SymbolRules(
        symbol=entry["symbol"],
        base_asset=entry["baseAsset"],
        quote_asset=entry["quoteAsset"],
        status=entry.get("status", "TRADING"),
        tick_size=dec(price_f.get("tickSize")),
        step_size=step,
        min_qty=dec(lot.get("minQty")),
        max_qty=max_qty,
        min_price=dec(price_f.get("minPrice")),
        max_price=dec(price_f.get("maxPrice")),
        market_min_qty=dec(market_lot.get("minQty")),
        market_max_qty=dec(market_lot.get("maxQty")) or max_qty,
        market_step_size=dec(market_lot.get("stepSize")) or step,
        min_notional=min_notional,
        max_notional=max_notional,
        apply_min_to_market=apply_min,
        apply_max_to_market=apply_max,
        base_precision=int(entry.get("baseAssetPrecision", 8)),
        quote_precision=int(entry.get("quoteAssetPrecision", entry.get("quotePrecision", 8))),
        order_types=order_types,
        price_band_bid_up=dec(band["bidMultiplierUp"]) if band else None,
        price_band_bid_down=dec(band["bidMultiplierDown"]) if band else None,
        price_band_ask_up=dec(band["askMultiplierUp"]) if band else None,
        price_band_ask_down=dec(band["askMultiplierDown"]) if band else None,
        max_num_orders=int(max_orders) if max_orders is not None else None,
        quote_order_qty_market_allowed=bool(entry.get("quoteOrderQtyMarketAllowed", True)),
        oco_allowed=bool(entry.get("ocoAllowed", True)),
    )


def exchange_info(body: Json) -> dict[str, SymbolRules]:
    """A whole exchangeInfo body → ``{symbol: SymbolRules}``."""
    return {s["symbol"]: symbol_rules(s) for s in body.get("symbols", ())}


# --- market data (REST) -----------------------------------------------------------------------------------------


def depth(symbol: str, body: Json, time_ms: int = 0) -> OrderBookSnapshot:
    """``GET /api/v3/depth`` body ``{lastUpdateId, bids, asks}`` → OrderBookSnapshot."""
    return OrderBookSnapshot(
        symbol=symbol,
        last_update_id=int(body["lastUpdateId"]),
        bids=levels(body["bids"]),
        asks=levels(body["asks"]),
        time_ms=int(body.get("E", time_ms) or time_ms),
    )


def rest_trade(symbol: str, row: Json) -> Trade:
    """``GET /api/v3/trades`` row ``{id, price, qty, time, isBuyerMaker}`` → Trade."""
    return Trade(
        symbol=symbol,
        trade_id=int(row["id"]),
        price=Decimal(row["price"]),
        qty=Decimal(row["qty"]),
        time_ms=int(row["time"]),
        is_buyer_maker=bool(row["isBuyerMaker"]),
    )


def rest_kline(symbol: str, interval: str, row: Sequence[Any], now_ms: int | None = None) -> Kline:
    """``GET /api/v3/klines`` row ``[openTime, o, h, l, c, v, closeTime, quoteVolume, trades, takerBase,
    takerQuote, _]`` → Kline; ``closed`` is ``closeTime < now_ms`` when ``now_ms`` is given."""
    close_ms = int(row[6])
    return Kline(
        symbol=symbol,
        interval=interval,
        open_time_ms=int(row[0]),
        close_time_ms=close_ms,
        open=dec(row[1]),
        high=dec(row[2]),
        low=dec(row[3]),
        close=dec(row[4]),
        volume=dec(row[5]),
        quote_volume=dec(row[7]),
        trades=int(row[8]),
        taker_buy_volume=dec(row[9]),
        taker_buy_quote_volume=dec(row[10]),
        closed=True if now_ms is None else close_ms < now_ms,
    )


def stats_24h(body: Json) -> Stats24h:
    """``GET /api/v3/ticker/24hr`` body → Stats24h."""
    return Stats24h(
        symbol=body["symbol"],
        last_price=dec(body["lastPrice"]),
        open_price=dec(body["openPrice"]),
        high_price=dec(body["highPrice"]),
        low_price=dec(body["lowPrice"]),
        volume=dec(body["volume"]),
        quote_volume=dec(body["quoteVolume"]),
        price_change=dec(body.get("priceChange")),
        price_change_percent=dec(body.get("priceChangePercent")),
        weighted_avg_price=dec(body.get("weightedAvgPrice")),
        bid=dec(body.get("bidPrice")),
        ask=dec(body.get("askPrice")),
        open_time_ms=int(body.get("openTime", 0)),
        close_time_ms=int(body.get("closeTime", 0)),
        count=int(body.get("count", 0)),
    )


def book_ticker(body: Json, time_ms: int = 0) -> Ticker:
    """``GET /api/v3/ticker/bookTicker`` body ``{symbol, bidPrice, bidQty, askPrice, askQty}`` → Ticker (price 0)."""
    return Ticker(
        symbol=body["symbol"],
        price=ZERO,
        bid=dec(body["bidPrice"]),
        bid_qty=dec(body["bidQty"]),
        ask=dec(body["askPrice"]),
        ask_qty=dec(body["askQty"]),
        time_ms=time_ms,
    )


# --- market streams ---------------------------------------------------------------------------------------------


def stream_event(data: Json) -> MarketEvent | None:
    """One market-stream payload (the ``data`` of a combined-stream frame) → a model; None for unknown payloads.

    Handles ``trade``, ``aggTrade``, ``depthUpdate``, ``kline``, ``24hrTicker`` and ``bookTicker`` (which has no
    ``e``; recognised by its ``u``/``b``/``a`` fields).
    """
    kind = data.get("e")
    if kind == "depthUpdate":
        return DepthUpdate(
            symbol=data["s"],
            first_update_id=int(data["U"]),
            final_update_id=int(data["u"]),
            bids=levels(data["b"]),
            asks=levels(data["a"]),
            time_ms=int(data.get("E", 0)),
        )
    if kind == "trade":
        return Trade(data["s"], int(data["t"]), Decimal(data["p"]), Decimal(data["q"]), int(data["T"]), bool(data["m"]))
    if kind == "aggTrade":
        return Trade(
            symbol=data["s"],
            trade_id=int(data["a"]),
            price=Decimal(data["p"]),
            qty=Decimal(data["q"]),
            time_ms=int(data["T"]),
            is_buyer_maker=bool(data["m"]),
            is_aggregate=True,
            first_trade_id=int(data["f"]),
            last_trade_id=int(data["l"]),
        )
    if kind == "kline":
        k = data["k"]
        return Kline(
            symbol=data["s"],
            interval=k["i"],
            open_time_ms=int(k["t"]),
            close_time_ms=int(k["T"]),
            open=dec(k["o"]),
            high=dec(k["h"]),
            low=dec(k["l"]),
            close=dec(k["c"]),
            volume=dec(k["v"]),
            quote_volume=dec(k["q"]),
            trades=int(k["n"]),
            taker_buy_volume=dec(k.get("V")),
            taker_buy_quote_volume=dec(k.get("Q")),
            closed=bool(k["x"]),
        )
    if kind == "24hrTicker":
        return Stats24h(
            symbol=data["s"],
            last_price=dec(data["c"]),
            open_price=dec(data["o"]),
            high_price=dec(data["h"]),
            low_price=dec(data["l"]),
            volume=dec(data["v"]),
            quote_volume=dec(data["q"]),
            price_change=dec(data["p"]),
            price_change_percent=dec(data["P"]),
            weighted_avg_price=dec(data["w"]),
            bid=dec(data["b"]),
            ask=dec(data["a"]),
            open_time_ms=int(data["O"]),
            close_time_ms=int(data["C"]),
            count=int(data["n"]),
        )
    if kind is None and "u" in data and "b" in data and "a" in data:
        return Ticker(
            symbol=data["s"],
            price=ZERO,
            bid=dec(data["b"]),
            bid_qty=dec(data["B"]),
            ask=dec(data["a"]),
            ask_qty=dec(data["A"]),
            time_ms=int(data.get("T", data.get("E", 0))),
            update_id=int(data["u"]),
        )
    return None
