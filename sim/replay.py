"""Recorded-market reader, merger, id/time shifter and pacing clock (sans-I/O).

The recordings (``/work/shared/data/binance/recorded``, see its README) are gzip files of ``<local ns> <json>`` lines:
a REST depth snapshot body (``GET /api/v3/depth?limit=1000``) or a combined-stream frame
``{"stream": "btcusdt@depth@100ms" | "btcusdt@bookTicker" | "btcusdt@trade", "data": {...}}``. Files of one symbol are
read in name order (0808 then 0809) and the symbols are merged by the local ns stamp.

Time and ids as served (the choice this module documents): every exchange time (``E``, ``T``) is shifted by one
constant ``time_shift_ms`` chosen when the replay starts, so that the first recorded event time maps onto the wall clock
at start (the replay looks live at speed 1; at speed 10 the market clock runs 10x faster than the wall clock). When the
replay loops, each new pass adds the pass span to the time shift and adds the pass's id span to the update ids
(``U``, ``u``, ``lastUpdateId``) and trade ids (``t``), so ids and times only ever grow, and a client keeping a local
book sees a gap (``U > local + 1``) and resyncs, as after a real exchange restart. The JSON of a frame is otherwise
kept verbatim.
"""

from __future__ import annotations

import enum
import gzip
import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "EventKind",
    "IdShift",
    "MarketEvent",
    "PriceOffset",
    "ReplayClock",
    "merge_events",
    "read_recording",
    "shift_event",
]


class EventKind(enum.Enum):
    """What one recorded line is."""

    SNAPSHOT = "snapshot"  # REST depth body {lastUpdateId, bids, asks}
    DEPTH = "depth"  # depthUpdate {e,E,s,U,u,b,a} (@depth@100ms)
    BOOK_TICKER = "bookTicker"  # {u,s,b,B,a,A}
    TRADE = "trade"  # {e,E,s,t,p,q,T,m,M}


_SUFFIX_KIND = {
    "depth@100ms": EventKind.DEPTH,
    "depth": EventKind.DEPTH,
    "bookTicker": EventKind.BOOK_TICKER,
    "trade": EventKind.TRADE,
}


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """One market event in replay order.

    Attributes:
        local_ns: the recorder's local receive time in ns (used only for order and pacing).
        symbol: upper-case symbol, e.g. ``"BTCUSDT"``.
        kind: what ``data`` is.
        data: the payload exactly as recorded (the ``data`` of a stream frame, or the REST depth body).
    """

    local_ns: int
    symbol: str
    kind: EventKind
    data: dict[str, Any]

    @property
    def exchange_ms(self) -> int | None:
        """Exchange time of the event in ms (``T`` for trades, ``E`` otherwise), None when the payload has none."""
        value = self.data.get("T" if self.kind is EventKind.TRADE else "E")
        return value if isinstance(value, int) else None


def parse_line(line: bytes, symbol: str) -> MarketEvent | None:
    """Parse one ``<ns> <json>`` recording line; None for blank lines and unknown streams."""
    line = line.strip()
    if not line:
        return None
    stamp, _, body = line.partition(b" ")
    obj = orjson.loads(body)
    if "stream" in obj:
        suffix = obj["stream"].partition("@")[2]
        kind = _SUFFIX_KIND.get(suffix)
        if kind is None:
            return None
        return MarketEvent(int(stamp), symbol, kind, obj["data"])
    if "lastUpdateId" in obj:
        return MarketEvent(int(stamp), symbol, EventKind.SNAPSHOT, obj)
    return None


def read_recording(symbol: str, paths: Iterable[Path]) -> Iterator[MarketEvent]:
    """Yield one symbol's events from its gzip files, in file order.

    Args:
        symbol: upper-case symbol the files belong to.
        paths: the files in replay order (``tradingmcp.sim.data.binance_recordings(symbol)``).

    Raises:
        OSError: a file cannot be read. orjson.JSONDecodeError: a corrupt line.
    """
    for path in paths:
        with gzip.open(path, "rb") as fh:
            for line in fh:
                event = parse_line(line, symbol)
                if event is not None:
                    yield event


