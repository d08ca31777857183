"""The run log: one JSONL file per run (start, steps, end) that reads back as a summary, with clear errors on misuse;
and, with wandb installed, the same run as an offline W&B run under ``<dir>/wandb``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tradingmcp.research.runs import (
    RunLogError,
    RunRecorder,
    find_run,
    flat_numbers,
    load_runs,
    metric_key,
    read_run,
    runs_root,
)


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_run_is_one_jsonl_file_that_reads_back(tmp_path: Path) -> None:
    params = {"fast": 12, "qty": Decimal("0.001"), "data": tmp_path / "x.csv", "symbols": ("BTCUSDT",)}
    run = RunRecorder("backtest", "ema cross/fast", params, root=tmp_path / "runs")
    for step in range(3):
        run.log_step(step, {"equity": 1000 + step, "position": Decimal("0.5")})  # type: ignore[dict-item]
    report = {"sharpe": 1.25, "total_return": "0.031", "fees": Decimal("1.5"), "trades": [1, 2], "inf": float("inf"),
              "risk": {"max_drawdown": -0.02, "note": "n/a", "deep": {"var_95": 0.01}}}  # fmt: skip
    path = run.finish(report)

    assert (
        path == run.path and path.parent == tmp_path / "runs" and path.name.endswith("-backtest-ema-cross-fast.jsonl")
    )
    start, *steps, end = lines(path)
    assert start == {"type": "start", "id": run.run_id, "kind": "backtest", "name": "ema cross/fast",
                     "params": {"fast": 12, "qty": "0.001", "data": str(tmp_path / "x.csv"), "symbols": ["BTCUSDT"]},
                     "started_ms": start["started_ms"], "started_ns": start["started_ns"]}  # fmt: skip
    assert steps == [{"type": "step", "step": i, "metrics": {"equity": 1000.0 + i, "position": 0.5}} for i in range(3)]
    assert end["type"] == "finish" and end["status"] == "finished" and end["wandb_dir"] is None
    assert isinstance(end["report"], dict) and end["report"]["fees"] == "1.5" and end["report"]["inf"] is None

    summary = read_run(path)
    assert (summary.id, summary.kind, summary.status, summary.steps) == (run.run_id, "backtest", "finished", 3)
    assert summary.last_step == {"equity": 1002.0, "position": 0.5}
    assert summary.metrics == {"sharpe": 1.25, "total_return": 0.031, "fees": 1.5, "risk.max_drawdown": -0.02,
                               "risk.deep.var_95": 0.01}  # fmt: skip
    assert summary.finished_ms is not None and summary.finished_ms >= summary.started_ms


def test_misuse_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunLogError, match="backtest, bot"):
        RunRecorder("live", "x", {}, root=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(RunLogError, match="name"):
        RunRecorder("bot", " / ", {}, root=tmp_path)
    with pytest.raises(RunLogError, match="params must be JSON"):
        RunRecorder("bot", "x", {"f": object()}, root=tmp_path)
    run = RunRecorder("bot", "mm", {}, root=tmp_path)
    with pytest.raises(RunLogError, match="every metric must be a number"):
        run.log_step(0, {"x": "high"})  # type: ignore[dict-item]
    run.finish({})
    with pytest.raises(RunLogError, match="has ended"):
        run.log_step(1, {"x": 1.0})
    with pytest.raises(RunLogError, match="already ended"):
        run.finish({})
    assert [r.status for r in load_runs(tmp_path)] == ["finished"]


def test_a_failed_or_cut_run_still_reads(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), RunRecorder("backtest", "boom", {"a": 1}, root=tmp_path) as run:
        run.log_step(0, {"x": 1.0})
        _ = 1 / 0
    failed = read_run(run.path)
    assert failed.status == "failed" and failed.report == {"error": "ZeroDivisionError: division by zero"}

    alive = RunRecorder("bot", "alive", {}, root=tmp_path)
    alive.log_step(0, {"x": 2.0})
    with alive.path.open("ab") as fh:
        fh.write(b'{"type": "step", "st')  # a crash mid-line
    cut = read_run(alive.path)
    assert (cut.status, cut.steps, cut.finished_ms) == ("running", 1, None)
    (tmp_path / "junk.jsonl").write_bytes(b"not json\n")
    assert sorted(r.name for r in load_runs(tmp_path)) == ["alive", "boom"]
    assert [r.name for r in load_runs(tmp_path, kind="bot")] == ["alive"]
    with pytest.raises(RunLogError, match="line 1 is not JSON"):
        read_run(tmp_path / "junk.jsonl")
    alive.finish({})


def test_root_defaults_to_env_then_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADINGMCP_RUNS_DIR", raising=False)
    assert runs_root() == Path("runs")
    RunRecorder("bot", "a", {}).finish({})
    assert len(list((tmp_path / "runs").glob("*-bot-a.jsonl"))) == 1
    monkeypatch.setenv("TRADINGMCP_RUNS_DIR", str(tmp_path / "elsewhere"))
    RunRecorder("bot", "b", {}).finish({})
    assert [r.name for r in load_runs()] == ["b"]


def test_same_name_runs_in_one_second_get_their_own_files(tmp_path: Path) -> None:
    runs = [RunRecorder("backtest", "grid", {"i": i}, root=tmp_path) for i in range(50)]
    for r in runs:
        r.finish({"sharpe": r.params["i"]})
    loaded = load_runs(tmp_path)
    assert len({r.path for r in runs}) == len(loaded) == 50
    assert find_run(loaded, runs[7].run_id).params == {"i": 7}
    assert find_run(loaded, runs[7].run_id[-6:]).params == {"i": 7}
    with pytest.raises(RunLogError, match="matches 50 runs"):
        find_run(loaded, "grid")
    with pytest.raises(RunLogError, match="no run 'zzz'"):
        find_run(loaded, "zzz")


def test_metric_names_resolve_to_report_keys(tmp_path: Path) -> None:
    RunRecorder("bot", "a", {}, root=tmp_path).finish({"risk": {"sharpe_annualized": 2.0, "max_drawdown_pct": 1}})
    RunRecorder("backtest", "b", {}, root=tmp_path).finish({"sharpe": 1.0, "pnl": {"fees": "0.5"}})
    runs = load_runs(tmp_path)
    assert metric_key(runs, "sharpe") == "sharpe"
    assert metric_key(runs, "fees") == "pnl.fees"
    assert metric_key(runs, "risk.sharpe_annualized") == "risk.sharpe_annualized"
    with pytest.raises(RunLogError, match=r"did you mean risk\.max_drawdown_pct"):
        metric_key(runs, "drawdown")
    RunRecorder("bot", "c", {}, root=tmp_path).finish({"x": {"fees": 1}})
    with pytest.raises(RunLogError, match=r"ambiguous: pnl\.fees, x\.fees"):
        metric_key(load_runs(tmp_path), "fees")
    assert flat_numbers({"a": True, "b": "1e3", "c": "12abc", "d": [1]}) == {"b": 1000.0}


def test_wandb_offline_run_lands_under_the_wandb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("TRADINGMCP_WANDB", "1")
    run = RunRecorder("backtest", "wb", {"fast": 3}, root=tmp_path / "runs", wandb_dir=tmp_path)
    for step in range(4):
        run.log_step(step, {"equity": 100.0 + step})
    path = run.finish({"sharpe": 0.7})
    offline = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(offline) == 1 and list(offline[0].glob("run-*.wandb"))
    assert lines(path)[-1]["wandb_dir"] == str(offline[0])
    assert read_run(path).wandb_dir == str(offline[0])
