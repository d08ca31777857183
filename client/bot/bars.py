"""Time bars (OHLCV) built one price at a time from pushed data, on exchange time (sans-I/O).

A bar covers ``[start_ms, start_ms + interval_ms)`` of exchange time (aligned to multiples of the interval, like
kline open times). It closes when the first price of a later interval arrives, so a bar is known complete only then
(no clock is read: a replay at any speed builds the same bars). Intervals without any price become flat bars at the
previous close with volume 0, so indicators keep counting time; at most :data:`MAX_GAP_BARS` of them after one gap.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_GAP_BARS = 10_000
"""Most empty bars filled in after one gap in the data (a longer gap restarts the series' clock)."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed bar: ``start_ms`` (exchange time), prices in the quote asset, ``volume`` in the base asset
    (0 for a bar built from book ticker mids), ``count`` prices seen."""

    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    count: int


class BarBuilder:
    """Bars of ``interval_ms`` from ``(price, qty, time_ms)`` updates.

    Raises:
        ValueError: ``interval_ms`` < 1.
    """

    def __init__(self, interval_ms: int) -> None:
        if interval_ms < 1:
            raise ValueError(f"interval_ms must be at least 1, got {interval_ms}")
        self.interval_ms = interval_ms
        self._start: int | None = None
        self._o = self._h = self._l = self._c = self._v = 0.0
        self._n = 0
        self.closed = 0

    def update(self, price: float, qty: float, time_ms: int) -> list[Bar]:
        """Add one price (a trade: ``qty`` base; a mid: 0); returns the bars this closed (oldest first, usually none
        or one). A price older than the open bar is counted in the open bar."""
        start = time_ms - time_ms % self.interval_ms
        if self._start is None:
            self._open(start, price, qty)
            return []
        if start <= self._start:
            self._h = max(self._h, price)
            self._l = min(self._l, price)
            self._c = price
            self._v += qty
            self._n += 1
            return []
        out = [Bar(self._start, self._o, self._h, self._l, self._c, self._v, self._n)]
        empty = (start - self._start) // self.interval_ms - 1
        close = self._c
        out += [
            Bar(self._start + (i + 1) * self.interval_ms, close, close, close, close, 0.0, 0)
            for i in range(min(empty, MAX_GAP_BARS))
        ]
        self.closed += len(out)
        self._open(start, price, qty)
        return out

    def _open(self, start: int, price: float, qty: float) -> None:
        self._start = start
        self._o = self._h = self._l = self._c = price
        self._v = qty
        self._n = 1
