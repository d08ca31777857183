"""An order is never sent twice: after a placement whose outcome is unknown (HTTP 5xx, a reply that never comes), the
adapter asks the exchange by client order id before it sends anything again, and sends nothing more when it cannot
ask (the simulator's fault injection, and a loopback TCP proxy that swallows replies or refuses connections)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.errors import ExchangeUnavailable
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side
from tradingmcp.sim.app import Simulator

from .conftest import sim_config
from .tcpproxy import Fault, TcpProxy

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


def orders_counted(sim: Simulator) -> int:
    """Placements the exchange counted today for the dev key: every ``order.place`` / ``POST /api/v3/order`` that
    reached it, whether it made an order or was refused (Binance's ``X-MBX-ORDER-COUNT-1D``)."""
    return sim.state.limiter.order_counts("sim-key", sim.state.server_ms())[1]


async def test_dropped_reply_is_settled_by_lookup_with_one_send(sim: Simulator, proxy: TcpProxy) -> None:
    """The TCP proxy swallows the order channel's replies: the order is made, its reply never comes (unknown
    outcome); the lookup over REST finds it and nothing is sent again."""
    async with BinanceAdapter(sim_config(sim, ws_api_url=proxy.url, request_timeout_s=0.3)) as ex:
        before = orders_counted(sim)
        proxy.fault = Fault.SWALLOW_REPLIES
        got = await ex.place_order(order("dropped-1"))
        assert got.client_order_id == "dropped-1" and got.status is OrderStatus.NEW
        assert orders_counted(sim) - before == 1
        assert await placed_with(sim, ex, "dropped-1") == [got.order_id]


async def test_failed_lookup_after_dropped_reply_sends_nothing_more(
    sim: Simulator, proxy: TcpProxy, adapter: BinanceAdapter
) -> None:
    """The reply is swallowed and the exchange's REST side (where the lookup goes) refuses connections: the outcome
    stays unknown, so the adapter sends nothing more and says to query by client order id first."""
    rest = TcpProxy("127.0.0.1", sim.port)
    await rest.start()
    try:
        config = sim_config(
            sim, ws_api_url=proxy.url, rest_url=f"http://127.0.0.1:{rest.port}/api", request_timeout_s=0.3
        )
        async with BinanceAdapter(config) as ex:
            before = orders_counted(sim)
            proxy.fault = Fault.SWALLOW_REPLIES
            rest.refuse = True
            rest.reset_all()
            with pytest.raises(ExchangeUnavailable) as info:
                await ex.place_order(order("blind-1"))
            text = str(info.value)
            assert "unknown outcome" in text and "checking it failed" in text
            assert "query get_order(client_order_id='blind-1') before placing it again" in text
            assert orders_counted(sim) - before == 1  # sent once: never again after the failed lookup
    finally:
        await rest.close()
    assert len(await placed_with(sim, adapter, "blind-1")) == 1  # the one send did make the order
