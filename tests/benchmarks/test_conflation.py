"""``tradingmcp bench conflation`` on a slice of the recording: one burst size decides on every book ticker either
way; bursts decide far less when conflated; the command writes its JSON."""

from __future__ import annotations

from pathlib import Path

import orjson

from tradingmcp.benchmarks.conflation import main, measure, recorded


def test_conflation_decides_once_per_symbol_per_burst(data_dir: Path) -> None:
    messages = recorded(data_dir, 3000)
    assert len(messages) == 3000 and {k.split(":")[2] for k, _ in messages} == {"BTCUSDT", "ETHUSDT"}
    one = {mode: measure(messages, 1, mode) for mode in ("per_message", "conflated")}
    assert one["per_message"]["decisions"] == one["conflated"]["decisions"] > 0  # no burst: nothing to conflate
    burst = {mode: measure(messages, 50, mode) for mode in ("per_message", "conflated")}
    assert burst["conflated"]["bursts"] == 60
    assert burst["conflated"]["decisions"] <= 4 * 60  # per symbol: its first book ticker at once, then once more
    assert burst["per_message"]["decisions"] > 5 * burst["conflated"]["decisions"]
    assert burst["per_message"]["newest_us"]["p50"] > 0 and burst["conflated"]["newest_us"]["p50"] > 0


def test_the_command_writes_its_result(data_dir: Path, tmp_path: Path) -> None:
    assert main(["--bursts", "1,10", "--messages", "500", "--data", str(data_dir), "--out", str(tmp_path)]) == 0
    (path,) = tmp_path.glob("conflation-*.json")
    doc = orjson.loads(path.read_bytes())
    assert set(doc["results"]) == {"1", "10"} and set(doc["results"]["10"]) == {"per_message", "conflated"}
