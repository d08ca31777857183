"""The desk's public seams for observers (metrics, :mod:`tradingmcp.perf`): its placement observers hear every order
the ``place_order`` tools placed (with the tool arguments) and no dry run or duplicate, one that fails costs the
placement nothing, and its in-flight count is down again once the order's answer is in (it is up while the order is
sent: ``tests/perf/test_orderpath.py``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.server.trading.desk import Placement
from tradingmcp.server.venues import Venue

from ..support import ToolServer, ok


async def test_placement_observers_hear_each_placed_order(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    desk = tool_server.stack.toolset.desk
    assert desk is not None
    heard: list[tuple[str, dict[str, Any], Placement, int]] = []

    def record(venue: Venue, args: dict[str, Any], placement: Placement) -> None:
        heard.append((venue.name, args, placement, desk.in_flight))

    def broken(venue: Venue, args: dict[str, Any], placement: Placement) -> None:
        raise RuntimeError("observer bug")

    desk.placement_observers += [broken, record]
    async with tool_server.client() as c:
        bid = Decimal((await ok(c, "get_ticker", {"symbol": "BTCUSDT"}))["bid"])
        price = str((bid * Decimal("0.99")).quantize(Decimal("0.01")))
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price, "client_order_id": "seam-1"}
        await ok(c, "place_order", {**order, "dry_run": True})
        assert heard == []  # a dry run places nothing
        placed = await ok(c, "place_order", order)
        again = await ok(c, "place_order", order)  # the same client order id: the existing order, nothing placed
        assert again["duplicate"] is True
        items = [{**order, "client_order_id": f"seam-b{i}"} for i in (1, 2)]
        batch = await ok(c, "place_orders_batch", {"orders": items})
        assert batch["ok"] == 2
    assert heard[0][1]["client_order_id"] == "seam-1"  # the batch's items are placed concurrently: in any order
    assert sorted(h[1]["client_order_id"] for h in heard[1:]) == ["seam-b1", "seam-b2"]
    name, args, placement, in_flight = heard[0]
    assert name == "binance" and args == order and in_flight == 0  # told after the send, with the tool's arguments
    assert placement.order is not None and placement.order.order_id == placed["order"]["order_id"]
    assert placement.checked is not None and not placement.duplicate
    assert desk.in_flight == 0
