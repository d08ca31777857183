"""A backtest's report: the metrics of :mod:`.metrics` on the bot's equity samples and fills, ``report.json``,
``fills.jsonl``, ``equity.png`` / ``drawdown.png`` (matplotlib, Agg) and a terminal table (rich).

Money is in the quote asset. The equity curve is ``capital + net P&L`` at the bot's own equity samples
(:meth:`~tradingmcp.client.bot.core.BotCore.sample`, at least ``report.equity_sample_ms`` of exchange time apart, on
the next market message; Sharpe and Sortino are annualized with the samples' mean spacing), where
``capital`` is the account's starting quote balance and net P&L is the bot's ledger (:mod:`tradingmcp.client.bot.ledger`:
realized + unrealized − fees, from its own fills). A *trade* is a fill that reduces the position; its P&L is the
realized P&L it books minus its fee. Turnover is traded volume / capital.

A run on several venues (the ``arbitrage`` strategy) adds ``venues``: per venue its fills, traded volume, price
offset and account balances (the top-level balances and the capital are their sums), and ``notes`` when it made no
fill, saying why. A run with replayed alerts (``--alerts``) adds ``alerts``: read, delivered to the bot, accepted by its
``signals`` strategy, ignored by reason.

Both written files are deterministic: no wall time, keys sorted, floats rounded to 10 significant digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.client.bot.actions import plain
from tradingmcp.client.bot.alerts import AlertStrategy
from tradingmcp.client.bot.ledger import Position
from tradingmcp.research.backtest import metrics
from tradingmcp.research.backtest.settings import BacktestResult

ROUND_DIGITS = 10


@dataclass(frozen=True)
class RunInfo:
    """What the report says about the run: strategy kind, symbols, data source and files, the requested window
    (epoch ms or None), replay parameters and the config overrides (``--set`` / grid point); the MEXC venue's price
    offset (bps) and the alerts file's name and number of alerts (None: no alerts replayed)."""

    strategy: str
    symbols: tuple[str, ...]
    source: str
    files: tuple[str, ...]
    from_ms: int | None
    to_ms: int | None
    latency_ms: float
    turn_us: float
    maker_fee: Decimal
    taker_fee: Decimal
    overrides: Mapping[str, Any]
    mexc_offset_bps: float = 0.0
    alerts_file: str | None = None
    alerts_read: int = 0


def _r(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{ROUND_DIGITS}g}")


def closed_trade_pnls(fills: Sequence[Mapping[str, Any]], base_assets: Mapping[str, str], quote: str) -> list[float]:
    """Net P&L (quote) of every fill that reduced its symbol's position, in fill order (see the module docstring)."""
    positions: dict[str, Position] = {}
    out: list[float] = []
    for f in fills:
        symbol = f["symbol"]
        pos = positions.get(symbol)
        if pos is None:
            pos = positions[symbol] = Position(symbol, base_assets.get(symbol, symbol.removesuffix(quote)), quote)
        before_pos, before_real, before_fees = pos.position, pos.realized_pnl, pos.fees
        pos.apply_fill(
            f["side"], Decimal(f["price"]), Decimal(f["qty"]), Decimal(f.get("commission") or 0),
            str(f.get("commission_asset") or ""),
        )  # fmt: skip
        if (before_pos != 0 and abs(pos.position) < abs(before_pos)) or (before_pos * pos.position < 0):
            out.append(float((pos.realized_pnl - before_real) - (pos.fees - before_fees)))
    return out


def equity_series(result: BacktestResult, capital: Decimal) -> tuple[list[int], list[float]]:
    """``(times ms, equity)`` of the run's equity samples."""
    pts = result.core.equity
    return [p.time_ms for p in pts], [float(capital + p.net_pnl) for p in pts]


