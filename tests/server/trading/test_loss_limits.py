"""Loss, drawdown and exposure limits on the simulator with the recording: a strategy forced to lose (market round
trips: it pays the spread and the fees on every one) trips ``max_daily_loss`` at the first fill that reaches it, after
which nothing risk-increasing reaches the exchange while selling what is held still does; the same across restarts of
a ``tradingmcp serve`` process mid-day (the day is rebuilt from the exchange's fills and the journal).
"""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig
from tradingmcp.server.trading.safety import now_ms as safety_now_ms
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.bybit.face import BYBIT_SIM_KEY
from tradingmcp.sim.config import BINANCE_SIM_KEY
from tradingmcp.sim.mexc import MEXC_SIM_KEY

from ..support import AUDITOR_TOKEN, TRADER_TOKEN, bid, call, held, ok, serve_on_sim, start_tool_server

STREAM = "notifications/tradingmcp/stream"
LIMIT = Decimal("8")
"""max_daily_loss of the tests (USDT): a few round trips of 0.01 BTC."""


def market(side: str, qty: str = "0.01") -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": qty}


async def loss_now(c: McpClient, previous: Decimal | None = None) -> tuple[Decimal, dict[str, Any]]:
    """The day's loss and the rails of ``get_trading_limits``; with ``previous``, waits (bounded) until the loss
    moved from it (the fill's event has been counted)."""
    async with asyncio.timeout(10):
        while True:
            rails = (await ok(c, "get_trading_limits", {}))["rails"]
            loss = Decimal(rails["limits"]["max_daily_loss"]["used"])
            if previous is None or loss != previous:
                return loss, rails
            await asyncio.sleep(0.01)  # the fill's user event follows the order's answer


async def lose_until_refused(
    c: McpClient, start: Decimal = Decimal(0), sells_pass: bool = True
) -> tuple[list[Decimal], dict[str, Any]]:
    """Market round trips until an order is refused; returns the loss after each fill and the refusal. With
    ``sells_pass`` the refused one must be a BUY: a SELL (of the BTC the last BUY added) reduces risk."""
    losses = [start]
    for i in range(60):
        side = "BUY" if i % 2 == 0 else "SELL"
        res = await call(c, "place_order", market(side))
        if res["isError"]:
            assert side == "BUY" or not sells_pass, res["content"][0]["text"]
            return losses, res["structuredContent"]["error"]
        loss, _ = await loss_now(c, losses[-1])
        losses.append(loss)
    raise AssertionError(f"never refused; losses {losses}")


async def exchange_orders(c: McpClient) -> list[dict[str, Any]]:
    return list((await ok(c, "get_order_history", {"symbol": "BTCUSDT", "limit": 500}))["orders"])


def assert_tripped_within_one_fill(losses: list[Decimal], refusal: dict[str, Any]) -> None:
    assert refusal["code"] == "safety_max_daily_loss", refusal
    first_over = next(i for i, loss in enumerate(losses) if loss >= LIMIT)
    assert first_over == len(losses) - 1 or all(x >= LIMIT for x in losses[first_over:])
    assert losses[first_over - 1] < LIMIT <= losses[first_over]  # tripped by the first fill that reached it
    assert Decimal(refusal["limit"]) == LIMIT and Decimal(refusal["value"]) >= LIMIT


