"""Risk metrics (sans-I/O): an account's sampled equity curve, its drawdown and volatility, and exposure.

Equity is the account's total value in USDT (every balance × its USDT price, unpriced assets left out), sampled by
the portfolio at each fill (balance update) and at each portfolio tool call. Samples are irregular in time, so
volatility is the standard deviation of the simple returns between consecutive samples (not annualized), given with
the number of returns and the time span it covers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquitySample:
    """Account value ``equity`` (USDT) at ``time_ms`` (local clock, ms since the epoch)."""

    time_ms: int
    equity: Decimal


class EquitySeries:
    """The last ``max_samples`` equity samples (oldest dropped) and the all-time peak seen.

    Args:
        max_samples: ring size (≥ 2).
        min_interval_ms: a sample less than this after the time the last sample's interval began replaces the last
            sample instead of being appended (a burst of fills or calls does not flood the ring); the peak and the
            maximum drawdown still see every value.
    """

    def __init__(self, max_samples: int = 10_000, min_interval_ms: int = 0) -> None:
        if max_samples < 2:
            raise ValueError("max_samples must be at least 2")
        self.samples: deque[EquitySample] = deque(maxlen=max_samples)
        self.min_interval_ms = min_interval_ms
        self.peak: Decimal | None = None
        self.max_drawdown = ZERO
        self._anchor_ms = 0

    def add(self, time_ms: int, equity: Decimal) -> None:
        """Record the account value ``equity`` (USDT) at ``time_ms``."""
        sample = EquitySample(time_ms, equity)
        if self.samples and 0 <= time_ms - self._anchor_ms < self.min_interval_ms:
            self.samples[-1] = sample  # same interval as the last sample: latest value wins
        else:
            self.samples.append(sample)
            self._anchor_ms = time_ms
        if self.peak is None or equity > self.peak:
            self.peak = equity
        if self.peak > 0:
            self.max_drawdown = max(self.max_drawdown, (self.peak - equity) / self.peak)

    @property
    def current_drawdown(self) -> Decimal:
        """(peak − latest) / peak, 0 without samples."""
        if not self.samples or self.peak is None or self.peak <= 0:
            return ZERO
        return (self.peak - self.samples[-1].equity) / self.peak

    def returns(self) -> list[float]:
        """Simple returns between consecutive samples (samples with equity ≤ 0 skipped as a base)."""
        out: list[float] = []
        prev: Decimal | None = None
        for s in self.samples:
            if prev is not None and prev > 0:
                out.append(float(s.equity / prev - 1))
            prev = s.equity
        return out

    def volatility(self) -> float | None:
        """Sample standard deviation of :meth:`returns`; None with fewer than 2 returns."""
        rets = self.returns()
        if len(rets) < 2:
            return None
        mean = sum(rets) / len(rets)
        return math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))


@dataclass(frozen=True, slots=True)
class Exposure:
    """One asset's market exposure: ``qty`` held (base) valued at ``mark`` (USDT per unit) = ``value_usdt``."""

    asset: str
    symbol: str
    qty: Decimal
    mark: Decimal
    value_usdt: Decimal


@dataclass(frozen=True, slots=True)
class ExposureSummary:
    """Gross (Σ|value|) and net (Σ value) exposure in USDT, equity (exposure + cash), and the largest holding's
    share of gross exposure and of equity (0..1)."""

    gross: Decimal
    net: Decimal
    equity: Decimal
    largest: Exposure | None
    largest_share_of_exposure: Decimal
    largest_share_of_equity: Decimal


def summarize(exposures: list[Exposure], cash_usdt: Decimal) -> ExposureSummary:
    """Totals and concentration of ``exposures`` with ``cash_usdt`` (USDT held) counted in equity only."""
    gross = sum((abs(e.value_usdt) for e in exposures), ZERO)
    net = sum((e.value_usdt for e in exposures), ZERO)
    equity = net + cash_usdt
    largest = max(exposures, key=lambda e: abs(e.value_usdt), default=None)
    big = abs(largest.value_usdt) if largest is not None else ZERO
    return ExposureSummary(
        gross,
        net,
        equity,
        largest,
        big / gross if gross else ZERO,
        big / equity if equity > 0 else ZERO,
    )


def exposures_from_balances(
    totals: Mapping[str, Decimal], prices: Mapping[str, Decimal | None], quote: str = "USDT"
) -> tuple[list[Exposure], Decimal, list[str]]:
    """Split balances into priced exposures, ``quote`` cash and unpriced assets.

    Args:
        totals: asset → free + locked.
        prices: asset → USDT price (None = unknown).
        quote: the valuation asset (its balance is cash, not exposure).

    Returns:
        (exposures sorted by |value| descending, cash in ``quote``, assets without a price).
    """
    out, unpriced = [], []
    cash = ZERO
    for asset, qty in totals.items():
        if asset == quote:
            cash += qty
            continue
        price = prices.get(asset)
        if price is None:
            if qty:
                unpriced.append(asset)
            continue
        out.append(Exposure(asset, f"{asset}{quote}", qty, price, qty * price))
    out.sort(key=lambda e: abs(e.value_usdt), reverse=True)
    return out, cash, sorted(unpriced)
