"""``tradingmcp runs``: list and compare the logged backtest and bot runs (:mod:`tradingmcp.research.runs`) in a
terminal table (rich), or show one run.

* ``tradingmcp runs [--dir DIR] [--kind backtest|bot] [--sort METRIC] [--metric NAME ...] [--last N]``: one row per
  run (id, which starts with its UTC start time, kind, name, status, steps) with the report metrics shown as columns: ``--metric`` names
  them (a full dotted report key, or its last part: ``sharpe`` for ``risk.sharpe``), else the usual ones that any
  listed run has; ``--sort`` orders by a metric, best (largest) first, runs without it last; ``--last N`` keeps the
  newest N runs (after ``--kind``, before sorting);
* ``tradingmcp runs show ID`` (the whole id, its start or its random tail, or the run's name): parameters, report metrics, the last
  step's metrics, the files.

A bad argument (no such run, an unknown or ambiguous metric) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from tradingmcp.app.failure import EXIT_USAGE, fail
from tradingmcp.research.runs import RunLogError, RunSummary, find_run, load_runs, metric_key, runs_root

USUAL_METRICS = ("total_return", "annualized_return", "sharpe", "sortino", "max_drawdown", "win_rate", "net_pnl",
                 "fees", "sharpe_annualized", "max_drawdown_pct")  # fmt: skip
"""Report metrics shown by default, by the last part of their key, when some listed run has them."""
MAX_DEFAULT_COLUMNS = 4
PIPE_WIDTH = 200
"""Table width (characters) when the output is not a terminal."""


def _when(ms: int | None) -> str:
    return "" if ms is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _columns(runs: list[RunSummary], asked: Sequence[str] | None, sort: str | None) -> list[str]:
    if asked:
        keys = [metric_key(runs, m) for m in asked]
    else:
        present = {k for r in runs for k in r.metrics}
        keys = [k for name in USUAL_METRICS for k in sorted(present) if k.rsplit(".", 1)[-1] == name]
        keys = list(dict.fromkeys(keys))[:MAX_DEFAULT_COLUMNS]
    if sort is not None and sort not in keys:
        keys.insert(0, sort)
    return keys


def list_table(runs: list[RunSummary], metrics: Sequence[str] | None = None, sort: str | None = None) -> Table:
    """The runs as a rich table (see the module docstring); ``sort`` and ``metrics`` as given on the command line.

    Raises:
        RunLogError: an unknown or ambiguous metric.
    """
    sort_key = metric_key(runs, sort) if sort is not None else None
    if sort_key is not None:
        runs = sorted(runs, key=lambda r: (r.metric(sort_key) is None, -(r.metric(sort_key) or 0.0)))
    keys = _columns(runs, metrics, sort_key)
    table = Table(title=f"{len(runs)} runs", title_justify="left")
    for head in ("id (UTC start)", "kind", "name", "status", "steps"):
        table.add_column(head, no_wrap=head != "name", min_width=8 if head == "name" else None)
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    for key, tail in zip(keys, tails, strict=True):
        table.add_column(tail if tails.count(tail) == 1 else key, justify="right", no_wrap=True)
    for r in runs:
        table.add_row(r.id, r.kind, r.name, r.status, str(r.steps),
                      *(_fmt(r.metric(k)) for k in keys))  # fmt: skip
    return table


def show_run(console: Console, run: RunSummary) -> None:
    """Print one run: header, parameters, report metrics, the last step, the files."""
    console.print(f"[bold]{run.id}[/bold]  {run.kind} {run.name!r}  {run.status}")
    console.print(f"started {_when(run.started_ms)} UTC, ended {_when(run.finished_ms) or '-'}, {run.steps} steps")
    for title, values in (("params", run.params), ("report metrics", run.metrics), ("last step", run.last_step)):
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column("key")
        table.add_column("value", justify="right")
        for key, value in values.items():
            table.add_row(key, _fmt(value) if isinstance(value, float) else str(value))
        console.print(table)
    console.print(f"log {run.path}" + (f"\nwandb {run.wandb_dir}" if run.wandb_dir else ""))


def run_runs(args: argparse.Namespace, console: Console | None = None) -> int:
    """The ``runs`` command; returns the exit status."""
    console = console or Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
    what: list[str] = args.what
    if what and (what[0] != "show" or len(what) != 2):
        return fail("runs", f"expected 'runs' or 'runs show ID', got {' '.join(what)!r}", EXIT_USAGE)
    if args.last is not None and args.last < 1:
        return fail("runs", f"--last must be at least 1, got {args.last}", EXIT_USAGE)
    runs = load_runs(args.dir, args.kind)
    try:
        if what:
            show_run(console, find_run(runs, what[1]))
            return 0
        if not runs:
            console.print(f"no runs in {runs_root(args.dir)}" + (f" of kind {args.kind}" if args.kind else ""))
            return 0
        if args.last is not None:
            runs = runs[-args.last :]
        console.print(list_table(runs, args.metric, args.sort))
    except RunLogError as exc:
        return fail("runs", str(exc), EXIT_USAGE)
    return 0


__all__ = ["list_table", "run_runs", "show_run"]
