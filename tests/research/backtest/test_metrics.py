"""The metrics on a crafted equity curve whose values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from tradingmcp.research.backtest import metrics

# returns +2 %, −2 %, +2 %, −1 %
EQUITY = [100.0, 102.0, 99.96, 101.9592, 100.939608]


def test_returns_are_the_crafted_ones() -> None:
    assert metrics.returns(EQUITY) == pytest.approx([0.02, -0.02, 0.02, -0.01], abs=1e-12)


def test_sharpe_by_hand() -> None:
    # mean 0.0025; deviations .0175 −.0225 .0175 −.0125 → Σ² = 0.001275, /3 → sd = √0.000425 = 0.0206155...
    rs = metrics.returns(EQUITY)
    assert metrics.sharpe(rs, 1) == pytest.approx(0.0025 / math.sqrt(0.000425), rel=1e-9)
    assert metrics.sharpe(rs, 4) == pytest.approx(2 * 0.0025 / math.sqrt(0.000425), rel=1e-9)  # × √4


def test_sortino_by_hand() -> None:
    # downside √((0.02² + 0.01²) / 4) = √0.000125; 0.0025 / √0.000125 = 1/√20
    assert metrics.sortino(metrics.returns(EQUITY), 1) == pytest.approx(1 / math.sqrt(20), rel=1e-9)


def test_max_drawdown_by_hand() -> None:
    # peak 102 → 99.96: −2.04 (2 %); later 102 → 100.939608 is only −1.04 %
    frac, quote = metrics.max_drawdown(EQUITY)
    assert frac == pytest.approx(0.02, rel=1e-12)
    assert quote == pytest.approx(2.04, rel=1e-12)
    assert metrics.drawdown_curve(EQUITY) == pytest.approx([0, 0, 0.02, 0.0004, 1.060392 / 102], abs=1e-12)


def test_var_95_historical_by_hand() -> None:
    # sorted −.02 −.01 .02 .02; position 3 × 0.05 = 0.15 → −0.02 + 0.15 × 0.01 = −0.0185
    assert metrics.var_historical(metrics.returns(EQUITY)) == pytest.approx(0.0185, rel=1e-12)


def test_total_and_annualized_return() -> None:
    total = metrics.total_return(EQUITY)
    assert total == pytest.approx(0.00939608, rel=1e-12)
    # half a year: (1.00939608)² − 1
    assert metrics.annualized(total, metrics.YEAR_MS // 2) == pytest.approx(1.00939608**2 - 1, rel=1e-9)
    assert metrics.annualized(total, 0) is None
    assert metrics.annualized(5.0, 1) is None  # overflows: None, not inf


def test_degenerate_series() -> None:
    assert metrics.sharpe([0.01], 1) is None
    assert metrics.sharpe([0.01, 0.01], 1) is None  # no variation
    assert metrics.sortino([0.01, 0.02], 1) is None  # no downside
    assert metrics.var_historical([]) is None
    assert metrics.total_return([100.0]) is None
    assert metrics.max_drawdown([100.0, 101.0, 102.0]) == (0.0, 0.0)


def test_trade_stats() -> None:
    stats = metrics.trade_stats([1.0, -2.0, 3.0])
    assert stats == {"trades": 3, "win_rate": pytest.approx(2 / 3), "avg_trade": pytest.approx(2 / 3)}
    assert metrics.trade_stats([]) == {"trades": 0, "win_rate": None, "avg_trade": None}
