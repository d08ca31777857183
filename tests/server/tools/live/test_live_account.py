"""Account push streams ``orders:binance[:SYMBOL]`` and ``balances:binance`` over the real wire (simulator, manual step)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradingmcp.client.session import McpClient, Notification, RpcError
from tradingmcp.server.exchanges.models import OrderEvent, OrderRequest, OrderType, Side, UserEvent

from ...support import ToolServer

STREAM = "notifications/tradingmcp/stream"


async def collect(c: McpClient, stream: str, until: Any, timeout_s: float = 5.0) -> list[Notification]:
    """Every notification until one of ``stream`` satisfies ``until(params)`` (kept, with all the others)."""
    got: list[Notification] = []
    async with asyncio.timeout(timeout_s):
        async for note in c.notifications():
            got.append(note)
            if note.method == STREAM and note.params["stream"] == stream and until(note.params):
                return got
    raise AssertionError("notifications ended")


def of(notes: list[Notification], stream: str) -> list[dict[str, Any]]:
    return [n.params for n in notes if n.method == STREAM and n.params["stream"] == stream]


async def fill_limit_buy(srv: ToolServer, symbol: str = "BTCUSDT") -> Any:
    """Place a LIMIT BUY at the best bid and step the market until it is FILLED (bounded)."""
    adapter = srv.venues.get().adapter
    tick = await adapter.book_ticker(symbol)
    order = await adapter.place_order(
        OrderRequest(symbol, Side.BUY, OrderType.LIMIT, quantity=Decimal("0.002"), price=tick.bid)
    )
    for _ in range(100):
        current = await adapter.get_order(symbol, order.order_id)
        if not current.status.is_open:
            return current
        srv.sim.step(200)
        await asyncio.sleep(0)
    raise AssertionError("the limit order never filled")


async def test_orders_and_balances_streams_deliver_every_event(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    seen: list[UserEvent] = []
    remove = srv.venues.get().user.add_listener(seen.append)
    async with srv.client() as c:
        keys = ("orders:binance", "orders:binance:BTCUSDT", "orders:binance:btcusdt", "orders:binance:ETHUSDT")
        for key in (*keys, "balances:binance"):
            res = await c.subscribe(key)
            assert res["isError"] is False, res
        order = await fill_limit_buy(srv)
        assert order.status.value == "FILLED"
        notes = await collect(c, "orders:binance", lambda p: p["data"]["order"]["status"] == "FILLED")
        await asyncio.sleep(0.05)  # the matching balance update follows the final execution report
        rest = notes + c.drain_notifications()
        orders = of(rest, "orders:binance")
    remove()
    expected = [e for e in seen if isinstance(e, OrderEvent) and e.order.order_id == order.order_id]
    assert [p["data"]["execution_type"] for p in orders] == [e.execution_type.value for e in expected]
    assert orders[0]["data"]["execution_type"] == "NEW" and len(orders) >= 2
    assert [p["seq"] for p in orders] == list(range(1, len(orders) + 1))  # lossless: no gap, no conflation
    fills = [p["data"]["fill"] for p in orders if p["data"]["execution_type"] == "TRADE"]
    assert sum(Decimal(f["qty"]) for f in fills) == Decimal("0.002")
    assert all(p["data"]["order"]["order_id"] == order.order_id for p in orders)
    assert orders[-1]["data"]["order"]["is_open"] is False
    by_symbol = of(rest, "orders:binance:BTCUSDT")
    assert not of(rest, "orders:binance:ETHUSDT")
    assert [p["data"] for p in by_symbol] == [p["data"] for p in orders]
    assert [p["data"] for p in of(rest, "orders:binance:btcusdt")] == [p["data"] for p in orders]
    balances = of(rest, "balances:binance")
    assert balances and [p["seq"] for p in balances] == list(range(1, len(balances) + 1))
    last = {b["asset"]: b for b in balances[-1]["data"]["balances"]}
    assert Decimal(last["BTC"]["free"]) > Decimal(1)  # bought BTC on top of the initial 1 BTC
    assert last["BTC"]["total"] == last["BTC"]["free"] or Decimal(last["BTC"]["locked"]) > 0


async def test_bad_account_stream_keys_are_refused(tool_server: ToolServer) -> None:
    async with tool_server.client() as c:
        for key in ("orders:binance:BTC/USDT", "balances:binance:BTCUSDT", "orders:binance:BTC:USDT"):
            try:
                await c.subscribe(key)
            except RpcError as exc:
                assert exc.code == -32602 and key in exc.message
            else:
                raise AssertionError(f"{key} must be refused")
        assert tool_server.hub.active() == []
