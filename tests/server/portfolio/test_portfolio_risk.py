"""Risk metrics and export paths on their own (sans-I/O)."""

from __future__ import annotations

import math
from decimal import Decimal as D
from pathlib import Path

import pytest

from tradingmcp.server.portfolio.export import ExportPathError, iso_utc, resolve_export_path
from tradingmcp.server.portfolio.risk import EquitySeries, exposures_from_balances, summarize


def test_equity_series_drawdown_and_volatility() -> None:
    eq = EquitySeries(max_samples=3)
    assert eq.volatility() is None and eq.current_drawdown == 0
    for t, v in enumerate(("100", "110", "99", "104.5")):
        eq.add(t, D(v))
    assert len(eq.samples) == 3 and eq.peak == D(110)  # ring dropped the first, the peak is kept
    assert eq.max_drawdown == D("0.1") and eq.current_drawdown == D("5.5") / 110
    rets = eq.returns()
    assert rets == pytest.approx([-0.1, 104.5 / 99 - 1])
    mean = sum(rets) / 2
    assert eq.volatility() == pytest.approx(math.sqrt(sum((r - mean) ** 2 for r in rets)))


def test_equity_series_merges_samples_closer_than_the_interval() -> None:
    eq = EquitySeries(min_interval_ms=1000)
    for t in (0, 2000, 2500, 2900, 3100):
        eq.add(t, D(t + 1))
    assert [s.time_ms for s in eq.samples] == [0, 2900, 3100]


def test_exposures_and_concentration() -> None:
    totals = {"USDT": D(500), "BTC": D("0.01"), "ETH": D(1), "XYZ": D(3)}
    exposures, cash, unpriced = exposures_from_balances(totals, {"BTC": D(50000), "ETH": D(300), "XYZ": None})
    assert [e.asset for e in exposures] == ["BTC", "ETH"] and cash == 500 and unpriced == ["XYZ"]
    s = summarize(exposures, cash)
    assert s.gross == s.net == D(800) and s.equity == D(1300)
    assert s.largest is not None and s.largest.symbol == "BTCUSDT"
    assert s.largest_share_of_exposure == D(500) / 800 and s.largest_share_of_equity == D(500) / 1300


def test_export_paths_stay_inside_the_directory(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    root.mkdir()
    assert resolve_export_path(root, "a/b.csv") == root.resolve() / "a" / "b.csv"
    assert resolve_export_path(root, str(root / "x.CSV")) == root.resolve() / "x.CSV"
    (root / "out").symlink_to(tmp_path)
    for bad in ("", "../x.csv", "a/../../x.csv", "/etc/passwd.csv", "out/x.csv", "x.txt", ".", "a\x00.csv"):
        with pytest.raises(ExportPathError):
            resolve_export_path(root, bad)
    assert iso_utc(1754654400123) == "2025-08-08T12:00:00.123Z"