def merge_events(streams: Iterable[Iterator[MarketEvent]]) -> Iterator[MarketEvent]:
    """Merge per-symbol event iterators by local ns stamp (stable for equal stamps)."""
    return heapq.merge(*streams, key=lambda ev: ev.local_ns)


@dataclass(slots=True)
class IdShift:
    """The constant shift applied to one pass of the replay (see the module docstring).

    Attributes:
        time_ms: added to ``E`` and ``T``.
        update_id: per symbol, added to ``U``, ``u`` and ``lastUpdateId``.
        trade_id: per symbol, added to ``t``.
    """

    time_ms: int
    update_id: dict[str, int]
    trade_id: dict[str, int]


def shift_event(event: MarketEvent, shift: IdShift) -> dict[str, Any]:
    """Return the payload with times and ids shifted (a new dict; the event is left untouched)."""
    data = dict(event.data)
    du = shift.update_id.get(event.symbol, 0)
    if event.kind is EventKind.SNAPSHOT:
        data["lastUpdateId"] += du
        return data
    dt = shift.time_ms
    if "E" in data:
        data["E"] += dt
    if event.kind is EventKind.TRADE:
        data["T"] += dt
        data["t"] += shift.trade_id.get(event.symbol, 0)
    elif event.kind is EventKind.DEPTH:
        data["U"] += du
        data["u"] += du
    else:  # bookTicker (T/E only present on some eras)
        data["u"] += du
        if "T" in data:
            data["T"] += dt
    return data


