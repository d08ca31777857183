"""``tradingmcp runs``: the logged runs as a table (filtered, sorted by a report metric, the newest N), one run in
detail, and one line with exit status 2 for a bad argument."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradingmcp.app.cli import main
from tradingmcp.research.runs import RunRecorder


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for name, sharpe, dd in (("ema-a", 1.2, "0.10"), ("ema-b", 0.4, "0.30"), ("ema-c", 2.5, "0.20")):
        run = RunRecorder("backtest", name, {"fast": len(name), "qty": "0.001"}, root=root)
        for step in range(3):
            run.log_step(step, {"equity": 1000.0 + step * sharpe})
        run.finish({"sharpe": sharpe, "max_drawdown": dd, "total_return": sharpe / 10})
    bot = RunRecorder("bot", "market-making", {"symbols": ["BTCUSDT"]}, root=root)
    bot.log_step(0, {"net_pnl": 0.5})
    bot.finish({"risk": {"sharpe_annualized": 3.0, "sharpe_per_minute": 0.1}, "pnl": {"net_pnl": "1.25"}})
    return root


def rows(out: str) -> list[str]:
    """The names in table order (rows that hold a run id)."""
    names = ("ema-a", "ema-b", "ema-c", "market-making")
    return [next(n for n in names if n in line) for line in out.splitlines() if any(n in line for n in names)]


def test_list_filters_sorts_and_keeps_the_newest(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 runs") and rows(out) == ["ema-a", "ema-b", "ema-c", "market-making"]
    assert "sharpe" in out and "max_drawdown" in out and "finished" in out

    assert main(["runs", "--dir", str(runs_dir), "--kind", "backtest", "--sort", "sharpe"]) == 0
    out = capsys.readouterr().out
    assert rows(out) == ["ema-c", "ema-a", "ema-b"] and "market-making" not in out

    assert main(["runs", "--dir", str(runs_dir), "--kind", "backtest", "--last", "2", "--sort", "max_drawdown"]) == 0
    assert rows(capsys.readouterr().out) == ["ema-b", "ema-c"]

    assert main(["runs", "--dir", str(runs_dir), "--sort", "net_pnl", "--metric", "sharpe_annualized"]) == 0
    out = capsys.readouterr().out
    assert rows(out)[0] == "market-making" and "sharpe_annualized" in out and "1.25" in out


def test_show_one_run(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--dir", str(runs_dir), "show", "market-making"]) == 0
    out = capsys.readouterr().out
    assert "bot 'market-making'  finished" in out and "BTCUSDT" in out
    assert "risk.sharpe_annualized" in out and "net_pnl" in out and "-bot-market-making.jsonl" in out


def test_no_runs_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out.startswith("no runs in ")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["show", "nope"], "no run 'nope'"),
        (["show"], "expected 'runs' or 'runs show ID'"),
        (["list"], "expected 'runs' or 'runs show ID', got 'list'"),
        (["--sort", "sharpe"], "metric 'sharpe' is ambiguous"),
        (["--sort", "volatility"], "no run has a metric 'volatility'"),
        (["--last", "0"], "--last must be at least 1"),
        (["--last", "x"], "invalid int value"),
        (["--kind", "live"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(runs_dir: Path, args: list[str], words: str) -> None:
    env = {**os.environ, "TRADINGMCP_RUNS_DIR": str(runs_dir)}
    if args == ["--sort", "sharpe"]:  # among bot runs, "sharpe" is the last part of two report keys
        args = ["--kind", "bot", "--sort", "sharpe"]
        RunRecorder("bot", "two", {}, root=runs_dir).finish({"a": {"sharpe": 1}, "b": {"sharpe": 2}})
    done = subprocess.run([sys.executable, "-m", "tradingmcp", "runs", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("tradingmcp runs: error: ") and words in lines[0]


def test_no_abbreviated_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["runs", "--so", "sharpe"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.splitlines()) == 1 and "unrecognized arguments: --so" in err
