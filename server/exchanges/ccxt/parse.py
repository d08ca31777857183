"""ccxt's unified structures (https://docs.ccxt.com/#/README?id=unified-api: market, ticker, order book, trade,
OHLCV, order, balance) → the exchange-neutral models (sans-I/O).

ccxt gives numbers as floats; each is turned into a ``Decimal`` through its shortest text (``0.1`` stays ``0.1``).
Symbols come out in the exchange's own spelling (ccxt's market ``id``, upper-cased: ``BTCUSDT``), as the native
venues give them. An order's ``status`` keeps the exchange's own word when it is one of ours (Binance and MEXC use
the same words), else it is derived from ccxt's ``open``/``closed``/``canceled``/``expired``/``rejected`` and the
filled amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tradingmcp.server.exchanges.models import (
    Balance,
    BookLevel,
    Fill,
    Kline,
    Order,
    OrderBookSnapshot,
    OrderStatus,
    OrderType,
    Side,
    Stats24h,
    SymbolRules,
    Ticker,
    TimeInForce,
    Trade,
)

__all__ = [
    "INTERVAL_MS",
    "balances",
    "book",
    "dec",
    "fill",
    "kline",
    "market_symbol",
    "order",
    "order_id",
    "stats",
    "symbol_rules",
    "ticker",
    "trade",
]

ZERO = Decimal(0)
DECIMAL_PLACES = 2
"""ccxt's ``precisionMode`` where precision is a count of decimals (ccxt.base.decimal_to_precision)."""
TICK_SIZE = 4
"""ccxt's ``precisionMode`` where precision is the step itself."""

INTERVAL_MS = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
    "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
    "3d": 259_200_000, "1w": 604_800_000, "1M": 2_592_000_000,
}  # fmt: skip
"""Length of each candle interval (a month counted as 30 days: only used to mark the latest candle open)."""

_CCXT_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_OUR_STATUS = {s.value: s for s in OrderStatus}
_TYPES = {"limit": OrderType.LIMIT, "market": OrderType.MARKET, "limit_maker": OrderType.LIMIT_MAKER}
_TIFS = {t.value: t for t in TimeInForce}


def dec(value: Any) -> Decimal:
    """A ccxt number (float, int, numeric string or None) as a Decimal (None → 0)."""
    if value is None or value == "":
        return ZERO
    try:
        return Decimal(value) if isinstance(value, (str, int)) else Decimal(repr(float(value)))
    except (InvalidOperation, ValueError, TypeError):
        return ZERO


def market_symbol(market: Mapping[str, Any]) -> str:
    """Our spelling of a ccxt market: its exchange id, upper-cased (``BTCUSDT``; OKX ``BTC-USDT``)."""
    return str(market["id"]).upper()


def order_id(raw: Any) -> int | str:
    """An exchange order id: an int when it is all digits (Binance), else the string (MEXC ``C02__…``)."""
    text = str(raw)
    return int(text) if text.isdigit() and len(text) < 19 else text


def _step(precision: Any, mode: int) -> Decimal:
    """A price or amount step from ccxt's precision (a step in TICK_SIZE mode, a count of decimals in
    DECIMAL_PLACES mode; significant digits give no fixed step: 0)."""
    if precision is None:
        return ZERO
    if mode == TICK_SIZE:
        return dec(precision)
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(precision))
    return ZERO


def _places(step: Decimal, default: int = 8) -> int:
    return max(0, -step.normalize().as_tuple().exponent) if step else default  # type: ignore[operator]


