"""Per-symbol market state fed by the replay, and the streams derived from it (sans-I/O).

:class:`SymbolMarket` owns one symbol's :class:`SimBook`, its recent trades, aggregate trades and 1 s / 1 m bars. It is
fed the (already shifted) replay payloads and emits stream frames through a callback, computing a derived stream only
when ``wants(stream)`` says someone listens. Frame shapes follow
https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams:

- verbatim: ``<s>@depth@100ms``, ``<s>@bookTicker``, ``<s>@trade``;
- ``<s>@depth`` (1000 ms): the 100 ms diffs of one exchange-time second merged (``U`` of the first, ``u`` of the last,
  the last quantity per price);
- ``<s>@depth5|10|20`` (1000 ms) and ``...@100ms``: ``{lastUpdateId, bids, asks}`` from the rebuilt book;
- ``<s>@aggTrade``: consecutive trades with equal time, price and side merged (ids from 1, like the ``derived`` files),
  emitted when a later trade differs or a depth diff with a later ``E`` shows the aggregate ended (≤ ~100 ms late);
- ``<s>@kline_<interval>`` (every exchange-time second while trades arrive, and the closed bar with ``x: true``);
- ``<s>@ticker`` (24hrTicker, every second, rolling 24 h at one-minute granularity);
- ``<s>@miniTicker`` (24hrMiniTicker, every second, the same window), also wanted for ``!miniTicker@arr``, which the
  simulator publishes as a one-element array per symbol (see :meth:`tradingmcp.sim.app.Simulator`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_left
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradingmcp.sim.book import SimBook

ALL_MINI_TICKERS = "!miniTicker@arr"
"""The all-market mini-ticker stream: an array of ``24hrMiniTicker`` payloads."""

__all__ = ["ALL_MINI_TICKERS", "INTERVAL_MS", "Bar", "SymbolMarket", "bucket_start", "fmt8"]

Emit = Callable[[str, dict[str, Any]], object]
Wants = Callable[[str], bool]

_S = 1000
_M = 60 * _S
_H = 60 * _M
_D = 24 * _H
INTERVAL_MS: dict[str, int] = {
    "1s": _S, "1m": _M, "3m": 3 * _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M,
    "1h": _H, "2h": 2 * _H, "4h": 4 * _H, "6h": 6 * _H, "8h": 8 * _H, "12h": 12 * _H,
    "1d": _D, "3d": 3 * _D, "1w": 7 * _D, "1M": 31 * _D,
}  # fmt: skip
_MAX_TRADES = 200_000
_MAX_1S_BARS = 86_400
_ZERO = Decimal(0)


def fmt8(value: Decimal) -> str:
    """Binance's 8-decimal wire string (``"61837.63000000"``)."""
    return f"{value:.8f}"


def bucket_start(time_ms: int, interval: str) -> int:
    """Open time (epoch ms, UTC) of the ``interval`` bar holding ``time_ms``; weeks start Monday, months on the 1st."""
    if interval == "1M":
        day = dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.UTC)
        return calendar.timegm((day.year, day.month, 1, 0, 0, 0)) * 1000
    if interval == "1w":
        return time_ms - (time_ms + 3 * _D) % (7 * _D)
    size = INTERVAL_MS[interval]
    return time_ms - time_ms % size


def bucket_end(open_ms: int, interval: str) -> int:
    """Close time (ms, inclusive, ``open + size - 1``) of the bar opening at ``open_ms``."""
    if interval == "1M":
        day = dt.datetime.fromtimestamp(open_ms / 1000, tz=dt.UTC)
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000 - 1
    return open_ms + INTERVAL_MS[interval] - 1


