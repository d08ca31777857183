"""Portfolio tools: balances valued in USDT, positions and P&L from fills, trade export, risk metrics.

Tools (read scope): ``get_balances``, ``get_positions``, ``get_pnl``, ``get_risk_metrics``
(:mod:`.tools`), ``export_trades`` and the resource template ``trades://{exchange}/{symbol}.csv`` (:mod:`.export_tools`).
Each venue has a :class:`~.account.VenuePortfolio` (fills ledger fed by the account's user events, backfilled from
``myTrades``; see :mod:`.ledger` for the P&L method: average cost, fees included, realized on reductions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.portfolio.account import VenuePortfolio
from tradingmcp.server.portfolio.export_tools import register_export
from tradingmcp.server.portfolio.tools import register_tools
from tradingmcp.server.venues import Venues


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


def register_portfolio_tools(
    app: McpApp, hub: StreamHub, venues: Venues, config: PortfolioConfig | None = None
) -> dict[str, VenuePortfolio]:
    """Register the portfolio tools (read scope) for ``venues``; returns each venue's portfolio by name.

    Call before the venues' user buses start, so the ledgers see every account event.
    """
    config = config or PortfolioConfig()
    portfolios = {v.name: VenuePortfolio(v, config.backfill_limit, config.max_equity_samples) for v in venues}

    def portfolio_of(args: dict[str, Any]) -> VenuePortfolio:
        return portfolios[venues.for_args(args).name]

    register_tools(app, venues, portfolio_of)
    register_export(app, venues, portfolio_of, config.export_dir, config.export_max_rows)
    return portfolios


__all__ = ["PortfolioConfig", "VenuePortfolio", "default_export_dir", "register_portfolio_tools"]
