"""The same reference bot with ``exchange = "bybit"``: over wss against the simulator's Bybit face on the real
recording (Bybit's numeric string order ids, fills from the private ``execution`` topic), it places and fills orders
on both symbols, every fill it booked is one the simulator recorded for the Bybit account and none is missing, no
client order id is used twice, and its P&L equals the P&L from the balances; ``tradingmcp demo --exchange bybit``
exits 0."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.client.bot.app import run_session
from tradingmcp.sim.bybit import BYBIT_SIM_KEY

from .support import booked_fills, demo_run, exchange_records, start_bot_server

pytestmark = pytest.mark.data


async def test_bot_trades_on_the_bybit_face(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0, exchange="bybit") as srv:
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT", "ETHUSDT"), exchange="bybit")
        async with asyncio.timeout(40):
            session = await run_session(config, duration_s=6.0)
        assert session.ok, session.problems
        report, tracker = session.report, session.runner.core.tracker
        assert report["orders"]["placed"] > 0 and report["trades"], report["orders"]
        assert report["orders"]["open_at_end"] == 0
        assert all(str(o.order_id).isdigit() for o in tracker.orders.values() if o.order_id is not None)
        sim_fills, client_ids = exchange_records(srv.sim, f"{tracker.prefix}{tracker.run_id}x", BYBIT_SIM_KEY)
        expected = {(sym, str(tid)): fill for (sym, tid), fill in sim_fills.items()}
        booked = booked_fills(report["trades"], str)
        assert booked == expected
        assert {sym for sym, _ in booked} == {"BTCUSDT", "ETHUSDT"}
        assert all(r["fills_recovered"] == 0 for r in report["reconciles"]), report["reconciles"]
        assert len(client_ids) == len(set(client_ids)), "an order was placed twice"
        assert Decimal(report["pnl"]["check"]["difference"]) == 0
        assert not srv.sim.engine.open.get("BTCUSDT") and not srv.sim.engine.open.get("ETHUSDT")


async def test_demo_with_exchange_bybit(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tradingmcp demo --exchange bybit``: the server bridges the simulator's Bybit face, the bot trades it."""
    status, text, report = await demo_run("bybit", data_dir, tmp_path / "demo", capsys)
    assert "Bybit V5 spot protocol" in text and "on bybit" in text
    assert status == 0, text
    assert report["run"]["exchange"] == "bybit" and report["orders"]["placed"] > 0 and report["trades"]
    assert report["pnl"]["check"]["difference"] == "0"