def symbol_rules(market: Mapping[str, Any], precision_mode: int, order_types: frozenset[OrderType]) -> SymbolRules:
    """A ccxt market's precision and limits as :class:`SymbolRules` (the checks of
    :func:`tradingmcp.server.exchanges.rules.check_order`): ``precision.price`` → tick size, ``precision.amount`` →
    step size, ``limits.amount``/``price``/``cost`` → quantity, price and notional bounds, ``limits.market`` →
    the MARKET quantity bounds when given. An ``active: false`` market is ``BREAK`` (no new orders)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}

    def bound(group: str, end: str) -> Decimal:
        return dec((limits.get(group) or {}).get(end))

    tick = _step(precision.get("price"), precision_mode)
    step = _step(precision.get("amount"), precision_mode)
    has_market = bool(limits.get("market"))
    return SymbolRules(
        symbol=market_symbol(market),
        base_asset=str(market.get("base") or ""),
        quote_asset=str(market.get("quote") or ""),
        status="BREAK" if market.get("active") is False else "TRADING",
        tick_size=tick,
        step_size=step,
        min_qty=bound("amount", "min"),
        max_qty=bound("amount", "max"),
        min_price=bound("price", "min"),
        max_price=bound("price", "max"),
        market_min_qty=bound("market", "min") if has_market else bound("amount", "min"),
        market_max_qty=bound("market", "max") if has_market else bound("amount", "max"),
        market_step_size=step,
        min_notional=bound("cost", "min"),
        max_notional=bound("cost", "max"),
        base_precision=_places(step),
        quote_precision=_places(tick),
        order_types=order_types,
        quote_order_qty_market_allowed=False,
        oco_allowed=False,
    )


def book(symbol: str, raw: Mapping[str, Any], depth: int | None = None) -> OrderBookSnapshot:
    """A ccxt order book (``bids``/``asks`` as ``[price, amount]`` rows, best first; ``nonce``) as a snapshot."""
    bids = raw.get("bids") or []
    asks = raw.get("asks") or []
    if depth is not None:
        bids, asks = bids[:depth], asks[:depth]
    return OrderBookSnapshot(
        symbol=symbol,
        last_update_id=int(raw.get("nonce") or 0),
        bids=tuple(BookLevel(dec(p), dec(q)) for p, q, *_ in bids),
        asks=tuple(BookLevel(dec(p), dec(q)) for p, q, *_ in asks),
        time_ms=int(raw.get("timestamp") or 0),
    )


def ticker(symbol: str, raw: Mapping[str, Any]) -> Ticker:
    """A ccxt ticker's best bid/ask (and last price) as a :class:`Ticker`."""
    return Ticker(
        symbol=symbol,
        price=dec(raw.get("last")),
        bid=dec(raw.get("bid")),
        bid_qty=dec(raw.get("bidVolume")),
        ask=dec(raw.get("ask")),
        ask_qty=dec(raw.get("askVolume")),
        time_ms=int(raw.get("timestamp") or 0),
    )


def stats(symbol: str, raw: Mapping[str, Any]) -> Stats24h:
    """A ccxt ticker's 24 h statistics as :class:`Stats24h` (no trade count in ccxt's ticker: 0)."""
    close_ms = int(raw.get("timestamp") or 0)
    return Stats24h(
        symbol=symbol,
        last_price=dec(raw.get("last")),
        open_price=dec(raw.get("open")),
        high_price=dec(raw.get("high")),
        low_price=dec(raw.get("low")),
        volume=dec(raw.get("baseVolume")),
        quote_volume=dec(raw.get("quoteVolume")),
        price_change=dec(raw.get("change")),
        price_change_percent=dec(raw.get("percentage")),
        weighted_avg_price=dec(raw.get("vwap")),
        bid=dec(raw.get("bid")),
        ask=dec(raw.get("ask")),
        open_time_ms=close_ms - INTERVAL_MS["1d"] if close_ms else 0,
        close_time_ms=close_ms,
        count=0,
    )


def trade(symbol: str, raw: Mapping[str, Any]) -> Trade:
    """A ccxt public trade as a :class:`Trade` (``side`` is the taker's: a ``sell`` hit the bid, so the buyer was
    the maker); no id → -1."""
    raw_id = raw.get("id")
    return Trade(
        symbol=symbol,
        trade_id=order_id(raw_id) if raw_id is not None else -1,
        price=dec(raw.get("price")),
        qty=dec(raw.get("amount")),
        time_ms=int(raw.get("timestamp") or 0),
        is_buyer_maker=raw.get("side") == "sell",
    )


