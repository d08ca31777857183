"""``tradingmcp backtest``: replay market data through the simulator's matching engine and the live bot's decision
code, then print and write the report (:mod:`.run`, :mod:`.report`).

Exit status 0 after a run, 2 for a bad argument or setting (one line on stderr), 1 when the data cannot be read.
This module imports only :mod:`argparse` at load time, so building the ``tradingmcp`` parser stays cheap.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
EXIT_DATA = 1


def parse_time_ms(text: str) -> int:
    """``--from`` / ``--to``: epoch ms (digits) or an ISO 8601 date/time (UTC unless it names a zone).

    Raises:
        argparse.ArgumentTypeError: neither.
    """
    t = text.strip()
    if t.isdigit():
        return int(t)
    try:
        when = dt.datetime.fromisoformat(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected epoch ms or ISO 8601 time (2024-08-09T00:00:00Z), got {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def _fraction(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.001, got {text!r}") from None
    if not (0 <= value < 1):
        raise argparse.ArgumentTypeError(f"a fee rate is a fraction in [0, 1), got {text}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {text}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``backtest`` options (on the subparser ``tradingmcp`` builds)."""
    from tradingmcp.research.backtest.run import DEFAULT_STRATEGY, METRICS

    p.add_argument(
        "--strategy", default=DEFAULT_STRATEGY, help=f"the bot's [strategy] kind (default {DEFAULT_STRATEGY})"
    )
    p.add_argument(
        "--symbols", action="append", default=None, help="comma-separated symbols (repeatable; default BTCUSDT)"
    )
    p.add_argument(
        "--from",
        dest="from_ms",
        metavar="TIME",
        type=parse_time_ms,
        default=None,
        help="start: epoch ms or ISO time (UTC)",
    )
    p.add_argument(
        "--to", dest="to_ms", metavar="TIME", type=parse_time_ms, default=None, help="end: epoch ms or ISO time (UTC)"
    )
    p.add_argument(
        "--data",
        default=None,
        help="data root with binance/recorded (default $TRADINGMCP_DATA or ../shared/data), or Binance data dump "
        "files (trades/aggTrades/klines .csv/.zip from data.binance.vision): a file or a folder of them",
    )
    p.add_argument("--config", default=None, help="bot TOML (e.g. bot.example.toml; default: the bot's defaults)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a bot setting, e.g. strategy.half_spread_ticks=1 (repeatable)")  # fmt: skip
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="sweep a setting over values (repeatable: the product of all is run)")  # fmt: skip
    p.add_argument("--metric", choices=sorted(METRICS), default="sharpe", help="rank grid points by (default sharpe)")
    p.add_argument("--workers", type=_positive_int, default=2, help="processes for a grid (default 2)")
    p.add_argument("--latency-ms", type=_non_negative, default=0.0, help="one-way bot↔exchange delay (default 0)")
    p.add_argument(
        "--turn-us",
        type=_non_negative,
        default=0.0,
        help="conflate the bot's messages per event-loop turn as its live runner does: events received within this "
        "many µs of the previous one form a turn (default 0: every message decided on)",
    )
    p.add_argument(
        "--mexc-offset-bps",
        type=float,
        default=0.0,
        help="a strategy trading on MEXC too (arbitrage): the MEXC venue replays the same recording with every price "
        "moved by this many basis points, its own books and engine, as serve --mexc-offset-bps does (default 0)",
    )
    p.add_argument(
        "--alerts",
        type=Path,
        default=None,
        metavar="FILE",
        help='TradingView alerts to replay for the signals strategy: JSON Lines {"time_ms": <epoch ms>, "alert": '
        "<the alert JSON the webhook receives>}, each handed to the bot at its time as the webhook's signal",
    )
    p.add_argument("--maker-fee", type=_fraction, default=Decimal("0.001"), help="maker fee rate (default 0.001)")
    p.add_argument("--taker-fee", type=_fraction, default=Decimal("0.001"), help="taker fee rate (default 0.001)")
    p.add_argument("--out", type=Path, default=Path("backtest-report"), help="output folder (default backtest-report)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNGs")
    p.add_argument(
        "--run-log",
        action="store_true",
        help="also record the run in the run log (tradingmcp runs; $TRADINGMCP_RUNS_DIR or ./runs)",
    )
    p.add_argument("--json", action="store_true", help="print the report JSON instead of the table")


