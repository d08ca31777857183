"""The same reference bot with ``exchange = "mexc"``: over wss against the simulator's MEXC face on the real recording
(string order ids ``C02__…``, hex trade ids, replace emulated as cancel + place, MEXC's fees), it places and fills
orders, its fills are the ones the simulator recorded for the MEXC account, no client order id is used twice, and its
P&L equals the P&L from the balances."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.app.demo import DemoOptions, run_demo
from tradingmcp.client.bot.app import run_session
from tradingmcp.client.bot.config import BotConfig, RiskConfig, SymbolConfig
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.server.exchanges.mexc.parse import wire_id
from tradingmcp.sim.mexc import MEXC_SIM_KEY

from .recorded import pushed_messages
from .support import booked_fills, demo_run, exchange_records, start_bot_server

pytestmark = pytest.mark.data
MS = 1_000_000


def _mexc_ack(action: Action, order_id: str) -> dict[str, Any]:
    """A ``place_order`` result as the MEXC venue gives it (string order id)."""
    order = {"client_order_id": action.client_order_id, "order_id": order_id, "symbol": action.symbol,
             "side": action.side, "status": "NEW", "price": str(action.price), "orig_qty": str(action.qty),
             "executed_qty": "0"}  # fmt: skip
    return {"structuredContent": {"order": order, "duplicate": False}}


def test_a_failed_mexc_replace_frees_the_slot_at_once(data_dir: Path) -> None:
    """MEXC's replace is cancel-then-place: when the placement is refused the tool answers ``replace_failed`` with the
    cancelled order; the bot marks the old order done from that answer (no pushed event needed) and quotes again."""
    core = BotCore(BotConfig(symbols=(SymbolConfig("BTCUSDT"),), risk=RiskConfig(reject_cooldown_ms=0)))
    core.rules["BTCUSDT"] = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("1"))
    now, ids, failed = 0, 0, None
    for key, data in pushed_messages(data_dir, "BTCUSDT", 20000):
        now += MS
        for a in core.on_stream(key.replace("binance", "mexc"), data, now):
            _, args = a.tool_call("mexc")
            assert args["exchange"] == "mexc" and args["type"] == "LIMIT_MAKER"
            if a.kind == "replace" and failed is None:
                failed = a
                old = core.tracker.get(str(a.old_client_order_id))
                assert old is not None and isinstance(old.order_id, str)
                cancelled = {"client_order_id": old.client_order_id, "order_id": old.order_id, "symbol": "BTCUSDT",
                             "status": "CANCELED", "executed_qty": "0"}  # fmt: skip
                error = {"code": "replace_failed", "message": "cancel SUCCESS, new order FAILURE",
                         "cancel_result": "SUCCESS", "new_order_result": "FAILURE", "cancelled": cancelled}  # fmt: skip
                core.on_result(a, {"isError": True, "structuredContent": {"error": error}}, now)
                assert old.state == "done" and old.status == "CANCELED"
                assert core.slots[("BTCUSDT", a.side)].busy is None
            elif a.kind != "cancel":
                ids += 1
                core.on_result(a, _mexc_ack(a, f"C02__{100_000_000 + ids}"), now)
            if failed is not None and a.kind == "place" and a.side == failed.side:
                assert core.errors == {"replace_failed": 1}
                return  # the side quotes again (a fresh place, not a replace of the cancelled order)
    raise AssertionError("no failed replace was followed by a new quote on that side")


async def test_bot_trades_on_the_mexc_face(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0, exchange="mexc") as srv:
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT", "ETHUSDT"), exchange="mexc")
        async with asyncio.timeout(40):
            session = await run_session(config, duration_s=6.0)
        assert session.ok, session.problems
        report, tracker = session.report, session.runner.core.tracker
        assert report["orders"]["placed"] > 0 and report["trades"], report["orders"]
        assert report["orders"]["open_at_end"] == 0
        assert all(str(o.order_id).startswith("C02__") for o in tracker.orders.values() if o.order_id is not None)

        # every fill the bot booked is one the simulator recorded for the MEXC account, none is missing
        sim_fills, client_ids = exchange_records(srv.sim, f"{tracker.prefix}{tracker.run_id}x", MEXC_SIM_KEY)
        expected = {(sym, wire_id(f"{tid:032x}")): fill for (sym, tid), fill in sim_fills.items()}
        booked = booked_fills(report["trades"])
        assert booked == expected
        assert len(client_ids) == len(set(client_ids)), "an order was placed twice"
        # the bot's P&L from its fills == the P&L from the MEXC account's balances
        assert Decimal(report["pnl"]["check"]["difference"]) == 0
        assert report["pnl"]["check"]["balance_pnl"] == report["pnl"]["net_pnl"]
        assert not srv.sim.engine.open.get("BTCUSDT") and not srv.sim.engine.open.get("ETHUSDT")


async def test_demo_with_exchange_mexc(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tradingmcp demo --exchange mexc``: the server bridges the simulator's MEXC face, the bot trades it, exit 0."""
    out = tmp_path / "demo"
    status, text, report = await demo_run("mexc", data_dir, out, capsys)
    assert "MEXC Spot v3 protocol" in text and "on mexc" in text
    assert status == 0, text
    assert report["run"]["exchange"] == "mexc" and report["orders"]["placed"] > 0 and report["trades"]
    assert report["pnl"]["check"]["difference"] == "0"
    with pytest.raises(ValueError, match="exchange must be one of"):
        await run_demo(DemoOptions(exchange="both", out_dir=out))
