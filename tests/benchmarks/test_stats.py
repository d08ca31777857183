"""The sans-I/O parts of the benchmark: percentiles, CDFs, round splitting, fan-out spreading."""

from __future__ import annotations

import pytest

from tradingmcp.benchmarks.fanout import paced_interval_s, spread
from tradingmcp.benchmarks.latency import rotation, split_calls
from tradingmcp.benchmarks.stats import cdf_points, percentile, ratio, summarize


def test_percentile_nearest_rank() -> None:
    s = list(range(1, 20_001))  # 1..20000 ns
    assert percentile(s, 50) == 10_000
    assert percentile(s, 99) == 19_800
    assert percentile(s, 99.9) == 19_980
    assert percentile(s, 100) == 20_000
    assert percentile([7], 50) == 7
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile(s, 0)


def test_summary_in_microseconds() -> None:
    summary = summarize([3_000, 1_000, 2_000, 4_000])  # ns, unsorted
    assert summary.count == 4
    assert summary.p50_us == 2.0
    assert summary.p999_us == 4.0
    assert summary.min_us == 1.0 and summary.max_us == 4.0
    assert summary.mean_us == 2.5
    with pytest.raises(ValueError):
        summarize([])


def test_cdf_is_monotonic_and_reaches_the_tail() -> None:
    pts = cdf_points(list(range(1_000, 1_001_000, 1_000)), points=50)  # 1000 samples, 1..1000 µs
    xs = [x for x, _ in pts]
    fs = [f for _, f in pts]
    assert xs == sorted(xs) and fs == sorted(fs)
    assert fs[-1] == 1.0 and xs[-1] == 1000.0
    assert any(0.99 <= f < 1.0 for f in fs)  # tail detail kept
    assert cdf_points([]) == []


def test_round_split_and_rotation() -> None:
    assert [split_calls(10, 3, r) for r in range(3)] == [4, 3, 3]
    assert sum(split_calls(20_000, 7, r) for r in range(7)) == 20_000
    assert rotation(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert rotation(["a", "b", "c"], 3) == ["a", "b", "c"]
    assert rotation([], 2) == []


def test_fanout_spread_and_pacing() -> None:
    assert spread(1000, 3) == [334, 333, 333]
    assert spread(1, 2) == [1, 0]
    assert paced_interval_s(1, 20_000) == pytest.approx(1 / 1000)  # capped at 1000 publishes/s
    assert paced_interval_s(100, 20_000) == pytest.approx(1 / 200)
    assert paced_interval_s(10_000, 20_000) == pytest.approx(1 / 10)  # floor of 10 publishes/s
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(1.0, 0.0) is None
