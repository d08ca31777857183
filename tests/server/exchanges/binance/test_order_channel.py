"""The WS API order channel (our own connection, ``binance.wsapi``) on real sockets: it opens on adapter start, a
drop sends the next order over REST until it reconnects, a connection cut or a reply that never comes after the
request was written is an unknown outcome settled by client order id (never a second order), and python-binance's
own connections (no longer used by the adapter) do not offer permessage-deflate. Faults come from a loopback TCP proxy in front of the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from binance import AsyncClient

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.wsapi import WsApiDown
from tradingmcp.server.exchanges.errors import ExchangeUnavailable
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side
from tradingmcp.sim.app import Simulator

from .conftest import sim_config
from .tcpproxy import Fault, TcpProxy

pytestmark = pytest.mark.data


def limit_buy(cid: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal("50000"), client_order_id=cid
    )


def place_params(cid: str) -> dict[str, str]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": "50000",
        "newClientOrderId": cid,
    }


async def orders_by_cid(adapter: BinanceAdapter) -> dict[str, int]:
    """How many orders the exchange holds per client order id (over REST)."""
    counts: dict[str, int] = {}
    for order in await adapter.all_orders("BTCUSDT"):
        counts[order.client_order_id] = counts.get(order.client_order_id, 0) + 1
    return counts


async def until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` every 5 ms (a connection state change has no event to wait on from here)."""
    for _ in range(int(timeout_s / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not true within {timeout_s} s")


@pytest.fixture
async def via_proxy(sim: Simulator, proxy: TcpProxy) -> AsyncIterator[BinanceAdapter]:
    """An adapter whose order channel goes through ``proxy`` (REST and the user data stream go direct)."""
    async with BinanceAdapter(sim_config(sim, ws_api_url=proxy.url)) as ex:
        yield ex


async def test_channel_opens_on_start_without_python_binance(sim: Simulator, adapter: BinanceAdapter) -> None:
    assert adapter.ws.connected and adapter.ws.connects == 1
    placed = await adapter.place_order(limit_buy("ch-1"))
    await adapter.cancel_order("BTCUSDT", order_id=placed.order_id)
    assert adapter.ws.requests == {"order.place": 1, "order.cancel": 1}
    assert adapter.client.ws_api.ws is None  # python-binance's WS API connection was never needed
    assert "WsApiChannel" in repr(adapter.ws) and "open" in repr(adapter.ws)


async def test_no_api_key_no_order_channel(sim: Simulator) -> None:
    async with BinanceAdapter(sim_config(sim, api_key="", api_secret="")) as ex:
        assert not ex.ws.connected and ex.ws.connects == 0
        with pytest.raises(WsApiDown):
            await ex.ws.request("order.place", place_params("nokey-1"))


async def test_drop_sends_next_order_over_rest_then_reconnects(
    sim: Simulator, proxy: TcpProxy, via_proxy: BinanceAdapter
) -> None:
    ex = via_proxy
    assert ex.ws.connected
    await ex.place_order(limit_buy("drop-1"))
    proxy.refuse = True  # the exchange is unreachable: reconnect attempts fail
    proxy.reset_all()
    await until(lambda: not ex.ws.connected)
    rest = await ex.place_order(limit_buy("drop-2"))  # nothing can be written: REST
    assert rest.status is OrderStatus.NEW and ex.ws.requests == {"order.place": 1}
    proxy.refuse = False
    await until(lambda: ex.ws.connected)  # reconnected with backoff
    assert ex.ws.connects == 2
    await ex.place_order(limit_buy("drop-3"))
    assert ex.ws.requests == {"order.place": 2}
    assert await orders_by_cid(ex) == {"drop-1": 1, "drop-2": 1, "drop-3": 1}


async def test_cut_after_sending_is_unknown_then_found_by_client_id(
    sim: Simulator, proxy: TcpProxy, via_proxy: BinanceAdapter
) -> None:
    ex = via_proxy
    proxy.fault = Fault.CUT_ON_REPLY  # the exchange executes it; the connection dies before the reply arrives
    with pytest.raises(ExchangeUnavailable) as info:
        await ex.ws.request("order.place", place_params("cut-1"))
    assert not isinstance(info.value, WsApiDown)  # written: the outcome is unknown, not "nothing was sent"
    assert (await ex.get_order("BTCUSDT", client_order_id="cut-1")).status is OrderStatus.NEW
    await until(lambda: ex.ws.connected)
    proxy.fault = Fault.CUT_ON_REPLY
    got = await ex.place_order(limit_buy("cut-2"))  # the adapter looks it up instead of sending it again
    assert got.client_order_id == "cut-2" and got.status is OrderStatus.NEW
    assert await orders_by_cid(ex) == {"cut-1": 1, "cut-2": 1}
    assert ex.ws.requests == {}  # no reply ever came over the channel


async def test_reply_that_never_comes_times_out_as_unknown(sim: Simulator, proxy: TcpProxy) -> None:
    async with BinanceAdapter(sim_config(sim, ws_api_url=proxy.url, request_timeout_s=0.3)) as ex:
        proxy.fault = Fault.SWALLOW_REPLIES
        started = time.monotonic()
        got = await ex.place_order(limit_buy("late-1"))  # timeout → lookup by client id over REST → found
        assert 0.3 <= time.monotonic() - started < 3.0
        assert got.client_order_id == "late-1"
        assert await orders_by_cid(ex) == {"late-1": 1}


async def test_python_binance_connections_do_not_offer_deflate(sim: Simulator, adapter: BinanceAdapter) -> None:
    await adapter.start_user_stream()  # rides our order channel: python-binance's WS API connection stays closed
    assert adapter.client.ws_api.ws is None
    await adapter.client.ws_api._ensure_ws_connection()  # if anything opens it, it does not offer deflate
    ours = adapter.client.ws_api.ws
    assert ours is not None and ours.protocol.extensions == [] and ours.request is not None
    assert "permessage-deflate" not in ours.request.headers.get("Sec-WebSocket-Extensions", "")
    # control: python-binance's default offers it (the simulator's picows face never accepts compression, so the
    # offer in the upgrade request is what tells the two apart)
    stock = AsyncClient("sim-key", "sim-secret", testnet=True)
    stock.ws_api._url = sim.ws_api_url
    try:
        await stock.ws_api._ensure_ws_connection()
        assert stock.ws_api.ws is not None and stock.ws_api.ws.request is not None
        assert "permessage-deflate" in stock.ws_api.ws.request.headers.get("Sec-WebSocket-Extensions", "")
    finally:
        await stock.ws_api.close()
        await stock.close_connection()
