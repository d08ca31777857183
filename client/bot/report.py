"""The end report of a bot run: ``report.json`` + ``report.txt`` and two PNG plots (matplotlib, Agg backend).

Contents (money in the quote asset, quantities in the base asset, latencies in µs, times in ms):

- ``pnl``: realized, unrealized, fees, net (from the bot's fills, see :mod:`.ledger`) and ``check``: the same net P&L
  from the account's balances (``Δquote + Σ Δbase × mark``) and their difference (0 when consistent);
- ``symbols``: per symbol fills, bought/sold quantity, volume, position, average entry, mark, P&L components;
- ``risk``: max drawdown of the net P&L curve (absolute and as a share of the starting portfolio value), Sharpe ratio of
  per-minute returns (exchange-time minutes; ``sharpe_per_minute`` = mean / standard deviation, and annualized ×√525600);
- ``orders``: placed (new + replacements), fill ratio (orders with at least one fill / orders placed), rejects,
  duplicates, errors by code, bot-side risk refusals;
- ``latency``: percentiles of tick received → decision, decision → order acknowledged, tick → acknowledged;
- ``reconciles``: one entry per reconcile; ``trades``: every fill;
- ``run.alerts`` (``signals`` strategies only, else None): per symbol the alerts taken and ignored (by reason) and the
  target position.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tradingmcp.client.bot.actions import EquityPoint, LatencySample, plain
from tradingmcp.client.bot.alerts import AlertStrategy
from tradingmcp.research.runs import RunRecorder

if TYPE_CHECKING:
    from tradingmcp.client.bot.runner import BotRunner

PCTS = (50.0, 90.0, 99.0)


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """``{count, p50, p90, p99, max, mean}`` (nearest rank) of ``values``; None entries when empty."""
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    s = sorted(values)
    out: dict[str, float | int | None] = {"count": len(s)}
    for p in PCTS:
        rank = max(1, math.ceil(p * len(s) / 100 - 1e-9))
        out[f"p{p:g}"] = round(s[rank - 1], 1)
    out["max"] = round(s[-1], 1)
    out["mean"] = round(sum(s) / len(s), 1)
    return out


def latency_summary(samples: list[LatencySample]) -> dict[str, Any]:
    """Percentiles (µs) of the three spans of every acknowledged order action."""
    return {
        "tick_to_decision_us": percentiles([x.tick_to_decision_us for x in samples]),
        "decision_to_ack_us": percentiles([x.decision_to_ack_us for x in samples]),
        "tick_to_ack_us": percentiles([x.tick_to_ack_us for x in samples]),
    }


def drawdown(points: list[EquityPoint]) -> Decimal:
    """Largest fall of the net P&L from a previous peak (quote, ≥ 0)."""
    peak, worst = Decimal(0), Decimal(0)
    for p in points:
        peak = max(peak, p.net_pnl)
        worst = max(worst, peak - p.net_pnl)
    return worst


def minute_returns(points: list[EquityPoint], capital: Decimal) -> list[float]:
    """Returns per exchange-time minute: change of the net P&L over each minute / ``capital``."""
    if capital <= 0 or not points:
        return []
    last_by_minute: dict[int, Decimal] = {}
    for p in points:
        last_by_minute[p.time_ms // 60_000] = p.net_pnl
    prev = Decimal(0)
    out = []
    for minute in sorted(last_by_minute):
        out.append(float((last_by_minute[minute] - prev) / capital))
        prev = last_by_minute[minute]
    return out


def sharpe(returns: list[float]) -> float | None:
    """mean / sample standard deviation (None with fewer than 2 returns or no variation)."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return mean / math.sqrt(var) if var > 0 else None


def _q(d: Decimal) -> Decimal:
    """Realized/unrealized shown to 1e-10 (the average-cost split divides; ``net_pnl`` itself is exact)."""
    return d.quantize(Decimal("1e-10"))


