"""The main job end to end on the real recording: simulator → python-binance adapter → MCP over wss → client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingmcp.demo import DemoOptions, run_demo


async def test_demo_runs_on_real_data(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = await run_demo(DemoOptions(duration_s=5.0, speed=11.0, data_dir=data_dir))
    out = capsys.readouterr().out
    assert "SIMULATED EXCHANGE" in out and "recording under" in out
    assert status == 0, out
    assert "demo OK" in out
    for line in out.splitlines():
        if line.strip().startswith(("trades:binance:", "book_ticker:binance:", "book:binance:")):
            assert int(line.split()[1]) > 0, line
