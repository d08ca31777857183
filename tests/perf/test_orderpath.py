"""The server's order-path warmer (``serve --busy-poll``): re-running the last placement's pure steps sends nothing
and changes nothing — not the simulator's orders, not the WS API requests or their ids, not the rate-limit counts,
not the desk's reservations, open orders or remembered client ids —, it is held off exactly while an order is in
flight, the reply it re-parses is the placed order's, and :func:`attach_server` runs it from a spinning loop."""

from __future__ import annotations

import asyncio
import gc
import sys
from decimal import Decimal
from typing import Any

import pytest

from tests.server.support import ToolServer, ok
from tradingmcp.perf import SWITCH_INTERVAL_S, attach_server
from tradingmcp.perf.orderpath import OrderPathWarmer, exchange_steps, order_reply
from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.trading.desk import Placement, TradingDesk
from tradingmcp.server.venues import Venue


def _desk(ts: ToolServer) -> TradingDesk:
    desk = ts.stack.toolset.desk
    assert desk is not None
    return desk


def _warmer(ts: ToolServer) -> OrderPathWarmer:
    """A warmer told of the desk's placements, as :func:`attach_server` sets it up (without the spin)."""
    desk = _desk(ts)
    warmer = OrderPathWarmer(desk)
    desk.placement_observers.append(warmer.remember)
    return warmer


def _state(ts: ToolServer) -> dict[str, Any]:
    venue = ts.venues.get()
    adapter = venue.adapter
    assert isinstance(adapter, BinanceAdapter)
    vd = _desk(ts).desk(venue)
    return {
        "sim_orders": sum(len(a.orders) for a in ts.sim.engine.accounts.values()),
        "ws_requests": dict(adapter.ws.requests),
        "ws_next_id": adapter.ws.next_id,
        "limiter": repr(adapter.limiter.core.__dict__),
        "daily": vd.safety.today_notional(),
        "open": vd.open_orders.count,
        "pending": vd.pending_resting,
        "ids": len(vd.ids),
    }


async def _order(ts: ToolServer, c: Any, below_bid: str = "0.99") -> dict[str, str]:
    bid = Decimal((await ok(c, "get_ticker", {"symbol": "BTCUSDT"}))["bid"])
    price = str((bid * Decimal(below_bid)).quantize(Decimal("0.01")))
    return {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price}


async def test_warming_sends_nothing_and_changes_nothing(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    assert exchange_steps(tool_server.venues.get().adapter) is not None  # Binance: params, frame, reply parse too
    warmer = _warmer(tool_server)
    warmer.warm()  # nothing placed yet: nothing to re-run
    assert warmer.runs == 0
    async with tool_server.client() as c:
        order = await _order(tool_server, c)
        placed = await ok(c, "place_order", order)
        before = _state(tool_server)
        for _ in range(200):
            warmer.warm()
        assert warmer.runs == 200
        assert _state(tool_server) == before
        # the real order path still works after warming, and the next order is placed once
        again = await ok(c, "place_order", order)
        assert again["order"]["order_id"] != placed["order"]["order_id"] and again["duplicate"] is False
        assert _state(tool_server)["sim_orders"] == before["sim_orders"] + 1


async def test_no_warming_while_an_order_is_in_flight(tool_server: ToolServer) -> None:
    """A warm between sending an order and reading its reply would only delay the reply: the desk's in-flight count
    holds it off."""
    tool_server.sim.step(2000)
    desk = _desk(tool_server)
    warmer = _warmer(tool_server)
    async with tool_server.client() as c:
        order = await _order(tool_server, c)
        await ok(c, "place_order", order)  # the template the warmer re-runs
        asked: list[tuple[int, int]] = []  # (orders in flight, warm runs after the call), one per loop turn

        async def warm_every_turn() -> None:
            while True:
                in_flight = desk.in_flight
                warmer.warm()
                asked.append((in_flight, warmer.runs))
                await asyncio.sleep(0)

        runs_before = warmer.runs
        task = asyncio.get_running_loop().create_task(warm_every_turn())
        try:
            await ok(c, "place_order", order)
        finally:
            task.cancel()
    assert any(in_flight for in_flight, _ in asked), "the order was never seen in flight"
    previous = runs_before
    for in_flight, runs in asked:  # a run on every turn but those with the order in flight
        assert runs - previous == (0 if in_flight else 1)
        previous = runs
    assert desk.in_flight == 0


async def test_the_reply_it_reparses_is_the_placed_orders(tool_server: ToolServer) -> None:
    """The warmer re-parses a reply rebuilt from the placed order (:func:`order_reply`): Binance's parser reads it
    back as exactly that order, for a resting order and for one that filled at once (its ``fills``)."""
    tool_server.sim.step(2000)
    placed: list[Placement] = []

    def keep(venue: Venue, args: dict[str, Any], placement: Placement) -> None:
        placed.append(placement)

    _desk(tool_server).placement_observers.append(keep)
    async with tool_server.client() as c:
        await ok(c, "place_order", await _order(tool_server, c))  # rests below the bid
        await ok(c, "place_order", await _order(tool_server, c, below_bid="1.01"))  # crosses: fills now
    orders = [p.order for p in placed if p.order is not None]
    assert len(orders) == 2 and orders[1].fills, orders
    for order in orders:
        assert parse.order(order_reply(order)) == order


async def test_attach_server_spins_warms_and_detaches(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    desk = _desk(tool_server)
    switch_interval = sys.getswitchinterval()
    tuning = attach_server(desk)
    try:
        assert sys.getswitchinterval() == pytest.approx(
            SWITCH_INTERVAL_S
        )  # the journal's writer gets the GIL back sooner
        async with tool_server.client() as c:
            await ok(c, "place_order", await _order(tool_server, c))
            await asyncio.sleep(0.05)
        assert tuning.poller.running and tuning.spins > 1_000, tuning.spins
        assert tuning.warm_runs >= 10, tuning.warm_runs  # about one per ms once an order was placed
        assert tuning.poller.held > 0  # the spin paused while the journal's writer committed the order's intent
        assert tuning.frozen is not None and gc.get_freeze_count() > 10_000  # the heap set aside
    finally:
        tuning.stop()
    assert not tuning.poller.running and desk.placement_observers == []
    assert sys.getswitchinterval() == switch_interval and gc.get_freeze_count() == 0
    runs = tuning.warm_runs
    await asyncio.sleep(0.02)
    assert tuning.warm_runs == runs
    tuning.stop()  # idempotent


async def test_attach_server_without_an_exchange_only_spins() -> None:
    tuning = attach_server(None)
    try:
        await asyncio.sleep(0.02)
        assert tuning.spins > 100 and tuning.warmer is None and tuning.warm_runs == 0
    finally:
        tuning.stop()
    assert not tuning.poller.running
