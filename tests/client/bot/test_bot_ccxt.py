"""``tradingmcp demo --exchange ccxt:binance`` / ``ccxt:mexc``: the reference bot trades the simulator through ccxt
(ccxt's Binance class on the Binance face, its MEXC class on the MEXC face) and the run is good: orders placed and
filled, none placed twice, and the bot's P&L from the fills it was pushed equals the P&L of the account's balances
(every fill arrived once, with its fee)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import demo_run

pytestmark = pytest.mark.data


@pytest.mark.parametrize("exchange", ["ccxt:binance", "ccxt:mexc"])
async def test_demo_through_ccxt(
    exchange: str, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text, report = await demo_run(exchange, data_dir, tmp_path / "demo", capsys, duration_s=5.0, timeout_s=90)
    venue = exchange.removeprefix("ccxt:")
    assert f"exchange: {venue} through ccxt, on the SIMULATOR" in text
    assert status == 0, text
    assert report["run"]["exchange"] == venue and report["orders"]["placed"] > 0 and report["trades"]
    assert report["orders"]["duplicates"] == 0
    assert report["pnl"]["check"]["difference"] == "0"
    assert all(t["commission_asset"] == (t["symbol"][:3] if t["side"] == "BUY" else "USDT") for t in report["trades"])
