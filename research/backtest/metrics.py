"""Performance metrics of an equity curve and of a list of closed trades (pure functions, floats).

Definitions (``equity`` is the account value in the quote asset at evenly spaced samples, ``r_i = e_i / e_{i-1} − 1``
the simple return per sample, ``n`` the number of returns, ``periods_per_year`` samples per year):

- total return ``e_last / e_first − 1``; annualized ``(1 + total)^(year / span) − 1`` (None when the span is zero or
  the figure overflows: on a run of minutes it is a curiosity, not a forecast);
- Sharpe ``mean(r) / stdev(r) × √periods_per_year`` (sample standard deviation, ``n − 1``; risk-free rate 0);
- Sortino ``mean(r) / downside × √periods_per_year`` with ``downside = √(Σ min(r_i, 0)² / n)`` (target 0);
- max drawdown: the largest fall from a running peak, as a fraction of that peak (≥ 0) and in quote;
- VaR 95 % (historical): ``−q₀.₀₅(r)``, the loss per sample not exceeded in 95 % of samples (positive = a loss),
  ``q`` interpolated linearly between order statistics (numpy's default ``linear`` method);
- win rate and average trade over closed trades' net P&L (a trade wins when its P&L is > 0).

Sharpe, Sortino and VaR are None with fewer than two returns or no variation. References: Sharpe (1994) "The Sharpe
Ratio"; Sortino & Price (1994); Jorion, "Value at Risk" (historical simulation).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

YEAR_MS = 365 * 24 * 3600 * 1000
"""One year in ms (365 days) for annualizing."""


def returns(equity: Sequence[float]) -> list[float]:
    """Simple returns between consecutive samples (a sample at or below 0 ends the series: no return is defined)."""
    out = []
    for prev, cur in itertools.pairwise(equity):
        if prev <= 0:
            break
        out.append(cur / prev - 1.0)
    return out


def total_return(equity: Sequence[float]) -> float | None:
    """``e_last / e_first − 1`` (None for fewer than two samples or a first sample ≤ 0)."""
    if len(equity) < 2 or equity[0] <= 0:
        return None
    return equity[-1] / equity[0] - 1.0


def annualized(total: float | None, span_ms: int) -> float | None:
    """Compound ``total`` over a year (see the module docstring)."""
    if total is None or span_ms <= 0 or total <= -1:
        return None
    try:
        value = math.exp(math.log1p(total) * YEAR_MS / span_ms) - 1.0
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _mean_std(rs: Sequence[float]) -> tuple[float, float]:
    mean = math.fsum(rs) / len(rs)
    var = math.fsum((r - mean) ** 2 for r in rs) / (len(rs) - 1)
    return mean, math.sqrt(var)


def sharpe(rs: Sequence[float], periods_per_year: float) -> float | None:
    """Annualized Sharpe ratio of per-sample returns ``rs`` (risk-free 0)."""
    if len(rs) < 2:
        return None
    mean, std = _mean_std(rs)
    if std <= 0:
        return None
    return mean / std * math.sqrt(periods_per_year)


def sortino(rs: Sequence[float], periods_per_year: float) -> float | None:
    """Annualized Sortino ratio (target 0; downside deviation over all ``n`` returns)."""
    if len(rs) < 2:
        return None
    downside = math.sqrt(math.fsum(min(r, 0.0) ** 2 for r in rs) / len(rs))
    if downside <= 0:
        return None
    return math.fsum(rs) / len(rs) / downside * math.sqrt(periods_per_year)


def max_drawdown(equity: Sequence[float]) -> tuple[float, float]:
    """``(fraction of the peak, quote)`` of the largest fall from a running peak (both ≥ 0)."""
    peak = -math.inf
    worst_frac = worst_abs = 0.0
    for e in equity:
        peak = max(peak, e)
        fall = peak - e
        worst_abs = max(worst_abs, fall)
        if peak > 0 and fall / peak > worst_frac:
            worst_frac = fall / peak
    return worst_frac, worst_abs


def drawdown_curve(equity: Sequence[float]) -> list[float]:
    """Per sample, the fall from the running peak as a fraction of it (≥ 0)."""
    out, peak = [], -math.inf
    for e in equity:
        peak = max(peak, e)
        out.append((peak - e) / peak if peak > 0 else 0.0)
    return out


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between order statistics (numpy ``linear``).

    Raises:
        ValueError: empty ``values``.
    """
    if not values:
        raise ValueError("quantile of no values")
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def var_historical(rs: Sequence[float], level: float = 0.95) -> float | None:
    """Historical Value at Risk of one sample's return at ``level`` (positive = a loss)."""
    if len(rs) < 2:
        return None
    return -quantile(rs, 1.0 - level)


def trade_stats(pnls: Sequence[float]) -> dict[str, Any]:
    """``{trades, win_rate, avg_trade}`` of closed trades' net P&L (quote); None entries without trades."""
    if not pnls:
        return {"trades": 0, "win_rate": None, "avg_trade": None}
    wins = sum(1 for p in pnls if p > 0)
    return {"trades": len(pnls), "win_rate": wins / len(pnls), "avg_trade": math.fsum(pnls) / len(pnls)}
