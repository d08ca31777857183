"""``tradingmcp bench backtest`` at a tiny size: it replays, counts the events and reports rates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tradingmcp.benchmarks.cli import main


@pytest.mark.data
def test_bench_backtest_tiny(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    rc = main(["backtest", "--runs", "2", "--max-events", "3000", "--data", str(data_dir), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["events"] == 3000
    assert len(doc["runs"]) == 2
    assert doc["compiled"] == (os.environ.get("TRADINGMCP_COMPILED") or None)  # which build ran is in the result
    assert doc["replay_events_per_s"] > 0 and doc["end_to_end_events_per_s"] > 0
    assert doc["replay_events_per_s"] >= doc["end_to_end_events_per_s"]  # reading only adds time
    assert doc["replay_events_per_cpu_s"] >= doc["end_to_end_events_per_cpu_s"] > 0
    assert doc["uncached_read"]["read_s"] > 0
    assert doc["replay_events_per_s"] >= doc["end_to_end_uncached_events_per_s"] > 0


def test_bench_backtest_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--runs", "0"]) == 2
    assert "--runs and --max-events must be ≥ 1" in capsys.readouterr().err