def build_report(result: BacktestResult, info: RunInfo) -> dict[str, Any]:
    """The report dict (JSON-ready; see the module docstring)."""
    core = result.core
    quote = core.config.quote_asset
    capital = result.start_balances.get(quote, Decimal(0))
    times, equity = equity_series(result, capital)
    rs = metrics.returns(equity)
    span_ms = times[-1] - times[0] if len(times) > 1 else 0
    mean_step_ms = span_ms / (len(times) - 1) if span_ms > 0 else 0.0
    periods = metrics.YEAR_MS / mean_step_ms if mean_step_ms > 0 else 0.0
    total = metrics.total_return(equity)
    dd_frac, dd_abs = metrics.max_drawdown(equity)
    totals = core.ledger.totals(core.marks())
    base_assets = {s: p.base_asset for s, p in core.ledger.positions.items()}
    trades = metrics.trade_stats(closed_trade_pnls(core.ledger.fills, base_assets, quote))
    volume = sum((p.volume_quote for p in core.ledger.positions.values()), Decimal(0))
    tracker = core.tracker
    report: dict[str, Any] = {
        "strategy": info.strategy,
        "symbols": list(info.symbols),
        "data": {"source": info.source, "files": list(info.files)},
        "window": {
            "from_ms": info.from_ms,
            "to_ms": info.to_ms,
            "first_ms": result.first_ms,
            "last_ms": result.last_ms,
            "span_s": _r(span_ms / 1000),
        },
        "params": {
            "latency_ms": info.latency_ms,
            "turn_us": info.turn_us,
            "maker_fee": plain(info.maker_fee),
            "taker_fee": plain(info.taker_fee),
            "capital_quote": plain(capital),
            "equity_sample_ms": core.config.report.equity_sample_ms,
            "mean_sample_ms": _r(mean_step_ms),
            "overrides": dict(info.overrides),
        },
        "metrics": {
            "total_return": _r(total),
            "annualized_return": _r(metrics.annualized(total, span_ms)),
            "sharpe": _r(metrics.sharpe(rs, periods)),
            "sortino": _r(metrics.sortino(rs, periods)),
            "max_drawdown": _r(dd_frac),
            "max_drawdown_quote": _r(dd_abs),
            "var_95": _r(metrics.var_historical(rs)),
            "win_rate": _r(trades["win_rate"]),
            "avg_trade_quote": _r(trades["avg_trade"]),
            "trades": trades["trades"],
            "turnover": _r(float(volume / capital) if capital > 0 else None),
            "volume_quote": plain(volume.quantize(Decimal("1e-8"))),
            "fees_quote": plain(totals["fees"].quantize(Decimal("1e-8"))),
            "fills": len(core.ledger.fills),
            "net_pnl_quote": plain(totals["net_pnl"].quantize(Decimal("1e-8"))),
            "realized_pnl_quote": plain(totals["realized_pnl"].quantize(Decimal("1e-8"))),
            "unrealized_pnl_quote": plain(totals["unrealized_pnl"].quantize(Decimal("1e-8"))),
        },
        "orders": {
            "actions": result.actions,
            "placed": tracker.placed,
            "rejected": tracker.rejected,
            "errors": dict(sorted(core.errors.items())),
            "risk_halted": core.risk.halted,
        },
        "positions": {s: plain(p.position) for s, p in sorted(core.ledger.positions.items())},
        "balances": {
            "start": {a: plain(v) for a, v in result.start_balances.items()},
            "end": {a: plain(v) for a, v in result.end_balances.items()},
        },
        "events": {
            "market_events": result.market_events,
            "bot_messages": result.bot_messages,
            "conflated": result.conflated,
        },
        "equity_samples": len(equity),
    }
    return report | _venues(result, info) | _alerts(result, info)


def _venues(result: BacktestResult, info: RunInfo) -> dict[str, Any]:
    """``venues`` (and ``notes`` without a fill) of a run on several venues; {} for one venue."""
    if not result.venue_balances:
        return {}
    fills = result.core.ledger.fills
    home = result.core.config.connection.exchange
    out: dict[str, Any] = {}
    for venue, (start, end) in result.venue_balances.items():
        mine = [f for f in fills if (f.get("exchange") or home) == venue]
        volume = sum((Decimal(f["price"]) * Decimal(f["qty"]) for f in mine), Decimal(0))
        out[venue] = {
            "fills": len(mine),
            "volume_quote": plain(volume.quantize(Decimal("1e-8"))),
            "price_offset_bps": info.mexc_offset_bps if venue == "mexc" and venue != home else 0.0,
            "balances": {
                "start": {a: plain(v) for a, v in start.items()},
                "end": {a: plain(v) for a, v in end.items()},
            },
        }
    extra: dict[str, Any] = {"venues": out}
    if not fills:
        why = (
            "both venues replay the same prices (mexc_offset_bps 0), so no pair clears min_edge_bps after both "
            "taker fees; move the MEXC venue with --mexc-offset-bps"
            if not info.mexc_offset_bps
            else f"no pair cleared min_edge_bps after both taker fees at a {info.mexc_offset_bps:g} bps offset"
        )
        extra["notes"] = [f"no fills: {why}"]
    return extra