def kline(symbol: str, interval: str, row: list[Any], now_ms: int) -> Kline:
    """A ccxt OHLCV row ``[open time ms, open, high, low, close, base volume]`` as a :class:`Kline`; ``closed`` when
    its interval has ended by ``now_ms``. ccxt gives no quote volume or trade count (0)."""
    start = int(row[0])
    length = INTERVAL_MS.get(interval, 60_000)
    return Kline(
        symbol=symbol,
        interval=interval,
        open_time_ms=start,
        close_time_ms=start + length - 1,
        open=dec(row[1]),
        high=dec(row[2]),
        low=dec(row[3]),
        close=dec(row[4]),
        volume=dec(row[5]),
        quote_volume=ZERO,
        trades=0,
        closed=start + length <= now_ms,
    )


def _status(raw: Mapping[str, Any]) -> OrderStatus:
    info = raw.get("info")
    own = info.get("status") if isinstance(info, Mapping) else None
    if isinstance(own, str) and own in _OUR_STATUS:
        return _OUR_STATUS[own]
    status = raw.get("status")
    if status == "open" or status is None:
        return OrderStatus.PARTIALLY_FILLED if dec(raw.get("filled")) > 0 else OrderStatus.NEW
    found = _CCXT_STATUS.get(str(status))
    if found is OrderStatus.CANCELED and dec(raw.get("filled")) > 0 and dec(raw.get("remaining")) == 0:
        return OrderStatus.FILLED
    return found or OrderStatus.NEW


def order(symbol: str, raw: Mapping[str, Any], client_order_id: str | None = None) -> Order:
    """A ccxt order as an :class:`Order`. ``client_order_id`` stands in when ccxt's order has none (an
    acknowledgement that does not echo it, e.g. MEXC's)."""
    kind = _TYPES.get(str(raw.get("type") or "").lower(), OrderType.LIMIT)
    if kind is OrderType.LIMIT and raw.get("postOnly"):
        kind = OrderType.LIMIT_MAKER
    tif = _TIFS.get(str(raw.get("timeInForce") or "").upper())
    executed = dec(raw.get("filled"))
    cost = dec(raw.get("cost"))
    if not cost and executed and raw.get("average"):
        cost = executed * dec(raw.get("average"))
    placed = int(raw.get("timestamp") or 0)
    updated = int(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp") or placed)
    return Order(
        order_id=order_id(raw.get("id")),
        client_order_id=str(raw.get("clientOrderId") or client_order_id or ""),
        symbol=symbol,
        side=Side.SELL if raw.get("side") == "sell" else Side.BUY,
        type=kind,
        time_in_force=None if kind is OrderType.MARKET else tif,
        price=ZERO if kind is OrderType.MARKET else dec(raw.get("price")),
        stop_price=dec(raw.get("triggerPrice") or raw.get("stopPrice")),
        orig_qty=dec(raw.get("amount")),
        executed_qty=executed,
        cumulative_quote_qty=cost,
        status=_status(raw),
        time_ms=placed,
        update_time_ms=updated,
    )


def fill(symbol: str, raw: Mapping[str, Any]) -> Fill:
    """A ccxt trade of our own (``fetch_my_trades``, ``watch_my_trades``) as a :class:`Fill`."""
    fee = raw.get("fee") or {}
    raw_id = raw.get("id")
    return Fill(
        symbol=symbol,
        trade_id=order_id(raw_id) if raw_id is not None else -1,
        order_id=order_id(raw.get("order")),
        price=dec(raw.get("price")),
        qty=dec(raw.get("amount")),
        quote_qty=dec(raw.get("cost")) or dec(raw.get("price")) * dec(raw.get("amount")),
        commission=dec(fee.get("cost")),
        commission_asset=str(fee.get("currency") or ""),
        is_maker=raw.get("takerOrMaker") == "maker",
        time_ms=int(raw.get("timestamp") or 0),
        is_buyer=raw.get("side") == "buy",
    )


def balances(raw: Mapping[str, Any], non_zero: bool = True) -> list[Balance]:
    """A ccxt balance structure (``free``/``used`` per currency) as balances, sorted by asset."""
    free = raw.get("free") or {}
    used = raw.get("used") or {}
    out = []
    for asset in sorted(set(free) | set(used)):
        b = Balance(str(asset), dec(free.get(asset)), dec(used.get(asset)))
        if b.total or not non_zero:
            out.append(b)
    return out