class Bar:
    """One kline bar (Decimal fields; ``t``/``T`` open/close ms, ``f``/``L`` first/last trade id)."""

    __slots__ = ("L", "Q", "T", "V", "c", "f", "h", "l", "n", "o", "q", "t", "v")

    def __init__(self, t: int, close_ms: int, price: Decimal, trade_id: int) -> None:
        self.t, self.T = t, close_ms
        self.o = self.h = self.l = self.c = price
        self.v = self.q = self.V = self.Q = _ZERO
        self.n = 0
        self.f = self.L = trade_id

    def add(self, price: Decimal, qty: Decimal, quote: Decimal, trade_id: int, taker_buy: bool) -> None:
        """Add one trade."""
        self.h = max(self.h, price)
        self.l = min(self.l, price)
        self.c = price
        self.v += qty
        self.q += quote
        if taker_buy:
            self.V += qty
            self.Q += quote
        self.n += 1
        self.L = trade_id

    def merge(self, other: Bar) -> None:
        """Fold a later bar into this one."""
        self.h, self.l, self.c = max(self.h, other.h), min(self.l, other.l), other.c
        self.v += other.v
        self.q += other.q
        self.V += other.V
        self.Q += other.Q
        self.n += other.n
        self.L = other.L

    def rest_row(self) -> list[Any]:
        """``GET /api/v3/klines`` row: ``[t, o, h, l, c, v, T, q, n, V, Q, "0"]``."""
        return [self.t, fmt8(self.o), fmt8(self.h), fmt8(self.l), fmt8(self.c), fmt8(self.v), self.T,
                fmt8(self.q), self.n, fmt8(self.V), fmt8(self.Q), "0"]  # fmt: skip

    def stream_k(self, symbol: str, interval: str, closed: bool) -> dict[str, Any]:
        """The ``k`` object of a kline stream event."""
        return {"t": self.t, "T": self.T, "s": symbol, "i": interval, "f": self.f, "L": self.L, "o": fmt8(self.o),
                "c": fmt8(self.c), "h": fmt8(self.h), "l": fmt8(self.l), "v": fmt8(self.v), "n": self.n, "x": closed,
                "q": fmt8(self.q), "V": fmt8(self.V), "Q": fmt8(self.Q), "B": "0"}  # fmt: skip


def _copy(bar: Bar) -> Bar:
    out = Bar(bar.t, bar.T, bar.o, bar.f)
    out.merge(bar)
    out.o, out.h, out.l = bar.o, bar.h, bar.l
    return out