def build_report(runner: BotRunner) -> dict[str, Any]:
    """The report of a finished run (call after :meth:`BotRunner.finish`)."""
    core = runner.core
    marks = core.marks()
    totals = core.ledger.totals(marks)
    quote = runner.config.quote_asset
    capital = runner.start_balances.get(quote, Decimal(0))
    for pos in core.ledger.positions.values():
        mark = marks.get(pos.symbol)
        if mark is not None:
            capital += runner.start_balances.get(pos.base_asset, Decimal(0)) * mark
    symbols = {}
    for sym, pos in core.ledger.positions.items():
        mark = marks.get(sym)
        avg = pos.avg_entry_price()
        symbols[sym] = {
            "fills": pos.fills,
            "bought_qty": plain(pos.buy_qty),
            "sold_qty": plain(pos.sell_qty),
            "volume_quote": plain(pos.volume_quote),
            "position": plain(pos.position),
            "avg_entry_price": plain(avg.quantize(Decimal("1e-8"))) if avg is not None else None,
            "mark_price": plain(mark) if mark is not None else None,
            "realized_pnl": plain(_q(pos.realized_pnl)),
            "unrealized_pnl": plain(_q(pos.unrealized_pnl(mark))),
            "fees": plain(pos.fees),
            "net_pnl": plain(pos.net_pnl(mark)),
            "last_trade_ema": core.markets[sym].ema,
        }
    balance_pnl = runner.balance_pnl()
    tracker = core.tracker
    filled_orders = sum(1 for o in tracker.orders.values() if o.executed_qty > 0)
    placed = tracker.placed
    returns = minute_returns(core.equity, capital)
    sr = sharpe(returns)
    dd = drawdown(core.equity)
    return {
        "run": {
            "started": runner.started_wall_s,
            "ended": runner.ended_wall_s,
            "duration_s": round(runner.ended_wall_s - runner.started_wall_s, 3),
            "exchange": runner.exchange,
            "url": runner.config.connection.url,
            "symbols": [s.symbol for s in runner.config.symbols],
            "strategies": {s.symbol: s.strategy.kind for s in runner.config.symbols},
            "market_time_ms": [core.equity[0].time_ms, core.equity[-1].time_ms] if core.equity else None,
            "notifications": runner.notifications,
            "market_updates": core.ticks,
            "decisions": core.decisions,
            "order_events": core.events,
            "reconnects": runner.client.reconnects if runner.client is not None else 0,
            "streams": runner.stream_totals(),
            "halted": core.risk.halted,
            "alerts": _alerts(runner),
        },
        "pnl": {
            "quote_asset": quote,
            "realized_pnl": plain(_q(totals["realized_pnl"])),
            "unrealized_pnl": plain(_q(totals["unrealized_pnl"])),
            "fees": plain(totals["fees"]),
            "net_pnl": plain(totals["net_pnl"]),
            "check": {
                "balance_pnl": plain(balance_pnl) if balance_pnl is not None else None,
                "difference": plain(totals["net_pnl"] - balance_pnl) if balance_pnl is not None else None,
                "start_balances": {a: plain(v) for a, v in sorted(runner.start_balances.items())},
                "end_balances": {a: plain(v) for a, v in sorted(runner.end_balances.items())},
            },
        },
        "symbols": symbols,
        "risk": {
            "starting_value_quote": plain(capital.quantize(Decimal("1e-8"))),
            "max_drawdown_quote": plain(dd),
            "max_drawdown_pct": float(dd / capital * 100) if capital > 0 else None,
            "minute_returns": returns,
            "sharpe_per_minute": sr,
            "sharpe_annualized": sr * math.sqrt(525_600) if sr is not None else None,
        },
        "orders": {
            "placed": placed,
            "filled_orders": filled_orders,
            "fill_ratio": round(filled_orders / placed, 4) if placed else None,
            "rejected": tracker.rejected,
            "duplicates": tracker.duplicates,
            "errors": dict(core.errors),
            "error_examples": dict(core.error_samples),
            "risk_refusals": dict(core.risk.refusals),
            "open_at_end": len(tracker.live_orders()),
        },
        "latency": latency_summary(core.latencies),
        "reconciles": [vars(r) for r in runner.reconciles],
        "trades": core.ledger.fills,
    }


