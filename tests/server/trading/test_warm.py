"""Order-path warming (``serve --busy-poll``): re-running the last placement's pure steps sends nothing and changes
nothing — not the simulator's orders, not the WS API requests or their ids, not the rate-limit counts, not the
desk's reservations, open orders or remembered client ids — and it runs from a spinning loop."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.transport.busypoll import BusyPoll

from ..support import ToolServer, ok


def _state(ts: ToolServer) -> dict[str, Any]:
    venue = ts.venues.get()
    adapter = venue.adapter
    assert isinstance(adapter, BinanceAdapter)
    desk = ts.stack.toolset.desk
    assert desk is not None
    vd = desk.desk(venue)
    return {
        "sim_orders": sum(len(a.orders) for a in ts.sim.engine.accounts.values()),
        "ws_requests": dict(adapter.ws.requests),
        "ws_next_id": adapter.ws._next_id,
        "limiter": repr(adapter.limiter.core.__dict__),
        "daily": vd.safety.today_notional(),
        "open": vd.open_orders.count,
        "pending": vd.pending_resting,
        "ids": len(vd.ids),
    }


async def test_warming_sends_nothing_and_changes_nothing(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    desk = tool_server.stack.toolset.desk
    assert desk is not None
    desk.warmer.warm()  # nothing placed yet: nothing to re-run
    assert desk.warmer.runs == 0
    async with tool_server.client() as c:
        bid = Decimal((await ok(c, "get_ticker", {"symbol": "BTCUSDT"}))["bid"])
        price = str((bid * Decimal("0.99")).quantize(Decimal("0.01")))
        placed = await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price})
        before = _state(tool_server)
        for _ in range(200):
            desk.warmer.warm()
        assert desk.warmer.runs == 200
        assert _state(tool_server) == before
        # the real order path still works after warming, and the next order is placed once
        again = await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price})
        assert again["order"]["order_id"] != placed["order"]["order_id"] and again["duplicate"] is False
        assert _state(tool_server)["sim_orders"] == before["sim_orders"] + 1


async def test_busy_poll_runs_warmers_and_drops_a_failing_one() -> None:
    ran: list[int] = []

    def good() -> None:
        ran.append(1)

    def bad() -> None:
        raise RuntimeError("boom")

    with BusyPoll(asyncio.get_running_loop(), [bad, good], warm_every_s=0.001) as poller:
        await asyncio.sleep(0.05)
    assert poller.warm_runs >= 10 and len(ran) == poller.warm_runs  # about one per ms while spinning
    assert poller.warmers == [good]  # the failing warmer was logged and dropped after its first failure


async def test_no_warming_while_an_order_is_in_flight(tool_server: ToolServer) -> None:
    """A warm between sending an order and reading its reply would only delay the reply: the desk holds it off."""
    tool_server.sim.step(2000)
    desk = tool_server.stack.toolset.desk
    assert desk is not None
    async with tool_server.client() as c:
        bid = Decimal((await ok(c, "get_ticker", {"symbol": "BTCUSDT"}))["bid"])
        price = str((bid * Decimal("0.99")).quantize(Decimal("0.01")))
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price}
        await ok(c, "place_order", order)  # the template the warmer re-runs
        asked: list[tuple[int, int]] = []  # (orders in flight, warm runs after the call), one per loop turn

        async def warm_every_turn() -> None:
            while True:
                in_flight = desk.warmer.in_flight
                desk.warmer.warm()
                asked.append((in_flight, desk.warmer.runs))
                await asyncio.sleep(0)

        runs_before = desk.warmer.runs
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
    assert desk.warmer.in_flight == 0
