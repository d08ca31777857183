"""Incremental (value-by-value) forms of TA-Lib's SMA, EMA, RSI, BBANDS and MACD, for the live bot (sans-I/O).

Each indicator takes one value at a time (:meth:`update`: a bar's close, or a trade price) and returns its current
output, or None while it is still inside TA-Lib's lookback (the first outputs TA-Lib leaves as NaN). Fed a whole
series, the outputs equal TA-Lib's batch functions with their default settings (``talib.SMA``, ``EMA``, ``RSI``,
``BBANDS`` with ``matype=0``, ``MACD``): the arithmetic follows TA-Lib's C code (the same running sums, the same
seeding and the same order of operations), so the floats agree to rounding. TA-Lib's unstable period is 0
for these functions by default, so outputs agree from the first one.

Sources: TA-Lib ``ta_SMA.c``, ``ta_EMA.c`` (``TA_INT_EMA``: seeded with the SMA of the first ``period`` values,
``k = 2 / (period + 1)``), ``ta_RSI.c`` (Wilder's smoothing), ``ta_BBANDS.c`` (SMA ± k population standard deviations), ``ta_MACD.c``
(``TA_INT_MACD``: the fast EMA is seeded on the ``fast`` values ending where the slow EMA's seed ends).

Units: the outputs are in the input's unit (a price), except RSI (0..100).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


def _check_period(name: str, period: int, least: int) -> None:
    if not isinstance(period, int) or isinstance(period, bool) or period < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {period!r}")


class SMA:
    """Simple moving average of the last ``period`` values (TA-Lib ``SMA``; lookback ``period - 1``).

    Raises:
        ValueError: ``period`` < 2.
    """

    def __init__(self, period: int) -> None:
        _check_period("period", period, 2)
        self.period = period
        self._window: deque[float] = deque()
        self._total = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        """Add one value; the average of the last ``period`` values, or None before there are ``period``."""
        self._window.append(x)
        self._total += x
        if len(self._window) < self.period:
            return None
        value = self._total / self.period
        self._total -= self._window.popleft()  # TA-Lib subtracts the trailing value after dividing
        self.value = value
        return value


class EMA:
    """Exponential moving average, ``k = 2 / (period + 1)``, seeded with the SMA of the first ``period`` values (TA-Lib
    ``EMA``, default compatibility; lookback ``period - 1``).

    Raises:
        ValueError: ``period`` < 2.
    """

    def __init__(self, period: int) -> None:
        _check_period("period", period, 2)
        self.period = period
        self.k = 2.0 / (period + 1)
        self._seed_total = 0.0
        self._seen = 0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        """Add one value; the EMA, or None before ``period`` values."""
        if self.value is not None:
            self.value = ((x - self.value) * self.k) + self.value
            return self.value
        self._seed_total += x
        self._seen += 1
        if self._seen == self.period:
            self.value = self._seed_total / self.period
        return self.value


class RSI:
    """Relative strength index with Wilder's smoothing (TA-Lib ``RSI``; lookback ``period``): the first output averages
    the gains and losses of the first ``period`` changes, then ``avg = (avg × (period − 1) + change) / period``;
    ``RSI = 100 × avg gain / (avg gain + avg loss)``, 0 when that sum is 0 (a flat series).

    Raises:
        ValueError: ``period`` < 2.
    """

    def __init__(self, period: int = 14) -> None:
        _check_period("period", period, 2)
        self.period = period
        self._prev: float | None = None
        self._changes = 0
        self._gain = 0.0
        self._loss = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        """Add one value; the RSI (0..100), or None before ``period + 1`` values."""
        prev, self._prev = self._prev, x
        if prev is None:
            return None
        change = x - prev
        n = self.period
        if self._changes < n:
            if change < 0:
                self._loss -= change
            else:
                self._gain += change
            self._changes += 1
            if self._changes < n:
                return None
            self._loss /= n
            self._gain /= n
        else:
            self._loss *= n - 1
            self._gain *= n - 1
            if change < 0:
                self._loss -= change
            else:
                self._gain += change
            self._loss /= n
            self._gain /= n
        total = self._gain + self._loss
        self.value = 100.0 * (self._gain / total) if total != 0.0 else 0.0
        return self.value


@dataclass(frozen=True, slots=True)
class Bands:
    """Bollinger bands: ``upper``, ``middle`` (the SMA), ``lower`` (price units)."""

    upper: float
    middle: float
    lower: float


class Bollinger:
    """Bollinger bands: SMA of ``period`` values ± ``k_up`` / ``k_down`` population standard deviations (TA-Lib
    ``BBANDS`` with ``matype=0``; lookback ``period - 1``). The middle band is TA-Lib's SMA arithmetic; the variance
    is taken around it over the window (two passes, ``period`` steps per value), which agrees with the TA-Lib build
    in use (its bands do not show the digits a running ``mean(x²) − mean(x)²`` loses at price levels).

    Raises:
        ValueError: ``period`` < 2.
    """

    def __init__(self, period: int = 20, k_up: float = 2.0, k_down: float = 2.0) -> None:
        _check_period("period", period, 2)
        self.period = period
        self.k_up, self.k_down = k_up, k_down
        self._sma = SMA(period)
        self._window: deque[float] = deque(maxlen=period)
        self.value: Bands | None = None

    def update(self, x: float) -> Bands | None:
        """Add one value; the bands, or None before ``period`` values."""
        mid = self._sma.update(x)
        self._window.append(x)
        if mid is None:
            return None
        var = sum((v - mid) * (v - mid) for v in self._window) / self.period
        std = math.sqrt(var) if var > 0.0 else 0.0
        self.value = Bands(mid + self.k_up * std, mid, mid - self.k_down * std)
        return self.value


@dataclass(frozen=True, slots=True)
class MacdValue:
    """MACD line (fast EMA − slow EMA), its ``signal`` EMA and the ``histogram`` (macd − signal), price units."""

    macd: float
    signal: float
    histogram: float


class MACD:
    """MACD (TA-Lib ``MACD``; lookback ``slow - 1 + signal - 1``). As in TA-Lib the fast EMA is seeded with the SMA
    of the ``fast`` values that end where the slow EMA's seed ends (not of the first ``fast`` values), and the signal
    EMA with the SMA of the first ``signal`` MACD values. TA-Lib swaps ``fast`` and ``slow`` when ``slow < fast``.

    Raises:
        ValueError: a period < 2.
    """

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        for name, period in (("fast", fast), ("slow", slow), ("signal", signal)):
            _check_period(name, period, 2)
        if slow < fast:
            fast, slow = slow, fast
        self.fast_period, self.slow_period, self.signal_period = fast, slow, signal
        self._slow = EMA(slow)
        self._fast = EMA(fast)
        self._signal = EMA(signal)
        self._head: deque[float] = deque(maxlen=fast)
        self._seen = 0
        self.value: MacdValue | None = None

    def update(self, x: float) -> MacdValue | None:
        """Add one value; the MACD triple, or None inside the lookback."""
        self._seen += 1
        slow = self._slow.update(x)
        if slow is None:
            self._head.append(x)  # the fast EMA's seed values: the last ``fast`` before and at the slow seed
            return None
        if self._fast.value is None:
            self._head.append(x)
            fast: float | None = None
            for v in self._head:
                fast = self._fast.update(v)
        else:
            fast = self._fast.update(x)
        assert fast is not None
        macd = fast - slow
        signal = self._signal.update(macd)
        if signal is None:
            return None
        self.value = MacdValue(macd, signal, macd - signal)
        return self.value
