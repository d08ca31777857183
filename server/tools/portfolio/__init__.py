"""The portfolio tool family (read scope), over the per-venue portfolios of :mod:`tradingmcp.server.portfolio`.

* :mod:`.reports`: ``get_balances``, ``get_positions``, ``get_pnl``, ``get_risk_metrics``;
* :mod:`.export`: ``export_trades`` and the resource template ``trades://{exchange}/{symbol}.csv``.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.portfolio import PortfolioConfig, VenuePortfolio
from tradingmcp.server.tools.portfolio.export import register_export
from tradingmcp.server.tools.portfolio.reports import register_tools
from tradingmcp.server.venues import Venues


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


__all__ = ["register_portfolio_tools"]
