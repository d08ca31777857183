"""The read-only portfolio tools: ``get_balances``, ``get_positions``, ``get_pnl``, ``get_risk_metrics``.

Amounts are decimal strings; P&L amounts are rounded to 8 decimals; times are ms since the epoch. Per-symbol P&L is
in the symbol's quote asset (``quote_asset``); totals are in USDT (other quote assets converted at their current
USDT price; positions whose quote asset has no USDT price are left out of the totals and listed in
``unconverted``). The P&L method (average cost, fees included, realized on reductions) is described in
:mod:`tradingmcp.server.portfolio.ledger`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import Side
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolResult
from tradingmcp.server.portfolio.account import ValuedPosition, VenuePortfolio, now_ms
from tradingmcp.server.portfolio.export import q8
from tradingmcp.server.portfolio.ledger import ZERO
from tradingmcp.server.portfolio.risk import exposures_from_balances, summarize
from tradingmcp.server.portfolio.valuation import USDT, mark_prices
from tradingmcp.server.tools.shapes import balance_json, plain
from tradingmcp.server.tools.trading.schemas import SYMBOL_SCHEMA
from tradingmcp.server.venues import Venues

TIME_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 0, "description": "ms since the epoch"}
PortfolioOf = Callable[[dict[str, Any]], VenuePortfolio]


def opt(d: Decimal | None, fmt: Callable[[Decimal], str] = plain) -> str | None:
    return None if d is None else fmt(d)


async def symbols_for(p: VenuePortfolio, args: dict[str, Any]) -> list[str]:
    """The symbol named in ``args`` (checked against the exchange), or the portfolio's default symbols."""
    if args.get("symbol"):
        symbol = str(args["symbol"]).upper()
        await p.rules(symbol)
        return [symbol]
    return await p.default_symbols()


def position_json(v: ValuedPosition) -> dict[str, Any]:
    """``{symbol, base_asset, quote_asset, qty, avg_entry_price, cost_basis, mark_price, market_value,
    realized_pnl, unrealized_pnl, fees, fees_other, trade_count}`` (amounts in ``quote_asset``)."""
    s = v.state
    return {
        "symbol": s.symbol,
        "base_asset": s.base_asset,
        "quote_asset": s.quote_asset,
        "qty": plain(s.qty),
        "avg_entry_price": q8(s.avg_entry_price),
        "cost_basis": q8(s.cost_basis),
        "mark_price": opt(v.mark),
        "market_value": opt(None if v.mark is None else s.qty * v.mark, q8),
        "realized_pnl": q8(s.realized_pnl),
        "unrealized_pnl": opt(v.unrealized_pnl, q8),
        "fees": q8(s.fees),
        "fees_other": {a: plain(x) for a, x in s.fees_other.items()},
        "trade_count": s.trade_count,
    }


def usdt_totals(rows: list[tuple[ValuedPosition, dict[str, Decimal]]]) -> tuple[dict[str, str], list[str]]:
    """Sum each named amount over positions, converted to USDT; also the symbols that could not be converted."""
    sums: dict[str, Decimal] = {}
    unconverted = []
    for v, amounts in rows:
        if v.quote_usdt is None:
            unconverted.append(v.state.symbol)
            continue
        for name, amount in amounts.items():
            sums[name] = sums.get(name, ZERO) + amount * v.quote_usdt
    return {k: q8(x) for k, x in sums.items()}, unconverted