class SymbolMarket:
    """One symbol's replayed market state.

    Args:
        symbol: upper-case symbol.
        emit: called with ``(stream name, payload)`` for every frame to publish.
        wants: True when a stream has subscribers (derived frames are only computed then).
    """

    def __init__(self, symbol: str, emit: Emit, wants: Wants) -> None:
        self.symbol = symbol
        self.stream_prefix = symbol.lower() + "@"
        self.book = SimBook(symbol)
        self.snapshot_loaded = False
        self._pending: list[dict[str, Any]] = []  # diffs seen before the snapshot
        self.trades: list[dict[str, Any]] = []  # REST /trades rows, oldest first
        self.agg_trades: list[dict[str, Any]] = []  # REST /aggTrades rows
        self.bars_1s: list[Bar] = []
        self.bars_1m: list[Bar] = []
        self.last_event_ms = 0
        self._emit = emit
        self._wants = wants
        self._agg: dict[str, Any] | None = None
        self._agg_E = 0
        self._next_agg_id = 1
        self._second = 0
        self._merged: tuple[int, int, int, dict[str, str], dict[str, str]] | None = None  # (E, U, u, b, a)
        self._kline_dirty = False
        self._kline_streams = {i: f"{self.stream_prefix}kline_{i}" for i in INTERVAL_MS}
        self._kline_open: dict[str, int] = {}

    # ---- feed ------------------------------------------------------------------------------------------------

    def on_snapshot(self, data: dict[str, Any]) -> None:
        """A REST depth snapshot ``{lastUpdateId, bids, asks}`` (shifted) replaces the book."""
        self._flush_agg()
        self.book.load_snapshot(data["lastUpdateId"], data["bids"], data["asks"])
        self.snapshot_loaded = True
        pending, self._pending = self._pending, []
        for diff in pending:  # Binance's procedure: buffered diffs with u > lastUpdateId apply over the snapshot
            if diff["u"] > self.book.last_update_id:
                self.book.apply_diff(diff["U"], diff["u"], diff["b"], diff["a"])

    def on_depth(self, data: dict[str, Any]) -> bool:
        """A ``depthUpdate`` (``@depth@100ms``) frame; returns True when it changed the book."""
        if self._agg is not None and data["E"] > self._agg["T"]:
            self._flush_agg()  # the book moved on after the aggregate's time: it has ended
        p = self.stream_prefix
        self._tick(data["E"])
        self._emit(p + "depth@100ms", data)
        applied = False
        if not self.snapshot_loaded:
            self._pending.append(data)
        elif data["u"] > self.book.last_update_id:
            applied = self.book.apply_diff(data["U"], data["u"], data["b"], data["a"])
        if self._wants(p + "depth"):
            if self._merged is None:
                self._merged = (data["E"], data["U"], data["u"], {}, {})
            _, first, _, bids, asks = self._merged
            bids.update(data["b"])
            asks.update(data["a"])
            self._merged = (data["E"], first, data["u"], bids, asks)
        if applied:
            for n in (5, 10, 20):
                if self._wants(f"{p}depth{n}@100ms"):
                    self._emit(f"{p}depth{n}@100ms", self.book.depth(n))
        return applied

    def on_book_ticker(self, data: dict[str, Any]) -> None:
        """A ``bookTicker`` frame (published verbatim)."""
        self._emit(self.stream_prefix + "bookTicker", data)

    def on_trade(self, data: dict[str, Any]) -> tuple[Decimal, Decimal]:
        """A ``trade`` frame: publish it, update aggregates and bars. Returns ``(price, qty)`` as Decimals."""
        p = self.stream_prefix
        time_ms, tid, buyer_maker = data["T"], data["t"], data["m"]
        self._tick(data["E"])
        price_s, qty_s = data["p"], data["q"]
        price, qty = Decimal(price_s), Decimal(qty_s)
        quote = price * qty
        agg = self._agg
        if agg is not None and (agg["T"] != time_ms or agg["p"] != price_s or agg["m"] != buyer_maker):
            self._flush_agg()
            agg = None
        if agg is None:
            self._agg = {"a": self._next_agg_id, "p": price_s, "q": qty, "f": tid, "l": tid, "T": time_ms,
                         "m": buyer_maker, "M": True}  # fmt: skip
            self._next_agg_id += 1
        else:
            agg["q"] += qty
            agg["l"] = tid
        self._agg_E = data["E"]
        self._emit(p + "trade", data)
        self.trades.append({"id": tid, "price": price_s, "qty": qty_s, "quoteQty": fmt8(quote), "time": time_ms,
                            "isBuyerMaker": buyer_maker, "isBestMatch": True})  # fmt: skip
        if len(self.trades) > _MAX_TRADES:
            del self.trades[: _MAX_TRADES // 10]
        for interval, stream in self._kline_streams.items():  # close the bars this trade leaves behind
            if self._wants(stream):
                start = bucket_start(time_ms, interval)
                prev = self._kline_open.get(interval)
                if prev is not None and prev != start:
                    closed = self.bars(interval, start_ms=prev, end_ms=prev)
                    if closed:
                        self._emit(stream, self._kline_event(closed[0], interval, True, data["E"]))
                self._kline_open[interval] = start
        for bars, interval in ((self.bars_1s, "1s"), (self.bars_1m, "1m")):
            start = bucket_start(time_ms, interval)
            if not bars or bars[-1].t != start:
                bars.append(Bar(start, bucket_end(start, interval), price, tid))
            bars[-1].add(price, qty, quote, tid, not buyer_maker)
        if len(self.bars_1s) > _MAX_1S_BARS:
            del self.bars_1s[: _MAX_1S_BARS // 10]
        self._kline_dirty = True
        return price, qty

    def reset_book(self) -> None:
        """Forget the book's sync state (a new replay pass): diffs buffer until the next snapshot."""
        self.snapshot_loaded = False
        self._pending = []

    def end_of_batch(self) -> None:
        """Flush the open aggregate trade (call when the replay ends or pauses)."""
        self._flush_agg()

    # ---- derived frames ----------------------------------------------------------------------------------------

    def _flush_agg(self) -> None:
        agg = self._agg
        if agg is None:
            return
        self._agg = None
        row = dict(agg, q=fmt8(agg["q"]))
        self.agg_trades.append(row)
        if len(self.agg_trades) > _MAX_TRADES:
            del self.agg_trades[: _MAX_TRADES // 10]
        stream = self.stream_prefix + "aggTrade"
        if self._wants(stream):
            self._emit(stream, {"e": "aggTrade", "E": self._agg_E, "s": self.symbol, **row})

    def _tick(self, event_ms: int) -> None:
        """Per-second work (exchange time): merged @depth, @depthN, klines, 24hr ticker."""
        self.last_event_ms = max(self.last_event_ms, event_ms)
        second = event_ms // 1000
        if second <= self._second:
            return
        self._second = second
        p = self.stream_prefix
        if self._merged is not None:
            e_ms, first, last, bids, asks = self._merged
            self._merged = None
            self._emit(p + "depth", {"e": "depthUpdate", "E": e_ms, "s": self.symbol, "U": first, "u": last,
                                     "b": [[k, v] for k, v in bids.items()], "a": [[k, v] for k, v in asks.items()]})  # fmt: skip
        if self.snapshot_loaded:
            for n in (5, 10, 20):
                if self._wants(f"{p}depth{n}"):
                    self._emit(f"{p}depth{n}", self.book.depth(n))
        if self._kline_dirty and self.bars_1m:
            self._kline_dirty = False
            for interval, stream in self._kline_streams.items():
                if self._wants(stream):
                    bar = self.current_bar(interval)
                    if bar is not None:
                        self._emit(stream, self._kline_event(bar, interval, False, event_ms))
        if self._wants(p + "ticker") and self.trades:
            self._emit(p + "ticker", self.ticker_event(event_ms))
        if (self._wants(p + "miniTicker") or self._wants(ALL_MINI_TICKERS)) and self.trades:
            self._emit(p + "miniTicker", self.mini_ticker_event(event_ms))

    def _kline_event(self, bar: Bar, interval: str, closed: bool, event_ms: int) -> dict[str, Any]:
        return {"e": "kline", "E": event_ms, "s": self.symbol, "k": bar.stream_k(self.symbol, interval, closed)}

    # ---- queries -------------------------------------------------------------------------------------------------

    def bars(self, interval: str, start_ms: int | None = None, end_ms: int | None = None) -> list[Bar]:
        """Bars of ``interval`` (oldest first) built from the 1 s / 1 m bars, within ``[start_ms, end_ms]`` open times."""
        src = self.bars_1s if interval == "1s" else self.bars_1m
        lo = 0 if start_ms is None else bisect_left(src, bucket_start(start_ms, interval), key=lambda b: b.t)
        out: list[Bar] = []
        for bar in src[lo:]:
            start = bar.t if interval in ("1s", "1m") else bucket_start(bar.t, interval)
            if end_ms is not None and start > end_ms:
                break
            if out and out[-1].t == start:
                out[-1].merge(bar)
            else:
                merged = _copy(bar)
                merged.t, merged.T = start, bucket_end(start, interval)
                out.append(merged)
        if start_ms is not None:
            out = [b for b in out if b.t >= bucket_start(start_ms, interval)]
        return out

    def current_bar(self, interval: str) -> Bar | None:
        """The open (latest) bar of ``interval``, or None before any trade."""
        if not self.bars_1m:
            return None
        last_ms = self.bars_1s[-1].t if self.bars_1s else self.bars_1m[-1].t
        bars = self.bars(interval, start_ms=bucket_start(last_ms, interval))
        return bars[-1] if bars else None

    def rolling_24h(self, now_ms: int) -> Bar | None:
        """The trades of the last 24 h (one-minute granularity) as one bar, or None without trades."""
        bars = self.bars("1m", start_ms=now_ms - _D + _M)
        if not bars:
            return None
        total = _copy(bars[0])
        for bar in bars[1:]:
            total.merge(bar)
        total.t, total.T = bars[0].t, now_ms
        return total

    def ticker_24hr(self, now_ms: int) -> dict[str, Any]:
        """``GET /api/v3/ticker/24hr`` body (FULL) for this symbol."""
        bar = self.rolling_24h(now_ms)
        bid, ask = self.book.best_bid(), self.book.best_ask()
        last = self.trades[-1] if self.trades else None
        zero = fmt8(_ZERO)
        out: dict[str, Any] = {
            "symbol": self.symbol, "priceChange": zero, "priceChangePercent": "0.000", "weightedAvgPrice": zero,
            "prevClosePrice": zero, "lastPrice": last["price"] if last else zero, "lastQty": last["qty"] if last else zero,
            "bidPrice": fmt8(bid[0]) if bid else zero, "bidQty": fmt8(bid[1]) if bid else zero,
            "askPrice": fmt8(ask[0]) if ask else zero, "askQty": fmt8(ask[1]) if ask else zero,
            "openPrice": zero, "highPrice": zero, "lowPrice": zero, "volume": zero, "quoteVolume": zero,
            "openTime": now_ms - _D, "closeTime": now_ms, "firstId": -1, "lastId": -1, "count": 0,
        }  # fmt: skip
        if bar is not None:
            change = bar.c - bar.o
            out.update(
                priceChange=fmt8(change), priceChangePercent=f"{change / bar.o * 100:.3f}",
                weightedAvgPrice=fmt8(bar.q / bar.v) if bar.v else zero, prevClosePrice=fmt8(bar.o),
                openPrice=fmt8(bar.o), highPrice=fmt8(bar.h), lowPrice=fmt8(bar.l), volume=fmt8(bar.v),
                quoteVolume=fmt8(bar.q), openTime=bar.t, firstId=bar.f, lastId=bar.L, count=bar.n,
            )  # fmt: skip
        return out

    def ticker_event(self, event_ms: int) -> dict[str, Any]:
        """The ``@ticker`` (24hrTicker) stream payload."""
        t = self.ticker_24hr(event_ms)
        return {"e": "24hrTicker", "E": event_ms, "s": self.symbol, "p": t["priceChange"], "P": t["priceChangePercent"],
                "w": t["weightedAvgPrice"], "x": t["prevClosePrice"], "c": t["lastPrice"], "Q": t["lastQty"],
                "b": t["bidPrice"], "B": t["bidQty"], "a": t["askPrice"], "A": t["askQty"], "o": t["openPrice"],
                "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"], "O": t["openTime"],
                "C": t["closeTime"], "F": t["firstId"], "L": t["lastId"], "n": t["count"]}  # fmt: skip

    def mini_ticker_event(self, event_ms: int) -> dict[str, Any]:
        """The ``@miniTicker`` (24hrMiniTicker) stream payload: close, open, high, low, base and quote volume."""
        t = self.ticker_24hr(event_ms)
        return {"e": "24hrMiniTicker", "E": event_ms, "s": self.symbol, "c": t["lastPrice"], "o": t["openPrice"],
                "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"]}  # fmt: skip

    def avg_price(self, now_ms: int, mins: int = 5) -> dict[str, Any]:
        """``GET /api/v3/avgPrice`` body: volume-weighted price of the last ``mins`` minutes (book mid without trades)."""
        lo = bisect_left(self.trades, now_ms - mins * _M, key=lambda t: t["time"])
        qty = quote = _ZERO
        for row in self.trades[lo:]:
            qty += Decimal(row["qty"])
            quote += Decimal(row["quoteQty"])
        if qty:
            price = quote / qty
        else:
            mid = self.book.mid_price()
            price = mid if mid is not None else _ZERO
        close = self.trades[-1]["time"] if self.trades else now_ms
        return {"mins": mins, "price": fmt8(price), "closeTime": close}
