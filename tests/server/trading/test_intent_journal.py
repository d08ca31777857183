"""The intent journal: an order's intent is durable before it is sent, and a server killed between dispatch and
reply settles every open intent on its next start (placed / not placed), sends no order twice and forgets none.

The crash test runs ``tradingmcp serve`` as its own process against a simulator in this process (the server's
Binance endpoints point at it, as at a testnet); the simulator holds placements unanswered (``state.faults``), one
after executing it and one before, and the server is killed with SIGKILL while both wait for their reply.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side, TimeInForce
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig
from tradingmcp.server.trading.journal import NOT_PLACED, OCO, PLACED, Intent, IntentJournal
from tradingmcp.sim.app import SimConfig, Simulator

from ..support import AUDITOR_TOKEN as AUDITOR
from ..support import TRADER_TOKEN as TRADER
from ..support import bid, call, held, ok, serve_on_sim, start_tool_server


def limit_request(cid: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        Decimal("0.001"),
        price=Decimal("50000"),
        time_in_force=TimeInForce.GTC,
        client_order_id=cid,
    )


async def test_an_intent_is_committed_to_disk_before_the_call_returns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = IntentJournal(path)
    await journal.record(Intent.of("binance", limit_request("a-1"), "trader", 1_000))
    # another connection (another process would do the same) sees the row: it is committed, not buffered
    other = sqlite3.connect(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = other.execute(
            "SELECT client_order_id, symbol, side, quantity, price, caller, outcome FROM intents"
        ).fetchone()
        assert row == ("a-1", "BTCUSDT", "BUY", "0.001", "50000", "trader", None)
    finally:
        other.close()
    assert journal.durability() == ("wal", "FULL")  # the commit waits for the disk
    assert [i.client_order_id for i in journal.unsettled("binance")] == ["a-1"]
    journal.settle("binance", "a-1", PLACED, 2_000, 42, "NEW")
    journal.close()  # commits the outcome still queued
    reopened = IntentJournal(path)
    assert reopened.unsettled("binance") == []
    got = reopened.get("binance", "a-1")
    assert got is not None and (got.outcome, got.order_id, got.status) == (PLACED, "42", "NEW")
    reopened.close()


async def test_process_durability_commits_unsynced_and_a_bad_durability_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = IntentJournal(path, "process")
    try:
        assert journal.durability() == ("wal", "NORMAL")  # reaches the OS, no sync wait
        await journal.record(Intent.of("binance", limit_request("p-1"), "trader", 1_000))
        assert journal.writer.durable_commits == 2  # the pragma read above, then the intent
    finally:
        journal.close()
    reopened = IntentJournal(path)
    try:
        assert [i.client_order_id for i in reopened.unsettled("binance")] == ["p-1"]
    finally:
        reopened.close()
    with pytest.raises(ValueError, match="durability must be one of machine, process, got 'disk'"):
        IntentJournal(tmp_path / "other.sqlite3", "disk")
    assert SafetyConfig.from_mapping({"intent_durability": " Process "}).intent_durability == "process"
    with pytest.raises(ValueError, match="intent_durability must be one of machine, process"):
        SafetyConfig.from_env({"TRADINGMCP_SAFETY_INTENT_DURABILITY": "disk"})


async def test_the_loop_keeps_serving_while_an_intent_is_made_durable(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = IntentJournal(path)
    holder = sqlite3.connect(path, isolation_level=None)  # another writer holds the file: the commit must wait
    try:
        holder.execute("BEGIN IMMEDIATE")
        durable = journal.record(Intent.of("binance", limit_request("a-1"), "trader", 1_000))
        served: list[str] = []

        async def another_client() -> None:  # what the loop does for everyone else meanwhile
            served.append("push")
            await asyncio.sleep(0)
            served.append("reply")

        await asyncio.create_task(another_client())
        assert served == ["push", "reply"] and not durable.done()  # the loop ran on; the intent is not on disk yet
        assert journal.get("binance", "a-1") is None
        holder.execute("COMMIT")  # only this coroutine (on the loop) can let the commit through
        await asyncio.wait_for(durable, 60)
        assert journal.get("binance", "a-1") is not None
        assert holder.execute("SELECT client_order_id FROM intents").fetchall() == [("a-1",)]
    finally:
        holder.close()
        journal.close()


async def test_intents_recorded_together_share_one_commit_and_outcomes_are_not_synced(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = IntentJournal(path)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the writer waits with the first intent; the others queue behind it
        first = journal.record(Intent.of("binance", limit_request("g-0"), "trader", 1_000))
        rest = [journal.record(Intent.of("binance", limit_request(f"g-{i}"), "trader", 1_000)) for i in range(1, 8)]
        holder.execute("COMMIT")
        await asyncio.wait_for(asyncio.gather(first, *rest), 60)
        writer = journal.writer
        assert writer.writes == 8 and writer.durable_commits <= 2  # eight orders in flight, at most two fsyncs
        assert len(journal.unsettled("binance")) == 8
        synced = writer.durable_commits
        for i in range(8):
            journal.settle("binance", f"g-{i}", PLACED, 2_000, i, "NEW")
        await journal.flush()
        assert journal.unsettled("binance") == [] and writer.durable_commits == synced  # committed, no fsync
        assert journal.durability() == ("wal", "FULL")
    finally:
        holder.close()
        journal.close()


def limit_buy(cid: str, price: Decimal) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.001",
        "price": str(price),
        "time_in_force": "GTC",
        "client_order_id": cid,
    }


async def kill_while_held(
    sim: Simulator, var: Path, tool: str, placed: dict[str, Any], unplaced: dict[str, Any], **env: str
) -> dict[str, str]:
    """``tradingmcp serve`` on ``sim`` (data in ``var``, ``env`` added to its environment) gets two ``tool`` calls the
    simulator never answers, the first executed on the exchange and the second never reaching it, and is killed
    (SIGKILL) while both wait for their reply. Returns the intents the journal then holds open: ``{client order id:
    type}``."""
    async with serve_on_sim(sim, var, **env) as (url, proc, _):
        client = await connect(url, token=TRADER)
        try:
            sim.state.faults.hold_order_replies = 1  # executed on the exchange, the reply never comes
            first = asyncio.create_task(client.call_tool(tool, placed))
            await held(sim, 1)
            sim.state.faults.hold_orders_unplaced = 1  # never reaches the engine, never answered
            second = asyncio.create_task(client.call_tool(tool, unplaced))
            await held(sim, 2)
            proc.send_signal(signal.SIGKILL)  # between dispatch and reply: both intents are open
            await proc.wait()
        finally:
            for task in (first, second):
                task.cancel()
            await asyncio.gather(first, second, return_exceptions=True)
            await client.close()
    journal = IntentJournal(var / "journal.sqlite3")
    try:
        return {i.client_order_id: i.type for i in journal.unsettled("binance")}
    finally:
        journal.close()


@pytest.mark.parametrize("durability", ["machine", "process"])
async def test_a_server_killed_between_dispatch_and_reply_reconciles_every_intent(
    data_dir: Path, tmp_path: Path, durability: str
) -> None:
    # either durability survives a crash of the process (with "process" the commit is in the OS's cache, unsynced)
    env = {"TRADINGMCP_SAFETY_INTENT_DURABILITY": durability}
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir))
    await sim.start()
    var = tmp_path / "var"
    try:
        sim.step(2000)
        price = (await bid(sim) * Decimal("0.99")).quantize(Decimal("0.01"))
        open_before = sorted(await kill_while_held(
            sim, var, "place_order", limit_buy("held-placed", price), limit_buy("held-unplaced", price), **env
        ))  # fmt: skip
        assert open_before == ["held-placed", "held-unplaced"]  # written before sending, left open by the kill

        async with serve_on_sim(sim, var, **env) as (url, _, lines):
            assert sum("reconciled at start-up" in line for line in lines) == 2, "".join(lines)
            client = await connect(url, token=TRADER)
            auditor: McpClient | None = None
            try:
                history = await ok(client, "get_order_history", {"symbol": "BTCUSDT"})
                outcomes = {i["client_order_id"]: (i["outcome"], i["note"]) for i in history["intents"]}
                assert outcomes == {
                    "held-placed": (PLACED, "reconciled at start-up"),
                    "held-unplaced": (NOT_PLACED, "reconciled at start-up"),
                }
                assert [o["client_order_id"] for o in history["orders"]] == ["held-placed"]
                # the caller retries both: the placed one is answered with the existing order, nothing sent; the
                # one the exchange never had is placed now
                again = await ok(client, "place_order", limit_buy("held-placed", price))
                assert again["duplicate"] is True and again["order"]["client_order_id"] == "held-placed"
                fresh = await ok(client, "place_order", limit_buy("held-unplaced", price))
                assert fresh["duplicate"] is False and fresh["order"]["status"] == "NEW"
                history = await ok(client, "get_order_history", {"symbol": "BTCUSDT"})
                cids = sorted(o["client_order_id"] for o in history["orders"])
                assert cids == ["held-placed", "held-unplaced"]  # each exactly once on the exchange
                assert {i["client_order_id"]: i["outcome"] for i in history["intents"]} == {
                    "held-placed": PLACED,
                    "held-unplaced": PLACED,
                }
                auditor = await connect(url, token=AUDITOR)
                audit = await ok(auditor, "get_audit_log", {"kind": "safety_event"})
                seen = {e["client_order_id"]: (e["tool"], e["status"]) for e in audit["entries"]}
                assert seen == {
                    "held-placed": ("intent_reconciled", PLACED),
                    "held-unplaced": ("intent_reconciled", NOT_PLACED),
                }
            finally:
                if auditor is not None:
                    await auditor.close()
                await client.close()
    finally:
        await sim.stop()


async def test_every_order_sent_is_journaled_with_its_outcome(data_dir: Path, tmp_path: Path) -> None:
    safety = SafetyConfig(max_order_notional=Decimal(1_000_000), max_daily_notional=Decimal(10_000_000))
    config = ToolsetConfig(safety=replace(safety, confirm_above_notional=None))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        srv.sim.step(2000)
        price = (await bid(srv.sim) * Decimal("0.99")).quantize(Decimal("0.01"))
        async with srv.client() as c:
            placed = await ok(c, "place_order", limit_buy("kept-1", price))
            replaced = await ok(
                c,
                "replace_order",
                {"symbol": "BTCUSDT", "order_id": placed["order"]["order_id"], "price": str(price - 1)},
            )
            new_cid = replaced["order"]["client_order_id"]
            too_big = {
                **limit_buy("too-big", (price * Decimal("1.02")).quantize(Decimal("0.01"))),
                "side": "SELL",
                "quantity": "5",
            }
            refused = await call(c, "place_order", too_big)  # more BTC than the account holds: the exchange says no
            assert refused["isError"] and refused["structuredContent"]["error"]["code"] == "exchange_error", refused
            history = await ok(c, "get_order_history", {"symbol": "BTCUSDT"})
        intents = {i["client_order_id"]: i for i in history["intents"]}
        assert set(intents) == {"kept-1", new_cid, "too-big"}
        assert intents["kept-1"]["outcome"] == PLACED and intents["kept-1"]["order_id"] == str(
            placed["order"]["order_id"]
        )
        assert intents[new_cid]["outcome"] == PLACED and intents[new_cid]["price"] == str(price - 1)
        assert intents["too-big"]["outcome"] == "rejected" and intents["too-big"]["caller"] == "trader"
        assert intents["too-big"]["note"] == refused["structuredContent"]["error"]["code"]


def oco_sell(list_cid: str, bid_price: Decimal) -> dict[str, Any]:
    """A SELL OCO of 0.001 BTC: its limit leg 1 % above the bid, its stop 1 % below."""
    tick = Decimal("0.01")
    return {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "quantity": "0.001",
        "price": str((bid_price * Decimal("1.01")).quantize(tick)),
        "stop_price": str((bid_price * Decimal("0.99")).quantize(tick)),
        "stop_limit_price": str((bid_price * Decimal("0.985")).quantize(tick)),
        "list_client_order_id": list_cid,
    }


async def test_an_oco_killed_between_dispatch_and_reply_is_reconciled_by_its_list_client_order_id(
    data_dir: Path, tmp_path: Path
) -> None:
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir))
    await sim.start()
    var = tmp_path / "var"
    try:
        sim.step(2000)
        price = await bid(sim)
        open_before = await kill_while_held(
            sim, var, "place_oco", oco_sell("oco-placed", price), oco_sell("oco-unplaced", price)
        )
        assert open_before == {"oco-placed": OCO, "oco-unplaced": OCO}  # journaled before sending
        lists = [lst for lst in sim.engine.lists.values() if lst.list_client_order_id.startswith("oco-")]
        assert [lst.list_client_order_id for lst in lists] == ["oco-placed"]

        async with serve_on_sim(sim, var) as (url, _, lines):
            assert sum("reconciled at start-up" in line for line in lines) == 2, "".join(lines)
            client = await connect(url, token=TRADER)
            try:
                history = await ok(client, "get_order_history", {"symbol": "BTCUSDT"})
                outcomes = {i["client_order_id"]: (i["outcome"], i["order_id"]) for i in history["intents"]}
                assert outcomes == {
                    "oco-placed": (PLACED, str(lists[0].order_list_id)),
                    "oco-unplaced": (NOT_PLACED, None),
                }
                # retried: the placed list is answered as a duplicate (nothing sent), the other one is placed now
                again = await ok(client, "place_oco", oco_sell("oco-placed", price))
                assert again["duplicate"] is True and again["order_list_id"] == lists[0].order_list_id
                fresh = await ok(client, "place_oco", oco_sell("oco-unplaced", price))
                assert fresh["duplicate"] is False
                cids = sorted(lst.list_client_order_id for lst in sim.engine.lists.values())
                assert [c for c in cids if c.startswith("oco-")] == ["oco-placed", "oco-unplaced"]  # each once
            finally:
                await client.close()
    finally:
        await sim.stop()