def _alerts(result: BacktestResult, info: RunInfo) -> dict[str, Any]:
    """``alerts`` of a run with replayed alerts; {} without."""
    if info.alerts_file is None:
        return {}
    accepted, ignored = 0, dict[str, int]()
    for strategy in result.core.strategies.values():
        if isinstance(strategy, AlertStrategy):
            accepted += strategy.accepted
            for reason, n in strategy.ignored.items():
                ignored[reason] = ignored.get(reason, 0) + n
    if result.core.alerts_ignored:
        ignored["not_traded_on_alerts"] = result.core.alerts_ignored
    return {
        "alerts": {
            "file": info.alerts_file,
            "read": info.alerts_read,
            "delivered": result.alerts_delivered,
            "accepted": accepted,
            "ignored": dict(sorted(ignored.items())),
        }
    }


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def write_outputs(result: BacktestResult, report: dict[str, Any], out_dir: Path, plots: bool = True) -> dict[str, Path]:
    """Write ``report.json``, ``fills.jsonl`` (one fill a line, keys sorted) and, with ``plots``, ``equity.png`` and
    ``drawdown.png`` under ``out_dir`` (created). Returns name → path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "fills": out_dir / "fills.jsonl"}
    paths["json"].write_bytes(_dumps(report) + b"\n")
    paths["fills"].write_bytes(
        b"".join(orjson.dumps(f, option=orjson.OPT_SORT_KEYS) + b"\n" for f in result.core.ledger.fills)
    )
    if plots:
        capital = Decimal(report["params"]["capital_quote"])
        times, equity = equity_series(result, capital)
        gross = [float(capital + p.net_pnl + p.fees) for p in result.core.equity]
        paths["equity_png"] = out_dir / "equity.png"
        paths["drawdown_png"] = out_dir / "drawdown.png"
        plot_curves(times, equity, paths["equity_png"], paths["drawdown_png"], title=_title(report), gross=gross)
    return paths


def _title(report: Mapping[str, Any]) -> str:
    return f"{report['strategy']} on {','.join(report['symbols'])} ({report['data']['source']})"


def plot_curves(
    times: Sequence[int],
    equity: Sequence[float],
    equity_path: Path,
    dd_path: Path,
    title: str,
    gross: Sequence[float] | None = None,
) -> None:
    """Equity (quote) and drawdown (% of the running peak) over exchange time (minutes from the first sample);
    ``gross``: the equity before fees, drawn dotted on the equity plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = times[0] if times else 0
    xs = [(t - t0) / 60_000 for t in times]
    for path, ys, label, color in (
        (equity_path, list(equity), "equity (quote)", "tab:blue"),
        (dd_path, [-100 * d for d in metrics.drawdown_curve(equity)], "drawdown (% of peak)", "tab:red"),
    ):
        fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
        ax.plot(xs, ys, color=color, lw=1.0, label=label)
        if path == equity_path and gross:
            ax.plot(xs, list(gross), color=color, lw=1.0, ls=":", label="before fees")
            ax.legend(fontsize=8, loc="best")
        if path == dd_path:
            ax.fill_between(xs, ys, 0, color=color, alpha=0.25)
        ax.set_xlabel("exchange time (min)")
        ax.set_ylabel(label)
        ax.set_title(f"{label.split(' ')[0].capitalize()}: {title}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)


SUMMARY = (
    ("total_return", "total return", "pct"),
    ("annualized_return", "annualized return", "pct"),
    ("sharpe", "Sharpe (annualized)", "num"),
    ("sortino", "Sortino (annualized)", "num"),
    ("max_drawdown", "max drawdown", "pct"),
    ("var_95", "VaR 95 % (per sample)", "pct"),
    ("win_rate", "win rate", "pct"),
    ("avg_trade_quote", "average trade (quote)", "num"),
    ("trades", "closed trades", "int"),
    ("turnover", "turnover (× capital)", "num"),
    ("fees_quote", "fees (quote)", "str"),
    ("net_pnl_quote", "net P&L (quote)", "str"),
    ("fills", "fills", "int"),
)
"""Rows of the terminal table: metric key, label, format."""


def fmt_metric(value: Any, kind: str) -> str:
    """One metric for display (``—`` for None)."""
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.4g} %"
    if kind == "num":
        return f"{value:.4g}"
    return str(value)


def summary_rows(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of the report's headline metrics."""
    m = report["metrics"]
    return [(label, fmt_metric(m.get(key), kind)) for key, label, kind in SUMMARY]


def render_table(report: Mapping[str, Any]) -> Any:
    """A rich Table of the headline metrics."""
    from rich.table import Table

    table = Table(title=f"Backtest: {_title(report)}, {report['window']['span_s']} s")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in summary_rows(report):
        table.add_row(label, value)
    return table


def markdown_table(report: Mapping[str, Any]) -> str:
    """The headline metrics as a Markdown table (for the README)."""
    lines = ["| metric | value |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in summary_rows(report)]
    return "\n".join(lines)
