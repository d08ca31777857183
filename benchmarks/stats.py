"""Latency statistics (sans-I/O): percentiles, summaries and compact CDFs over nanosecond samples.

Samples are kept in ``array('q')`` (nanoseconds) so millions of them cost no garbage-collector time while measuring.
Percentiles use the nearest-rank method on the sorted samples (p99.9 of 20,000 samples is the 19,980th smallest).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)


def new_samples() -> array[int]:
    """An empty sample buffer (signed 64-bit nanoseconds)."""
    return array("q")


def percentile(sorted_ns: Sequence[int], p: float) -> int:
    """Nearest-rank percentile of already sorted samples.

    Args:
        sorted_ns: samples in ascending order (ns).
        p: percentile in (0, 100].

    Raises:
        ValueError: no samples, or ``p`` outside (0, 100].
    """
    if not sorted_ns:
        raise ValueError("no samples")
    if not 0.0 < p <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    rank = math.ceil(p * len(sorted_ns) / 100.0 - 1e-9)  # the epsilon keeps 99.9% of 20,000 at 19,980
    return int(sorted_ns[max(rank, 1) - 1])


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Percentiles of one scenario, in microseconds.

    Attributes:
        count: number of samples.
        p50_us, p90_us, p99_us, p999_us: nearest-rank percentiles (µs).
        mean_us, min_us, max_us: plain statistics (µs).
    """

    count: int
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    mean_us: float
    min_us: float
    max_us: float

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarize(samples_ns: Sequence[int]) -> LatencySummary:
    """Summarize samples given in nanoseconds.

    Raises:
        ValueError: no samples.
    """
    s = sorted(samples_ns)
    if not s:
        raise ValueError("no samples")
    p50, p90, p99, p999 = (percentile(s, p) / 1e3 for p in PERCENTILES)
    return LatencySummary(
        count=len(s),
        p50_us=p50,
        p90_us=p90,
        p99_us=p99,
        p999_us=p999,
        mean_us=sum(s) / len(s) / 1e3,
        min_us=s[0] / 1e3,
        max_us=s[-1] / 1e3,
    )


def cdf_points(samples_ns: Sequence[int], points: int = 200) -> list[tuple[float, float]]:
    """A compact CDF: ``points`` (latency µs, cumulative fraction) pairs, denser in the tail.

    The fractions follow ``1 - 10**-x`` for evenly spaced ``x`` up to the last sample, so p99.9 and beyond keep detail.
    """
    s = sorted(samples_ns)
    n = len(s)
    if n == 0:
        return []
    top = math.log10(n)
    out: list[tuple[float, float]] = []
    last_idx = -1
    for i in range(points):
        frac = 1.0 - 10.0 ** (-top * i / (points - 1)) if points > 1 else 1.0
        idx = min(n - 1, max(0, math.ceil(frac * n) - 1))
        if idx != last_idx:
            out.append((round(s[idx] / 1e3, 3), round((idx + 1) / n, 6)))
            last_idx = idx
    if last_idx != n - 1:
        out.append((round(s[-1] / 1e3, 3), 1.0))
    return out


def ratio(value: float, floor: float) -> float | None:
    """``value / floor``, or None when the floor is unknown or zero."""
    if floor <= 0.0 or math.isnan(floor):
        return None
    return value / floor