def register_tools(app: McpApp, venues: Venues, portfolio_of: PortfolioOf) -> None:
    """``get_balances``, ``get_positions``, ``get_pnl``, ``get_risk_metrics`` (read scope, read-only)."""

    async def get_balances(call: CallContext, args: dict[str, Any]) -> ToolResult:
        p = portfolio_of(args)
        valued = await p.valued_balances()
        total = sum((v.value_usdt for v in valued if v.value_usdt is not None), ZERO)
        rows = [
            {**balance_json(v.balance), "price_usdt": opt(v.price_usdt), "value_usdt": opt(v.value_usdt, q8)}
            for v in valued
        ]
        out = {
            "exchange": p.venue.name,
            "balances": rows,
            "total_value_usdt": q8(total),
            "unpriced": [v.balance.asset for v in valued if v.price_usdt is None],
        }
        lines = [f"{p.venue.name} balances, total {q8(total)} USDT:"]
        lines += [
            f"  {r['asset']}: {r['total']} (free {r['free']}, locked {r['locked']}) = {r['value_usdt']} USDT"
            for r in rows
        ]
        return ToolResult(out, "\n".join(lines))

    async def get_positions(call: CallContext, args: dict[str, Any]) -> ToolResult:
        p = portfolio_of(args)
        valued = await p.positions(await symbols_for(p, args))
        totals, unconverted = usdt_totals(
            [
                (
                    v,
                    {
                        "realized_pnl": v.state.realized_pnl,
                        "unrealized_pnl": v.unrealized_pnl or ZERO,
                        "fees": v.state.fees,
                    },
                )
                for v in valued
            ]
        )
        out: dict[str, Any] = {
            "exchange": p.venue.name,
            "quote_asset": USDT,
            "method": "average_cost",
            "positions": [position_json(v) for v in valued],
            "totals": {"realized_pnl": "0", "unrealized_pnl": "0", "fees": "0", **totals},
            "unconverted": unconverted,
        }
        lines = [f"{p.venue.name} positions (average cost, fees included):"]
        lines += [
            f"  {r['symbol']}: {r['qty']} @ {r['avg_entry_price']} mark {r['mark_price']} realized {r['realized_pnl']}"
            f" unrealized {r['unrealized_pnl']} fees {r['fees']}"
            for r in out["positions"]
        ] or ["  (no fills)"]
        t = out["totals"]
        lines.append(f"  total: realized {t['realized_pnl']} unrealized {t['unrealized_pnl']} fees {t['fees']} USDT")
        return ToolResult(out, "\n".join(lines))

    async def get_pnl(call: CallContext, args: dict[str, Any]) -> ToolResult:
        p = portfolio_of(args)
        start, end = args.get("start_ms"), args.get("end_ms")
        valued = await p.positions(await symbols_for(p, args))
        rows, per = [], []
        for v in valued:
            effects = [
                e
                for e in v.state.effects
                if (start is None or e.fill.time_ms >= start) and (end is None or e.fill.time_ms <= end)
            ]
            realized = sum((e.realized_pnl for e in effects), ZERO)
            fees = sum((e.fee_quote for e in effects), ZERO)
            volume = sum((e.fill.quote_qty for e in effects), ZERO)
            rows.append(
                (
                    v,
                    {
                        "realized_pnl": realized,
                        "fees": fees,
                        "volume": volume,
                        "unrealized_pnl": v.unrealized_pnl or ZERO,
                    },
                )
            )
            per.append(
                {
                    "symbol": v.state.symbol,
                    "quote_asset": v.state.quote_asset,
                    "realized_pnl": q8(realized),
                    "fees": q8(fees),
                    "trade_count": len(effects),
                    "volume": q8(volume),
                    "buy_qty": plain(sum((e.fill.qty for e in effects if e.side is Side.BUY), ZERO)),
                    "sell_qty": plain(sum((e.fill.qty for e in effects if e.side is Side.SELL), ZERO)),
                    "unrealized_pnl": opt(v.unrealized_pnl, q8),
                    "mark_price": opt(v.mark),
                    "position_qty": plain(v.state.qty),
                }
            )
        sums, unconverted = usdt_totals(rows)
        totals: dict[str, Any] = {"realized_pnl": "0", "fees": "0", "volume": "0", "unrealized_pnl": "0", **sums}
        totals["trade_count"] = sum(r["trade_count"] for r in per)
        out = {
            "exchange": p.venue.name,
            "quote_asset": USDT,
            "method": "average_cost",
            "start_ms": start,
            "end_ms": end,
            "symbols": per,
            "totals": totals,
            "unconverted": unconverted,
        }
        text = (
            f"{p.venue.name} P&L {start or 'start'}..{end or 'now'} (ms): realized {totals['realized_pnl']} USDT over "
            f"{totals['trade_count']} fills, fees {totals['fees']}, unrealized now {totals['unrealized_pnl']}"
        )
        return ToolResult(out, text)

    async def get_risk_metrics(call: CallContext, args: dict[str, Any]) -> ToolResult:
        p = portfolio_of(args)
        valued = await p.valued_balances()
        totals = {v.balance.asset: v.balance.total for v in valued}
        held = [v for v in valued if v.balance.asset != USDT and v.price_usdt is not None]
        marks = await mark_prices(p.adapter, [f"{v.balance.asset}{USDT}" for v in held])
        prices: dict[str, Decimal | None] = {
            v.balance.asset: marks.get(f"{v.balance.asset}{USDT}") or v.price_usdt for v in held
        }
        exposures, cash, unpriced = exposures_from_balances(totals, prices)
        s = summarize(exposures, cash)
        eq = p.equity
        vol = eq.volatility()
        samples = list(eq.samples)
        out: dict[str, Any] = {
            "exchange": p.venue.name,
            "quote_asset": USDT,
            "time_ms": now_ms(),
            "equity_usdt": q8(s.equity),
            "cash_usdt": q8(cash),
            "exposures": [
                {
                    "asset": e.asset,
                    "symbol": e.symbol,
                    "qty": plain(e.qty),
                    "mark_price": plain(e.mark),
                    "value_usdt": q8(e.value_usdt),
                    "share_of_equity": q8(e.value_usdt / s.equity) if s.equity > 0 else None,
                }
                for e in exposures
            ],
            "gross_exposure_usdt": q8(s.gross),
            "net_exposure_usdt": q8(s.net),
            "concentration": {
                "symbol": s.largest.symbol if s.largest else None,
                "share_of_exposure": q8(s.largest_share_of_exposure),
                "share_of_equity": q8(s.largest_share_of_equity),
            },
            "unpriced_assets": unpriced,
            "drawdown": {
                "current": q8(eq.current_drawdown),
                "max": q8(eq.max_drawdown),
                "peak_equity_usdt": opt(eq.peak, q8),
            },
            "volatility": {
                "per_sample_stdev": vol,
                "returns": max(0, len(samples) - 1),
                "span_ms": samples[-1].time_ms - samples[0].time_ms if samples else 0,
            },
            "equity_samples": [{"time_ms": x.time_ms, "equity_usdt": q8(x.equity)} for x in samples[-20:]],
        }
        c = out["concentration"]
        text = (
            f"{p.venue.name} risk: equity {out['equity_usdt']} USDT, gross {out['gross_exposure_usdt']}, net "
            f"{out['net_exposure_usdt']}; largest {c['symbol']} {c['share_of_equity']} of equity; drawdown "
            f"{out['drawdown']['current']} (max {out['drawdown']['max']}); volatility {vol}"
        )
        return ToolResult(out, text)

    exchange = venues.schema()
    plain_schema = {"type": "object", "properties": {"exchange": exchange}, "additionalProperties": False}
    sym_schema = {
        "type": "object",
        "properties": {"symbol": SYMBOL_SCHEMA, "exchange": exchange},
        "additionalProperties": False,
    }
    pnl_schema = {
        "type": "object",
        "properties": {"symbol": SYMBOL_SCHEMA, "start_ms": TIME_SCHEMA, "end_ms": TIME_SCHEMA, "exchange": exchange},
        "additionalProperties": False,
    }
    for name, desc, fn, schema in (
        (
            "get_balances",
            "Free and locked balance of every asset with its USDT value (last price; USDT = 1; "
            "null when unknown) and the total account value in USDT.",
            get_balances,
            plain_schema,
        ),
        (
            "get_positions",
            "Net position per symbol from our fills (average cost, fees included): quantity, "
            "fee-inclusive average entry, mark (mid) price, realized and unrealized P&L, fees; totals in USDT. Without "
            "a symbol: symbols with fills and those of held assets.",
            get_positions,
            sym_schema,
        ),
        (
            "get_pnl",
            "Realized P&L, fees, fill count and volume per symbol over a time range (start_ms..end_ms, "
            "fill times), plus the current unrealized P&L; totals in USDT.",
            get_pnl,
            pnl_schema,
        ),
        (
            "get_risk_metrics",
            "Exposure per asset (balance × mid price, USDT), gross/net exposure, concentration "
            "(largest share), drawdown of the sampled equity curve, and volatility of equity returns.",
            get_risk_metrics,
            plain_schema,
        ),
    ):
        app.add_tool(Tool(name, desc, fn, schema, scope="read", read_only=True, idempotent=True))
