"""One bot session end to end, as ``tradingmcp bot`` and ``tradingmcp demo`` run it: start, trade, wind down, write
the report, judge the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.client.bot.config import BotConfig
from tradingmcp.client.bot.report import log_run, text_report, write_report
from tradingmcp.client.bot.runner import BotRunner, View
from tradingmcp.client.bot.view import LiveView, QuietView

PNL_TOLERANCE = Decimal("1e-8")
"""Largest accepted difference between the bot's net P&L and the one from the balances (quote asset)."""


@dataclass
class BotSession:
    """A finished session: the runner (core, ledger, orders), the report dict, the written files, and the problems
    found (empty = the run is good)."""

    runner: BotRunner
    report: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def judge(report: dict[str, Any], require_fills: bool = True) -> list[str]:
    """What is wrong with a run: no order placed, no fill, P&L not matching the balances, orders left open."""
    problems = []
    if report["orders"]["placed"] == 0:
        problems.append("no order was placed")
    if require_fills and not report["trades"]:
        problems.append("no order was filled")
    diff = report["pnl"]["check"]["difference"]
    if diff is None:
        problems.append("P&L could not be checked against the balances")
    elif abs(Decimal(diff)) > PNL_TOLERANCE:
        problems.append(f"bot P&L differs from the P&L of the balances by {diff}")
    if report["orders"]["open_at_end"]:
        problems.append(f"{report['orders']['open_at_end']} orders still open at the end")
    for rec in report["reconciles"]:
        problems += [f"reconcile ({rec['reason']}): {e}" for e in rec["errors"]]
    return problems


def make_view(quiet: bool, every_s: float = 5.0) -> View:
    """The rich live view, or status lines every ``every_s`` in quiet mode."""
    return QuietView(every_s) if quiet else LiveView()


async def run_session(
    config: BotConfig,
    *,
    duration_s: float | None,
    view: View | None = None,
    until: Callable[[], bool] | None = None,
    require_fills: bool = True,
    runner: BotRunner | None = None,
    **client_options: Any,
) -> BotSession:
    """Start the bot, trade for ``duration_s`` (or until ``until()``), wind down, write the report under
    ``config.report.out_dir``.

    Raises:
        BotError: start-up failed. ConnectionError/OSError: the server is unreachable.
    """
    runner = runner or BotRunner(config, view, **client_options)
    await runner.start()
    try:
        await runner.run(duration_s, until)
    finally:
        await runner.finish()
    report, paths = write_report(runner, config.report.out_dir)
    if config.report.run_log:
        paths["run_log"] = log_run(runner, report, config.report.runs_dir)
    return BotSession(runner, report, paths, judge(report, require_fills))


def print_summary(session: BotSession) -> None:
    """The text report, the file paths, and the verdict."""
    print(text_report(session.report))
    for name, path in session.paths.items():
        print(f"  {name:12s} {path}")
    for problem in session.problems:
        print(f"  PROBLEM: {problem}")