async def test_a_losing_strategy_trips_the_daily_loss_limit_and_can_only_reduce(data_dir: Path, tmp_path: Path) -> None:
    config = ToolsetConfig(safety=SafetyConfig(max_daily_loss=LIMIT, confirm_above_notional=None))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        srv.sim.step(2000)
        async with srv.client() as c, srv.client(AUDITOR_TOKEN) as auditor:
            assert (await c.subscribe("orders:binance"))["isError"] is False
            loss, rails = await loss_now(c)
            assert loss == 0 and rails["limits"]["max_daily_loss"] == {"limit": "8", "used": "0", "state": "ok"}
            losses, refusal = await lose_until_refused(c)
            assert_tripped_within_one_fill(losses, refusal)
            _, rails = await loss_now(c)
            assert rails["limits"]["max_daily_loss"]["state"] == "tripped"
            assert rails["tripped"]["max_daily_loss"]["limit"] == "8"
            status = await ok(c, "get_server_status", {})
            (venue,) = status["venues"]
            assert venue["mode"] == "sim" and venue["rails"]["limits"]["max_daily_loss"]["state"] == "tripped"
            assert venue["rails"]["limits"]["max_drawdown"]["state"] == "off"  # not configured

            before = await exchange_orders(c)
            price = str((await bid(srv.sim) * Decimal("0.99")).quantize(Decimal("0.01")))
            for args in (
                market("BUY", "0.001"),
                {**market("BUY"), "type": "LIMIT", "price": price, "time_in_force": "GTC"},
            ):
                res = await call(c, "place_order", args)
                assert res["isError"] and res["structuredContent"]["error"]["code"] == "safety_max_daily_loss"
            assert await exchange_orders(c) == before  # nothing risk-increasing reached the exchange
            sold = await ok(c, "place_order", market("SELL", "0.001"))  # reducing what is held still passes
            assert sold["order"]["status"] == "FILLED"
            sides = [o["side"] for o in (await exchange_orders(c))[len(before) :]]
            assert sides == ["SELL"]

            notes = [n for n in c.drain_notifications() if n.method == STREAM]
            pushed = [n.params["data"] for n in notes if n.params["data"].get("kind") == "limit_breach"]
            assert len(pushed) == 1 and pushed[0]["code"] == "safety_max_daily_loss"
            assert Decimal(pushed[0]["value"]) >= LIMIT and pushed[0]["state"] == "tripped"
            audit = await ok(auditor, "get_audit_log", {"kind": "safety_event"})
            assert [(e["tool"], e["error_code"]) for e in audit["entries"]] == [
                ("limit_breach", "safety_max_daily_loss")
            ]


async def test_on_breach_kill_cancels_open_orders_and_engages_the_kill_switch(data_dir: Path, tmp_path: Path) -> None:
    config = ToolsetConfig(safety=SafetyConfig(max_daily_loss=LIMIT, on_breach="kill", confirm_above_notional=None))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            price = str((await bid(srv.sim) * Decimal("1.02")).quantize(Decimal("0.01")))
            resting = await ok(
                c, "place_order", {**market("SELL", "0.001"), "type": "LIMIT", "price": price, "time_in_force": "GTC"}
            )
            assert resting["order"]["is_open"]
            losses, refusal = await lose_until_refused(c, sells_pass=False)
            assert refusal["code"] in ("safety_max_daily_loss", "safety_kill_switch"), refusal
            assert losses[-1] >= LIMIT > losses[-2]  # refused from the first fill that reached the limit on
            async with asyncio.timeout(10):
                while (await ok(c, "get_open_orders", {}))["orders"]:  # noqa: ASYNC110 - the kill runs as a task
                    await asyncio.sleep(0.02)
            limits = await ok(c, "get_trading_limits", {})
            assert limits["kill_switch"]["active"] is True and limits["trading_allowed"] is False
            res = await call(c, "place_order", market("SELL", "0.001"))
            assert res["isError"] and res["structuredContent"]["error"]["code"] == "safety_kill_switch"


