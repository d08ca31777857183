"""The portfolio behind the portfolio tools (:mod:`tradingmcp.server.tools.portfolio`): balances valued in USDT,
positions and P&L from fills, risk metrics, trade export.

Each venue has a :class:`~.account.VenuePortfolio` (fills ledger fed by the account's user events, backfilled from
``myTrades``; see :mod:`.ledger` for the P&L method: average cost, fees included, realized on reductions).
:mod:`.valuation` prices assets in USDT, :mod:`.risk` computes the risk metrics, :mod:`.export` writes fills as CSV
inside the export directory; :class:`PortfolioConfig` holds their settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tradingmcp.server.portfolio.account import VenuePortfolio


def default_export_dir() -> Path:
    """``$TRADINGMCP_EXPORT_DIR`` or ``./exports`` (relative to the working directory)."""
    return Path(os.environ.get("TRADINGMCP_EXPORT_DIR", "exports"))


@dataclass(frozen=True)
class PortfolioConfig:
    """Portfolio settings.

    Attributes:
        export_dir: the only directory ``export_trades`` may write into.
        export_max_rows: rows per inline ``export_trades`` page.
        backfill_limit: fills fetched per symbol from ``myTrades`` on first use (Binance max 1000).
        max_equity_samples: equity-curve ring size.
    """

    export_dir: Path = field(default_factory=default_export_dir)
    export_max_rows: int = 500
    backfill_limit: int = 1000
    max_equity_samples: int = 10_000


__all__ = ["PortfolioConfig", "VenuePortfolio", "default_export_dir"]