def _alerts(runner: BotRunner) -> dict[str, Any] | None:
    """What the ``signals`` strategies made of the alerts (None without one): per symbol the alerts ``accepted``, those
    ``ignored`` by reason, the ``target`` position (base asset) and the ``last_alert_id``; ``not_routed``: alerts of a
    symbol no ``signals`` strategy trades."""
    out: dict[str, Any] = {}
    for sym, strategy in runner.core.strategies.items():
        if isinstance(strategy, AlertStrategy):
            out[sym] = {
                "accepted": strategy.accepted,
                "ignored": dict(strategy.ignored),
                "target": plain(strategy.target_position),
                "last_alert_id": strategy.last.alert_id if strategy.last is not None else None,
            }
    if not out:
        return None
    return {"symbols": out, "not_routed": runner.core.alerts_ignored}


def text_report(report: dict[str, Any]) -> str:
    """A short human summary of :func:`build_report`'s dict."""
    run, pnl, risk, orders, lat = report["run"], report["pnl"], report["risk"], report["orders"], report["latency"]
    q = pnl["quote_asset"]
    lines = [
        f"TradingMCP reference bot — {', '.join(run['symbols'])} on {run['exchange']} ({run['url']})",
        f"  ran {run['duration_s']} s, {run['market_updates']} market updates, {run['decisions']} decisions, "
        f"{run['reconnects']} reconnects{', HALTED: ' + run['halted'] if run['halted'] else ''}",
        f"  streams: {run['streams']['received']} messages, {run['streams']['lost']} lost, "
        f"{run['streams']['resumes']} resumes ({run['streams']['refused']} refused)",
        f"  P&L ({q}): net {pnl['net_pnl']} = realized {pnl['realized_pnl']} + unrealized {pnl['unrealized_pnl']} "
        f"- fees {pnl['fees']}",
        f"  check: P&L from balances {pnl['check']['balance_pnl']} (difference {pnl['check']['difference']})",
    ]
    alerts = run.get("alerts")
    if alerts:
        for sym, a in alerts["symbols"].items():
            ignored = ", ".join(f"{n} {why}" for why, n in sorted(a["ignored"].items())) or "none"
            lines.append(f"  alerts {sym}: {a['accepted']} taken (target {a['target']}), ignored: {ignored}")
        if alerts["not_routed"]:
            lines.append(f"  alerts of untraded symbols: {alerts['not_routed']}")
    for sym, s in report["symbols"].items():
        lines.append(
            f"  {sym}: {s['fills']} fills, bought {s['bought_qty']} sold {s['sold_qty']}, position {s['position']} "
            f"@ avg {s['avg_entry_price']} (mark {s['mark_price']}), net {s['net_pnl']}"
        )
    sr, sra = risk["sharpe_per_minute"], risk["sharpe_annualized"]
    sharpe_text = "n/a" if sr is None else f"{sr:.3f} (annualized {sra:.1f})"
    lines += [
        f"  max drawdown {risk['max_drawdown_quote']} {q}; Sharpe of per-minute returns {sharpe_text}",
        f"  orders: {orders['placed']} placed, {orders['filled_orders']} filled (fill ratio {orders['fill_ratio']}), "
        f"{orders['rejected']} rejected, {orders['duplicates']} duplicates, errors {orders['errors'] or 'none'}",
    ]
    for name, key in (("tick→decision", "tick_to_decision_us"), ("decision→ack", "decision_to_ack_us"),
                      ("tick→ack", "tick_to_ack_us")):  # fmt: skip
        p = lat[key]
        lines.append(f"  latency {name:14s} p50 {p['p50']} µs  p90 {p['p90']} µs  p99 {p['p99']} µs  (n={p['count']})")
    return "\n".join(lines)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return plain(obj)
    raise TypeError(type(obj).__name__)


