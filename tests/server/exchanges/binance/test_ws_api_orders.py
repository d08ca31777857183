"""Orders over the Binance WebSocket API (``order.place``/``order.cancel``/``order.cancelReplace``) on our order
channel, REST as the fallback when the WS API is down, the unknown-outcome rule and rate-limit accounting on that path (simulator, real
python-binance, real sockets on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
import time
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side
from tradingmcp.sim.app import Simulator

from .conftest import sim_config

pytestmark = pytest.mark.data


def limit_buy(cid: str, price: str = "50000") -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal(price), client_order_id=cid
    )


def dead_url() -> str:
    """An http URL on a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


async def ws_connected(adapter: BinanceAdapter) -> None:
    """Start the user data stream as a server does (on the order channel's connection, opened on adapter start) and
    check that connection is up."""
    async with asyncio.timeout(5):
        await adapter.start_user_stream()
    assert adapter.ws.connected


async def test_orders_go_over_the_ws_api(sim: Simulator, adapter: BinanceAdapter) -> None:
    await ws_connected(adapter)
    rest_url = adapter.client.API_URL
    adapter.client.API_URL = adapter.client.API_TESTNET_URL = dead_url()  # any REST request would now fail
    try:
        placed = await adapter.place_order(limit_buy("ws-place-1"))
        assert placed.client_order_id == "ws-place-1" and placed.status is OrderStatus.NEW
        replaced = await adapter.cancel_replace(limit_buy("ws-place-2", "50100"), cancel_order_id=placed.order_id)
        assert replaced.new_order is not None and replaced.new_order.client_order_id == "ws-place-2"
        cancelled = await adapter.cancel_order("BTCUSDT", client_order_id="ws-place-2")
        assert cancelled.status is OrderStatus.CANCELED
        now = int(time.time() * 1000)
        # the limiter adopted the exchange's own counts from the replies' rateLimits
        usage = {(u.kind, u.interval_s): u.used for u in adapter.limiter.usage()}
        assert usage[("ORDERS", 10)] == sim.state.limiter.order_counts("sim-key", now)[0] == 2
        assert usage[("REQUEST_WEIGHT", 60)] == sim.state.limiter.used_weight("127.0.0.1", now)
    finally:
        adapter.client.API_URL = adapter.client.API_TESTNET_URL = rest_url
    assert adapter.ws.requests == {
        "userDataStream.subscribe.signature": 1,
        "order.place": 1,
        "order.cancelReplace": 1,
        "order.cancel": 1,
    }
    mine = {o.client_order_id: o.status for o in await adapter.all_orders("BTCUSDT")}
    assert mine == {"ws-place-1": OrderStatus.CANCELED, "ws-place-2": OrderStatus.CANCELED}


async def test_rest_is_the_fallback_when_the_ws_api_is_down(sim: Simulator) -> None:
    down = dead_url().replace("http://", "ws://").replace("/api", "/ws-api/v3")
    async with BinanceAdapter(sim_config(sim, ws_api_url=down)) as adapter:
        placed = await adapter.place_order(limit_buy("rest-fallback-1"))
        assert placed.status is OrderStatus.NEW
        assert (await adapter.cancel_order("BTCUSDT", order_id=placed.order_id)).status is OrderStatus.CANCELED
        assert not adapter.ws.connected and adapter.ws.requests == {}
        assert [o.client_order_id for o in await adapter.all_orders("BTCUSDT")] == ["rest-fallback-1"]


async def test_lost_ws_reply_is_found_by_client_id_not_resent(sim: Simulator, adapter: BinanceAdapter) -> None:
    await ws_connected(adapter)
    sim.state.faults.lose_order_replies = 1  # executed, but the WS API reply is a 503
    got = await adapter.place_order(limit_buy("ws-lost-1"))
    assert sim.state.faults.lose_order_replies == 0 and adapter.ws.requests["order.place"] == 1
    assert got.client_order_id == "ws-lost-1" and got.status is OrderStatus.NEW
    assert [o.order_id for o in await adapter.all_orders("BTCUSDT")] == [got.order_id]  # exactly one order


async def test_ws_cancel_replace_partial_failure_is_a_result(sim: Simulator, adapter: BinanceAdapter) -> None:
    await ws_connected(adapter)
    first = await adapter.place_order(limit_buy("ws-cr-1"))
    too_big = OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.5"), price=Decimal("50000"), client_order_id="x"
    )
    result = await adapter.cancel_replace(too_big, cancel_order_id=first.order_id)  # 25000 USDT > balance: 409
    assert (result.cancel_result, result.new_order_result) == ("SUCCESS", "FAILURE")
    assert result.cancelled is not None and result.cancelled.order_id == first.order_id and result.new_order is None
    assert adapter.ws.requests["order.cancelReplace"] == 1