class PriceOffset:
    """Moves every price of a replayed payload by ``bps`` basis points (``p × (1 + bps / 10⁴)``, rounded half-even to
    the symbol's tick so the book stays on the grid; quantities unchanged): a face whose market is the recording at an
    offset, so two venues replaying the same recording quote different prices (cross-venue arbitrage exists).

    Prices are kept as decimal strings with the recorded number of decimals. Distinct recorded levels stay distinct
    and in order (two prices one tick apart move apart by more than a tick before rounding).
    """

    def __init__(self, bps: float, ticks: dict[str, Decimal]) -> None:
        self.factor = 1 + Decimal(str(bps)) / 10_000
        self.ticks = ticks

    def price(self, text: str, symbol: str) -> str:
        """One price string moved (same decimals as ``text``)."""
        value = Decimal(text)
        tick = self.ticks[symbol]
        moved = (value * self.factor / tick).to_integral_value(ROUND_HALF_EVEN) * tick
        kept = moved.quantize(value)  # the recorded decimals, unless the tick needs more
        return str(kept if kept == moved else moved)

    def apply(self, kind: EventKind, symbol: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` (an already shifted, private copy) with its prices moved in place; returned for chaining."""
        if kind is EventKind.SNAPSHOT:
            data["bids"] = [[self.price(p, symbol), q] for p, q in data["bids"]]
            data["asks"] = [[self.price(p, symbol), q] for p, q in data["asks"]]
        elif kind is EventKind.DEPTH:
            data["b"] = [[self.price(p, symbol), q] for p, q in data["b"]]
            data["a"] = [[self.price(p, symbol), q] for p, q in data["a"]]
        elif kind is EventKind.BOOK_TICKER:
            data["b"], data["a"] = self.price(data["b"], symbol), self.price(data["a"], symbol)
        else:
            data["p"] = self.price(data["p"], symbol)
        return data


@dataclass(slots=True)
class _Span:
    first_update: int | None = None
    last_update: int = 0
    first_trade: int | None = None
    last_trade: int = 0


class PassTracker:
    """Tracks one pass's id/time spans so the next pass can be shifted past it (used when looping)."""

    def __init__(self) -> None:
        self._spans: dict[str, _Span] = {}
        self.first_ms: int | None = None
        self.last_ms: int = 0

    def see(self, event: MarketEvent) -> None:
        """Record the raw (unshifted) ids and time of ``event``."""
        span = self._spans.setdefault(event.symbol, _Span())
        data = event.data
        if event.kind is EventKind.SNAPSHOT:
            uid = data["lastUpdateId"]
        elif event.kind is EventKind.TRADE:
            tid = data["t"]
            span.first_trade = tid if span.first_trade is None else min(span.first_trade, tid)
            span.last_trade = max(span.last_trade, tid)
            uid = None
        else:
            uid = data.get("u")
        if isinstance(uid, int):
            span.first_update = uid if span.first_update is None else min(span.first_update, uid)
            span.last_update = max(span.last_update, uid)
        ms = event.exchange_ms
        if ms is not None:
            self.first_ms = ms if self.first_ms is None else min(self.first_ms, ms)
            self.last_ms = max(self.last_ms, ms)

    def advance(self, shift: IdShift, gap_ms: int = 1000) -> IdShift:
        """The shift for the next pass: past every id and time of this one (``gap_ms`` between passes)."""
        span_ms = self.last_ms - (self.first_ms or self.last_ms) + gap_ms
        update = dict(shift.update_id)
        trade = dict(shift.trade_id)
        for symbol, span in self._spans.items():
            if span.first_update is not None:
                update[symbol] = update.get(symbol, 0) + span.last_update - span.first_update + 1
            if span.first_trade is not None:
                trade[symbol] = trade.get(symbol, 0) + span.last_trade - span.first_trade + 1
        return IdShift(shift.time_ms + span_ms, update, trade)


class ReplayClock:
    """The simulated exchange clock (ms), driven by the replay; sans-I/O (the caller passes wall time).

    Manual mode (``speed == 0``): the clock is the (shifted) time of the last replayed event, so runs are deterministic.
    Paced mode: the last event time plus the wall time elapsed since it, times ``speed``. Never goes backwards.
    """

    def __init__(self, speed: float, start_ms: int) -> None:
        self.speed = speed
        self._event_ms = start_ms
        self._event_wall_s: float | None = None
        self._last = start_ms

    def on_event(self, exchange_ms: int, wall_s: float) -> None:
        """Note a replayed event's shifted exchange time (ms) seen at wall time ``wall_s`` (s, monotonic)."""
        self._event_ms = exchange_ms
        self._event_wall_s = wall_s
        self._last = max(self._last, exchange_ms)

    def now_ms(self, wall_s: float) -> int:
        """The exchange time (ms) at wall time ``wall_s`` (s, same monotonic clock as ``on_event``)."""
        value = self._event_ms
        if self.speed > 0 and self._event_wall_s is not None and self.speed != float("inf"):
            value += int((wall_s - self._event_wall_s) * 1000 * self.speed)
        self._last = max(self._last, value)
        return self._last


def pace_delay_s(event_ns: int, base_ns: int, start_wall_s: float, now_wall_s: float, speed: float) -> float:
    """Seconds to wait before emitting an event stamped ``event_ns`` (0 when late or unpaced).

    Args:
        event_ns: the event's local stamp (ns, pass-adjusted).
        base_ns: the stamp replayed at ``start_wall_s``.
        start_wall_s: wall time (s, monotonic) the pacing started.
        now_wall_s: current wall time (s, same clock).
        speed: pace multiplier (> 0; ``inf`` = no pacing).
    """
    if speed <= 0 or speed == float("inf"):
        return 0.0
    target = start_wall_s + (event_ns - base_ns) / 1e9 / speed
    return max(0.0, target - now_wall_s)


def chain_passes(make_pass: Any, loop: bool) -> Iterator[tuple[int, MarketEvent]]:
    """Yield ``(pass_index, event)`` from ``make_pass()`` once, or forever when ``loop``."""
    for index in itertools.count():
        yielded = False
        for event in make_pass():
            yielded = True
            yield index, event
        if not loop or not yielded:
            return