async def test_exposure_caps_refuse_orders_that_add_and_pass_orders_that_reduce(data_dir: Path, tmp_path: Path) -> None:
    # the simulator's account holds 1 BTC: tens of thousands of USDT, far above a cap of 1,000
    config = ToolsetConfig(safety=SafetyConfig(max_asset_exposure=Decimal(1000), confirm_above_notional=None))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            res = await call(c, "place_order", market("BUY", "0.001"))
            assert res["isError"], res["content"][0]["text"]
            refusal = res["structuredContent"]["error"]
            assert refusal["code"] == "safety_max_asset_exposure" and refusal["asset"] == "BTC"
            assert Decimal(refusal["held"]) > 1000 and refusal["limit"] == "1000"
            sold = await ok(c, "place_order", market("SELL", "0.001"))
            assert sold["order"]["status"] == "FILLED"
            rails = (await ok(c, "get_trading_limits", {}))["rails"]
            assert rails["limits"]["max_asset_exposure"]["state"] == "tripped"
            assert Decimal(rails["limits"]["max_asset_exposure"]["used"]["BTC"]) > 1000


async def test_the_day_survives_restarts_of_the_server_process(data_dir: Path, tmp_path: Path) -> None:
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir))
    await sim.start()
    var = tmp_path / "var"
    env = {"TRADINGMCP_SAFETY_MAX_DAILY_LOSS": str(LIMIT)}
    try:
        sim.step(2000)
        async with serve_on_sim(sim, var, **env) as (url, proc, _):
            c = await connect(url, token=TRADER_TOKEN)
            try:  # two round trips: a loss, well below the limit
                losses = [Decimal(0)]
                for side in ("BUY", "SELL", "BUY", "SELL"):
                    await ok(c, "place_order", market(side))
                    losses.append((await loss_now(c, losses[-1]))[0])
                assert 0 < losses[-1] < LIMIT
            finally:
                await c.close()
            proc.send_signal(signal.SIGKILL)
            await proc.wait()

        async with serve_on_sim(sim, var, **env) as (url, proc, _):
            c = await connect(url, token=TRADER_TOKEN)
            try:
                restored, rails = await loss_now(c)
                assert restored == losses[-1]  # rebuilt from the exchange's fills of today
                assert rails["limits"]["max_daily_loss"]["state"] == "ok"
                more, refusal = await lose_until_refused(c, restored)
                assert_tripped_within_one_fill(losses[:-1] + more, refusal)
                tripped_at = await exchange_orders(c)
            finally:
                await c.close()
            proc.send_signal(signal.SIGKILL)
            await proc.wait()

        async with serve_on_sim(sim, var, **env) as (url, proc, _):
            c = await connect(url, token=TRADER_TOKEN)
            try:
                _, rails = await loss_now(c)
                assert rails["limits"]["max_daily_loss"]["state"] == "tripped"  # latched for the day
                res = await call(c, "place_order", market("BUY", "0.001"))
                assert res["isError"] and res["structuredContent"]["error"]["code"] == "safety_max_daily_loss"
                assert await exchange_orders(c) == tripped_at  # nothing risk-increasing was sent
                assert (await ok(c, "place_order", market("SELL", "0.001")))["order"]["status"] == "FILLED"
            finally:
                await c.close()
    finally:
        await sim.stop()


