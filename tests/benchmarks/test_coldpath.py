"""Smoke test of ``tradingmcp bench coldpath``: every row on real loopback sockets, the real simulator and recording,
the real Binance adapter; tiny counts. Timing relations are not asserted (the machine is noisy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradingmcp.benchmarks.cli import main
from tradingmcp.benchmarks.coldpath import ROWS


def test_coldpath_writes_every_row_and_column(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["coldpath", "--samples", "3", "--gaps", "0,10", "--warm-gap-ms", "20", "--warmup", "5"]
    assert main([*argv, "--data", str(data_dir), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out

    (json_path,) = tmp_path.glob("coldpath-*.json")
    doc = json.loads(json_path.read_text())
    assert doc["machine"]["cpu_count"] >= 1
    assert doc["config"]["samples"] == 3 and doc["config"]["data_dir"] == str(data_dir)
    columns = ["back_to_back", "after_10ms", "kept_warm_20ms"]
    assert doc["columns"] == columns
    assert [row["path"] for row in doc["rows"]] == list(ROWS)
    for row in doc["rows"]:
        for column in columns:
            assert row[f"{column}_us"] > 0, (row["path"], column)
            assert len(row["samples_us"][column]) == 3 and min(row["samples_us"][column]) > 0
        assert row["cold_factor"] > 0 and row["warm_factor"] > 0
        assert row["path"] in printed
    assert all(column in printed for column in columns)
    assert f"results: {json_path}" in printed


def test_coldpath_rejects_an_unknown_row(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["coldpath", "--rows", "tcp-floor,nope"])
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err
