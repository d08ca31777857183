"""An order is never sent twice: after a placement whose outcome is unknown (HTTP 5xx), the adapter asks the
exchange by client order id before it sends anything again (simulator fault injection, real python-binance)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.errors import ExchangeUnavailable
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side
from tradingmcp.sim.app import Simulator

pytestmark = pytest.mark.data


def order(cid: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal("50000"), client_order_id=cid
    )


async def placed_with(sim: Simulator, adapter: BinanceAdapter, cid: str) -> list[int | str]:
    return [o.order_id for o in await adapter.all_orders("BTCUSDT") if o.client_order_id == cid]


async def test_lost_reply_is_found_by_client_id_not_resent(sim: Simulator, adapter: BinanceAdapter) -> None:
    sim.state.faults.lose_order_replies = 1  # executed, but the reply is a 503
    got = await adapter.place_order(order("lost-reply-1"))
    assert got.client_order_id == "lost-reply-1" and got.status is OrderStatus.NEW
    assert sim.state.faults.lose_order_replies == 0  # the fault really fired
    assert await placed_with(sim, adapter, "lost-reply-1") == [got.order_id]  # exactly one order


async def test_unplaced_order_is_sent_once_more_after_checking(sim: Simulator, adapter: BinanceAdapter) -> None:
    sim.state.faults.fail_orders_unplaced = 1  # not executed, 503
    got = await adapter.place_order(order("unplaced-1"))
    assert sim.state.faults.fail_orders_unplaced == 0
    assert await placed_with(sim, adapter, "unplaced-1") == [got.order_id]


async def test_outcome_still_unknown_raises_and_places_nothing_twice(sim: Simulator, adapter: BinanceAdapter) -> None:
    sim.state.faults.fail_orders_unplaced = 2  # the first send and the one resend both fail
    with pytest.raises(ExchangeUnavailable):
        await adapter.place_order(order("unplaced-2"))
    assert await placed_with(sim, adapter, "unplaced-2") == []
    # the caller retries with the same client order id: one order, not two
    again = await adapter.place_order(order("unplaced-2"))
    assert await placed_with(sim, adapter, "unplaced-2") == [again.order_id]