async def test_open_bids_count_against_the_exposure_cap(data_dir: Path, tmp_path: Path) -> None:
    # an account holding USDT only: what counts toward the BTC cap is the quote its resting bids commit
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir, balances={"USDT": "10000"}))
    await sim.start()
    try:
        sim.step(2000)
        price = (await bid(sim) * Decimal("0.98")).quantize(Decimal("0.01"))  # rests, inside the price band
        one = price * Decimal("0.001")
        cap = (one * Decimal("2.5")).quantize(Decimal("0.01"))
        env = {"TRADINGMCP_SAFETY_MAX_ASSET_EXPOSURE": str(cap)}
        async with serve_on_sim(sim, tmp_path / "var", **env) as (url, _, _):
            c = await connect(url, token=TRADER_TOKEN)
            try:
                resting = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001",
                           "price": str(price), "time_in_force": "GTC"}  # fmt: skip
                first = await ok(c, "place_order", resting)
                await ok(c, "place_order", resting)
                rails = (await ok(c, "get_trading_limits", {}))["rails"]
                assert Decimal(rails["limits"]["max_asset_exposure"]["used"]["BTC"]) == 2 * one
                res = await call(c, "place_order", resting)  # a third bid would commit 3 × one > the cap
                assert res["isError"], res["content"][0]["text"]
                refusal = res["structuredContent"]["error"]
                assert refusal["code"] == "safety_max_asset_exposure" and refusal["asset"] == "BTC"
                assert Decimal(refusal["held"]) == 2 * one and Decimal(refusal["value"]) == 3 * one
                await ok(c, "cancel_order", {"symbol": "BTCUSDT", "order_id": first["order"]["order_id"]})
                again = await ok(c, "place_order", resting)  # the cancelled bid no longer commits anything
                assert again["order"]["status"] == "NEW"
                open_now = await ok(c, "get_open_orders", {"symbol": "BTCUSDT"})
                assert len(open_now["orders"]) == 2
                # a bid still on its way to the exchange commits its quote too: one open, one in flight, no third
                await ok(c, "cancel_order", {"symbol": "BTCUSDT", "order_id": again["order"]["order_id"]})
                sim.state.faults.hold_orders_unplaced = 1  # sent, never answered: in flight until the end
                in_flight = asyncio.create_task(c.call_tool("place_order", resting))
                try:
                    await held(sim, 1)
                    res = await call(c, "place_order", resting)
                    assert res["isError"], res["content"][0]["text"]
                    refusal = res["structuredContent"]["error"]
                    assert refusal["code"] == "safety_max_asset_exposure"
                    assert Decimal(refusal["held"]) == 2 * one
                finally:
                    in_flight.cancel()
                    await asyncio.gather(in_flight, return_exceptions=True)
            finally:
                await c.close()
    finally:
        await sim.stop()


async def test_a_filled_buy_counts_before_its_balance_update_arrives(data_dir: Path, tmp_path: Path) -> None:
    # the venue answers a MARKET BUY as filled, but the balance update that moves the holding is late: the bought
    # quantity must count toward the cap from the answer on, or BUYs sent meanwhile pass the cap one by one
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir, balances={"USDT": "10000"}))
    await sim.start()
    try:
        sim.step(2000)
        one = await bid(sim) * Decimal("0.001")
        cap = (one * Decimal("2.5")).quantize(Decimal("0.01"))
        env = {"TRADINGMCP_SAFETY_MAX_ASSET_EXPOSURE": str(cap)}
        async with serve_on_sim(sim, tmp_path / "var", **env) as (url, _, _):
            c = await connect(url, token=TRADER_TOKEN)
            try:
                sim.state.faults.hold_positions = True
                for _ in range(2):
                    assert (await ok(c, "place_order", market("BUY", "0.001")))["order"]["status"] == "FILLED"
                rails = (await ok(c, "get_trading_limits", {}))["rails"]
                used = Decimal(rails["limits"]["max_asset_exposure"]["used"]["BTC"])
                assert 2 * one * Decimal("0.99") < used < 2 * one * Decimal("1.01"), (used, one)
                res = await call(c, "place_order", market("BUY", "0.001"))
                assert res["isError"], res["content"][0]["text"]
                refusal = res["structuredContent"]["error"]
                assert refusal["code"] == "safety_max_asset_exposure" and refusal["asset"] == "BTC"
                buys = [o for o in await exchange_orders(c) if o["side"] == "BUY"]
                assert len(buys) == 2  # the third never reached the exchange
                assert sim.release_positions() >= 2
                # once the balance update is in, the holding is the balance (0.002 BTC less the fees paid in BTC):
                # selling 0.001 of it reduces risk and passes, where before the update it counted as adding
                async with asyncio.timeout(20):
                    while True:
                        sold = await call(c, "place_order", market("SELL", "0.001"))
                        if not sold["isError"]:
                            break
                        assert sold["structuredContent"]["error"]["code"] == "safety_max_asset_exposure", sold
                        await asyncio.sleep(0.05)
                assert sold["structuredContent"]["order"]["status"] == "FILLED"
            finally:
                await c.close()
    finally:
        await sim.stop()