def log_run(runner: BotRunner, report: dict[str, Any], root: Path | None = None) -> Path:
    """Record a finished run in the run log (:class:`~tradingmcp.research.runs.RunRecorder`, kind ``bot``, named by
    its symbols): the config as params (without the token), each equity sample as a step (``time_ms``, and the P&L
    components in the quote asset), the report; returns the run's JSONL file."""
    config = asdict(runner.config)
    config["connection"].pop("token", None)
    name = "-".join(s.symbol for s in runner.config.symbols)
    with RunRecorder("bot", name, config, root) as run:
        for step, p in enumerate(runner.core.equity):
            pnl = {"net_pnl": p.net_pnl, "realized_pnl": p.realized_pnl, "unrealized_pnl": p.unrealized_pnl}
            run.log_step(step, {"time_ms": p.time_ms, "fees": float(p.fees), **{k: float(v) for k, v in pnl.items()}})
        return run.finish(report)


def write_report(runner: BotRunner, out_dir: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """Write ``report.json``, ``report.txt``, ``equity.png`` and ``latency.png`` under ``out_dir``.

    Returns:
        ``(report dict, {"json", "text", "equity_png", "latency_png"} → path)``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(runner)
    paths = {
        "json": out_dir / "report.json",
        "text": out_dir / "report.txt",
        "equity_png": out_dir / "equity.png",
        "latency_png": out_dir / "latency.png",
    }
    paths["json"].write_bytes(orjson.dumps(report, default=_default, option=orjson.OPT_INDENT_2))
    paths["text"].write_text(text_report(report) + "\n")
    plot_equity(runner.core.equity, paths["equity_png"])
    plot_latency(runner.core.latencies, paths["latency_png"])
    return report, paths


def plot_equity(points: list[EquityPoint], path: Path) -> None:
    """Net P&L over exchange time, with each symbol's mark price on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    if points:
        t0 = points[0].time_ms
        xs = [(p.time_ms - t0) / 60_000 for p in points]
        ax.plot(xs, [float(p.net_pnl) for p in points], color="tab:blue", label="net P&L")
        ax.plot(xs, [float(p.net_pnl + p.fees) for p in points], color="tab:blue", ls=":", label="P&L before fees")
        ax2 = ax.twinx()
        for i, sym in enumerate(points[-1].prices):
            ys = [float(v) if (v := p.prices.get(sym)) is not None else math.nan for p in points]
            base = next((y for y in ys if not math.isnan(y)), 1.0)
            ax2.plot(xs, [(y / base - 1) * 1e4 for y in ys], color=f"C{i + 1}", alpha=0.6, lw=0.8, label=f"{sym} (bp)")
        ax2.set_ylabel("price change from start (bp)")
        ax2.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("exchange time (min)")
    ax.set_ylabel("P&L (quote)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Bot equity (net P&L) and prices")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_latency(samples: list[LatencySample], path: Path) -> None:
    """Histogram of tick → order acknowledged (µs), with the decision part."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    if samples:
        total = [x.tick_to_ack_us for x in samples]
        hi = max(total)
        bins = [10 ** (i / 20) for i in range(int(20 * math.log10(max(hi, 10))) + 2)]
        ax.hist(total, bins=bins, alpha=0.7, label="tick → ack")
        ax.hist([max(x.tick_to_decision_us, 1.0) for x in samples], bins=bins, alpha=0.7, label="tick → decision")
        ax.set_xscale("log")
    ax.set_xlabel("latency (µs)")
    ax.set_ylabel("order actions")
    ax.set_title("Tick-to-trade latency (bot side)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
