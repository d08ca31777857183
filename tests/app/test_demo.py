"""The main job end to end on the real recording: simulator → python-binance adapter → MCP over wss → the reference
bot, which trades, reports and exits 0 only when its run was good."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tradingmcp.app.demo import DemoOptions, run_demo


async def test_demo_runs_the_bot_on_real_data(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    status = await run_demo(DemoOptions(duration_s=5.0, speed=20.0, data_dir=data_dir, out_dir=out, quiet=True))
    text = capsys.readouterr().out
    assert "SIMULATED EXCHANGE" in text and "recording under" in text
    assert status == 0, text
    assert "demo OK" in text and "PROBLEM" not in text
    report = orjson.loads((out / "report.json").read_bytes())
    assert report["orders"]["placed"] > 0 and report["trades"]
    assert report["pnl"]["check"]["difference"] == "0"
    for name in ("report.txt", "equity.png", "latency.png"):
        assert (out / name).stat().st_size > 0
        assert str(out / name) in text