async def test_the_day_is_rebuilt_from_every_fill_past_one_page(data_dir: Path, tmp_path: Path) -> None:
    """More fills today than one ``myTrades`` page (1,000) holds: the rebuild pages through them all."""
    config = ToolsetConfig(safety=SafetyConfig(max_daily_loss=Decimal(1_000_000), confirm_above_notional=None))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            await ok(c, "place_order", market("BUY"))  # the journal now names BTCUSDT as traded today
        engine = srv.sim.engine
        for i in range(1_050):  # another program on the same account: fills the server hears of on its stream
            side = "SELL" if i % 2 == 0 else "BUY"
            order = {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": "0.001"}
            engine.new_order(BINANCE_SIM_KEY, order)
            srv.sim.dispatch_engine_events()
        today = [t for t in engine.account_of(BINANCE_SIM_KEY).trades if t.symbol == "BTCUSDT"]
        assert len(today) > 1_000
        desk = srv.stack.toolset.desk
        assert desk is not None
        venue = srv.venues.get("binance")
        rails = desk.desk(venue).rails
        assert rails is not None
        async with asyncio.timeout(20):
            while True:
                if len(rails.seen) >= len(today):  # every fill's user event has been counted
                    break
                await asyncio.sleep(0.05)
        live_pnl = rails.day_pnl()
        rails.day = -1  # as after a restart: the day is gone from memory
        rails.roll(safety_now_ms())
        assert not rails.seen
        await desk.restore_rails()
        assert len(rails.seen) == len(today)
        assert rails.day_pnl() == live_pnl


@pytest.mark.parametrize(("exchange", "api_key"), [("mexc", MEXC_SIM_KEY), ("bybit", BYBIT_SIM_KEY)])
async def test_a_venue_that_selects_fills_by_time_rebuilds_past_one_page(
    data_dir: Path, tmp_path: Path, exchange: str, api_key: str
) -> None:
    """MEXC and Bybit answer at most 100 fills a request and select them by time only: the rebuild reads the day in
    time windows, splitting each full one, and finds every fill."""
    config = ToolsetConfig(safety=SafetyConfig(max_daily_loss=Decimal(1_000_000), confirm_above_notional=None))
    async with start_tool_server(data_dir, tmp_path, config, exchange=exchange) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            await ok(c, "place_order", {**market("BUY"), "exchange": exchange})  # BTCUSDT traded today
        engine = srv.sim.engine
        for i in range(260):  # another program on the same account, as the replayed market moves on
            side = "SELL" if i % 2 == 0 else "BUY"
            engine.new_order(api_key, {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": "0.001"})
            srv.sim.dispatch_engine_events()
            if i % 20 == 19:
                srv.sim.step(50)  # the exchange's clock moves with the replay
        times = {t.time for t in engine.account_of(api_key).trades}
        assert len(times) > 5  # fills spread over several milliseconds, as a venue stamps them
        today = [t for t in engine.account_of(api_key).trades if t.symbol == "BTCUSDT"]
        assert len(today) > 250
        desk = srv.stack.toolset.desk
        assert desk is not None
        rails = desk.desk(srv.venues.get(exchange)).rails
        assert rails is not None
        async with asyncio.timeout(20):
            while len(rails.seen) < len(today):  # noqa: ASYNC110 - every fill's user event counted; no event to wait on
                await asyncio.sleep(0.05)
        live_pnl = rails.day_pnl()
        rails.day = -1  # as after a restart: the day is gone from memory
        rails.roll(safety_now_ms())
        await desk.restore_rails()
        assert len(rails.seen) == len(today)
        assert rails.day_pnl() == live_pnl
