"""``BybitAdapter`` with ``trade_over_ws``: orders placed and cancelled over the face's ``/v5/trade`` (none over
REST), typed refusals, and the unknown outcome of a connection dropped mid-order settled by ``orderLinkId`` over
REST: found when the engine acted, sent again (once, on a new connection) when it had not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.bybit.adapter import BybitAdapter
from tradingmcp.server.exchanges.errors import InsufficientBalance, UnknownOrder
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side

from .conftest import BybitSim, sim_config

D = Decimal
pytestmark = pytest.mark.data


@pytest.fixture
async def ws_adapter(bybit_sim: BybitSim) -> AsyncIterator[BybitAdapter]:
    config = sim_config(bybit_sim, trade_over_ws=True, trade_ws_url=bybit_sim.face.trade_ws_url)
    async with BybitAdapter(config) as ex:
        yield ex


def limit_buy(bs: BybitSim, cid: str, qty: str = "0.001") -> OrderRequest:
    bid = bs.sim.markets["BTCUSDT"].book.best_bid()
    assert bid is not None
    price = (bid[0] * D("0.98")).quantize(D("0.01"))
    return OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D(qty), price=price, client_order_id=cid)


def creates(bs: BybitSim) -> tuple[int, int]:
    """(order.create over the WebSocket, POST /order/create over REST) the face saw."""
    ws = sum(1 for op, _ in bs.face.trade.requests if op == "order.create")
    return ws, sum(1 for c in bs.face.rest.calls if c[1] == "/order/create")


async def test_orders_go_over_the_order_entry_stream(ws_adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    placed = await ws_adapter.place_order(limit_buy(bybit_sim, "ws-1"))
    assert placed.status is OrderStatus.NEW and placed.client_order_id == "ws-1"
    market = await ws_adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=D(50)))
    assert market.status is OrderStatus.FILLED
    assert creates(bybit_sim) == (2, 0)
    cancelled = await ws_adapter.cancel_order("BTCUSDT", client_order_id="ws-1")
    assert cancelled.status is OrderStatus.CANCELED
    assert [op for op, _ in bybit_sim.face.trade.requests][-1] == "order.cancel"
    with pytest.raises(UnknownOrder):
        await ws_adapter.cancel_order("BTCUSDT", client_order_id="ws-1")
    with pytest.raises(InsufficientBalance):
        await ws_adapter.place_order(limit_buy(bybit_sim, "ws-2", qty="5"))
    assert ws_adapter.order_entry is not None and ws_adapter.order_entry.connects == 1
    assert any(k.startswith("WS order.create") for k in ws_adapter.rest.limiter.endpoints)


async def test_a_drop_after_the_engine_acted_is_found_by_order_link_id(
    ws_adapter: BybitAdapter, bybit_sim: BybitSim
) -> None:
    bybit_sim.face.trade.faults["order.create"] = ["drop_after"]
    placed = await ws_adapter.place_order(limit_buy(bybit_sim, "ws-drop-after"))
    assert placed.client_order_id == "ws-drop-after" and placed.status is OrderStatus.NEW
    assert [o.client_order_id for o in bybit_sim.orders()] == ["ws-drop-after"]
    assert creates(bybit_sim) == (1, 0)


async def test_a_drop_before_the_engine_acted_is_sent_again_once(ws_adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    bybit_sim.face.trade.faults["order.create"] = ["drop_before"]
    placed = await ws_adapter.place_order(limit_buy(bybit_sim, "ws-drop-before"))
    assert placed.client_order_id == "ws-drop-before"
    assert [o.client_order_id for o in bybit_sim.orders()] == ["ws-drop-before"]
    assert ws_adapter.order_entry is not None and ws_adapter.order_entry.connects == 2