def _symbols(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or ["BTCUSDT"]:
        for item in v.split(","):
            s = item.strip().upper()
            if s and s not in out:
                out.append(s)
    return tuple(out)


def _error(message: str, code: int) -> int:
    line = " ".join(message.split())
    print(f"tradingmcp backtest: error: {line[:500]}", file=sys.stderr)
    return code


def main(args: argparse.Namespace) -> int:
    """Run ``tradingmcp backtest`` for parsed arguments; returns the exit status."""
    import orjson

    from tradingmcp.client.bot.config import ConfigError
    from tradingmcp.research.backtest.alerts import AlertsFileError, read_alerts
    from tradingmcp.research.backtest.data import load_market_data
    from tradingmcp.research.backtest.dumps import DumpFormatError
    from tradingmcp.research.backtest.run import (
        RunSpec,
        SettingsError,
        build_config,
        load_doc,
        parse_assignment,
        parse_grid,
        run_grid,
        run_one,
    )
    from tradingmcp.research.backtest.settings import BacktestParams
    from tradingmcp.research.backtest.venues import ReplaySettingError
    from tradingmcp.sim.errors import BinanceError

    symbols = _symbols(args.symbols)
    if args.from_ms is not None and args.to_ms is not None and args.from_ms >= args.to_ms:
        return _error("--from must be before --to", EXIT_USAGE)
    try:
        doc = load_doc(args.config)
        overrides = dict(parse_assignment(s) for s in args.sets)
        grid = parse_grid(args.grid)
        build_config(doc, args.strategy, symbols, overrides)
    except (SettingsError, ConfigError) as exc:
        return _error(str(exc), EXIT_USAGE)
    except OSError as exc:
        return _error(f"cannot read {args.config}: {exc.strerror or exc}", EXIT_USAGE)
    if not math.isfinite(args.mexc_offset_bps) or abs(args.mexc_offset_bps) >= 10_000:
        return _error(
            f"--mexc-offset-bps: expected basis points between -10000 and 10000, got {args.mexc_offset_bps}", EXIT_USAGE
        )
    try:
        alerts = read_alerts(args.alerts) if args.alerts is not None else ()
    except AlertsFileError as exc:
        return _error(f"--alerts: {exc}", EXIT_USAGE)
    except OSError as exc:
        return _error(f"--alerts: cannot read {args.alerts}: {exc.strerror or exc}", EXIT_DATA)
    try:
        data = load_market_data(symbols, args.data)
        for s in symbols:
            data.exchange_info.symbol(s)
    except BinanceError as exc:
        return _error(f"symbol not listed by the simulator: {exc.msg}", EXIT_USAGE)
    except (OSError, DumpFormatError) as exc:
        return _error(str(exc), EXIT_DATA)
    params = BacktestParams(
        mexc_offset_bps=args.mexc_offset_bps,
        alerts=alerts,
        latency_ms=args.latency_ms,
        turn_us=args.turn_us,
        maker_fee=args.maker_fee,
        taker_fee=args.taker_fee,
        start_ms=args.from_ms,
        end_ms=args.to_ms,
    )
    alerts_file = args.alerts.name if args.alerts is not None else None
    spec = RunSpec(doc, args.strategy, data, params, overrides, args.out, not args.no_plots, args.run_log, alerts_file)
    try:
        if grid:
            reports = run_grid(spec, grid, workers=args.workers)
            return _print_grid(reports, grid, args)
        report = run_one(spec)
    except (SettingsError, ConfigError, ReplaySettingError) as exc:
        return _error(str(exc), EXIT_USAGE)
    except (OSError, DumpFormatError) as exc:
        return _error(str(exc), EXIT_DATA)
    if report["events"]["market_events"] == 0:
        return _error("no market events in the chosen window (check --from/--to against the data)", EXIT_DATA)
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
        return 0
    from rich.console import Console

    from tradingmcp.research.backtest.report import render_table

    console = Console()
    console.print(render_table(report))
    for name, path in report.get("files_written", {}).items():
        console.print(f"{name}: {path}")
    return 0


def _print_grid(reports: list[dict[str, Any]], grid: list[tuple[str, list[str]]], args: argparse.Namespace) -> int:
    import orjson
    from rich.console import Console
    from rich.table import Table

    from tradingmcp.research.backtest.report import fmt_metric
    from tradingmcp.research.backtest.run import best_index

    best = best_index(reports, args.metric)
    summary = {
        "metric": args.metric,
        "best": best,
        "points": [{"overrides": r["params"]["overrides"], "metrics": r["metrics"]} for r in reports],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    text = orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    (args.out / "grid.json").write_bytes(text + b"\n")
    if args.json:
        print(text.decode())
        return 0
    table = Table(title=f"Grid: {len(reports)} points, best by {args.metric}")
    table.add_column("#", justify="right")
    for key, _ in grid:
        table.add_column(key)
    for col in ("sharpe", "total return", "max drawdown", "fills", "net P&L"):
        table.add_column(col, justify="right")
    for i, r in enumerate(reports):
        m = r["metrics"]
        mark = "*" if i == best else ""
        table.add_row(
            f"{i}{mark}",
            *(str(r["params"]["overrides"].get(k, "")) for k, _ in grid),
            fmt_metric(m["sharpe"], "num"),
            fmt_metric(m["total_return"], "pct"),
            fmt_metric(m["max_drawdown"], "pct"),
            str(m["fills"]),
            str(m["net_pnl_quote"]),
        )
    console = Console()
    console.print(table)
    if best is not None:
        console.print(f"best ({args.metric}): point {best} {reports[best]['params']['overrides']}")
    console.print(f"grid: {args.out / 'grid.json'}")
    return 0
