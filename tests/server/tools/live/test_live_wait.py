"""``wait_for_event`` over the real wire: each condition met and timed out, progress, cancellation releases streams."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side

from ...support import READER_TOKEN, ToolServer


async def step_while(srv: ToolServer, task: asyncio.Task[Any], n: int = 200, rounds: int = 200) -> None:
    """Advance the market ``n`` events at a time until ``task`` finishes (bounded)."""
    for _ in range(rounds):
        if task.done():
            return
        srv.sim.step(n)
        await asyncio.sleep(0.005)
    raise AssertionError("the wait never ended")


async def until(cond: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110 - polling server state from the test, bounded by the timeout
            await asyncio.sleep(0.01)


async def test_price_above_met_by_a_streamed_trade(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    price = await srv.venues.get().adapter.price("BTCUSDT")
    async with srv.client(token=READER_TOKEN) as c:
        # a level just above the current price: met by a later trade (the recording moves by more than 1 tick)
        level = price + Decimal("0.01")
        task = asyncio.create_task(
            c.call_tool(
                "wait_for_event", {"condition": "price_above", "symbol": "btcusdt", "level": str(level)}, timeout_s=40
            )
        )
        await until(lambda: srv.hub.subscriber_count("trades:binance:BTCUSDT") == 1)
        await step_while(srv, task)
        res = await task
        out = res["structuredContent"]
        assert res["isError"] is False and out["met"] is True and out["timed_out"] is False
        assert out["source"] == "stream" and Decimal(out["value"]) >= level
        assert out["event"]["price"] == out["value"] and out["symbol"] == "BTCUSDT"
        assert "met after" in res["content"][0]["text"]
        await until(lambda: srv.hub.subscriber_count("trades:binance:BTCUSDT") == 0)


async def test_price_below_already_true_returns_at_once(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    async with srv.client() as c:
        res = await c.call_tool("wait_for_event", {"condition": "price_below", "symbol": "BTCUSDT", "level": "1000000"})
        out = res["structuredContent"]
        assert out["met"] is True and out["source"] == "current" and out["waited_ms"] < 1000


async def test_price_and_spread_time_out_unmet(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    async with srv.client() as c:
        res = await c.call_tool(
            "wait_for_event", {"condition": "price_above", "symbol": "BTCUSDT", "level": "1000000", "timeout_s": 0.2}
        )
        out = res["structuredContent"]
        assert out["met"] is False and out["timed_out"] is True and out["event"] is None
        # ~200 ms: uvloop's timers have ms granularity and may fire a hair early (199 ms seen), so not exactly >= 200
        assert 150 <= out["waited_ms"] < 10_000 and Decimal(out["last_value"]) < Decimal("1000000")
        assert "timed out" in res["content"][0]["text"]
        res = await c.call_tool(
            "wait_for_event", {"condition": "spread_below", "symbol": "BTCUSDT", "level": "0", "timeout_s": 0.2}
        )
        out = res["structuredContent"]
        assert out["met"] is False and out["timed_out"] is True and Decimal(out["last_value"]) > 0
    await until(lambda: not srv.hub.active())


async def test_spread_below_met(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    tick = await srv.venues.get().adapter.book_ticker("ETHUSDT")
    async with srv.client() as c:
        res = await c.call_tool(
            "wait_for_event", {"condition": "spread_below", "symbol": "ETHUSDT", "level": str(tick.ask - tick.bid)}
        )
        out = res["structuredContent"]
        assert out["met"] is True and Decimal(out["value"]) <= tick.ask - tick.bid
        assert out["event"]["symbol"] == "ETHUSDT" and out["level"] == str(tick.ask - tick.bid)


async def test_order_filled_and_order_done(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    adapter = srv.venues.get().adapter
    tick = await adapter.book_ticker("BTCUSDT")
    order = await adapter.place_order(
        OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.002"), price=tick.bid)
    )
    progress: list[dict[str, Any]] = []
    async with srv.client() as c:
        args = {"condition": "order_filled", "symbol": "BTCUSDT", "client_order_id": order.client_order_id}
        task = asyncio.create_task(c.call_tool("wait_for_event", args, timeout_s=40, on_progress=progress.append))
        await asyncio.sleep(1.2)  # long enough for one progress report while nothing moves
        await step_while(srv, task)
        out = (await task)["structuredContent"]
        assert out["met"] is True and out["value"] == "FILLED" and out["source"] == "stream"
        assert out["event"]["execution_type"] == "TRADE" and out["event"]["order"]["order_id"] == order.order_id
        assert progress and progress[0]["total"] == 30 and progress[0]["progress"] >= 1
        # already final: answered from the order's current state
        done = await c.call_tool(
            "wait_for_event", {"condition": "order_done", "symbol": "BTCUSDT", "order_id": order.order_id}
        )
        assert done["structuredContent"]["met"] is True and done["structuredContent"]["source"] == "current"


async def test_order_filled_unmet_when_cancelled_and_order_done_times_out(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    adapter = srv.venues.get().adapter
    tick = await adapter.book_ticker("BTCUSDT")
    far = (tick.bid * Decimal("0.9")).quantize(Decimal("0.01"))
    order = await adapter.place_order(
        OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.002"), price=far)
    )
    async with srv.client() as c:
        args = {"condition": "order_done", "symbol": "BTCUSDT", "order_id": order.order_id, "timeout_s": 0.2}
        out = (await c.call_tool("wait_for_event", args))["structuredContent"]
        assert out["met"] is False and out["timed_out"] is True and out["last_value"] == "NEW"
        args = {"condition": "order_filled", "symbol": "BTCUSDT", "order_id": order.order_id}
        task = asyncio.create_task(c.call_tool("wait_for_event", args))
        await asyncio.sleep(0.1)
        await adapter.cancel_order("BTCUSDT", order_id=order.order_id)
        res = await asyncio.wait_for(task, 5)
        out = res["structuredContent"]
        assert out["met"] is False and out["timed_out"] is False and out["value"] == "CANCELED"
        assert "cannot be met" in res["content"][0]["text"]


async def test_bad_arguments(tool_server: ToolServer) -> None:
    from tradingmcp.client.session import RpcError

    srv = tool_server
    srv.sim.step(2000)
    async with srv.client() as c:
        res = await c.call_tool("wait_for_event", {"condition": "price_above", "symbol": "BTCUSDT"})
        assert res["isError"] is True and res["structuredContent"]["error"]["code"] == "invalid_arguments"
        res = await c.call_tool("wait_for_event", {"condition": "order_done", "symbol": "BTCUSDT"})
        assert res["structuredContent"]["error"]["code"] == "invalid_arguments"
        res = await c.call_tool("wait_for_event", {"condition": "order_done", "symbol": "BTCUSDT", "order_id": 999999})
        assert res["structuredContent"]["error"]["code"] == "exchange_error"
        try:
            await c.call_tool(
                "wait_for_event", {"condition": "price_above", "symbol": "BTCUSDT", "level": "1", "timeout_s": 301}
            )
        except RpcError as exc:
            assert exc.code == -32602 and "timeout_s" in exc.message
        else:
            raise AssertionError("timeout_s above 300 must be refused")
    assert not srv.hub.active()


async def test_cancellation_releases_the_internal_stream(tool_server: ToolServer) -> None:
    from tradingmcp.client.session import RequestTimeout

    srv = tool_server
    srv.sim.step(2000)
    async with srv.client() as c:
        args = {"condition": "price_above", "symbol": "BTCUSDT", "level": "1000000", "timeout_s": 300}
        try:  # the client gives up after 0.5 s and sends notifications/cancelled for the call
            await c.call_tool("wait_for_event", args, timeout_s=0.5)
        except RequestTimeout:
            pass
        else:
            raise AssertionError("the wait cannot end on its own within 0.5 s")
        assert srv.hub.subscriber_count("trades:binance:BTCUSDT") <= 1
        await until(lambda: srv.hub.subscriber_count("trades:binance:BTCUSDT") == 0)
        await until(lambda: not any(conn.session.tasks for conn in srv.server.connections))
        assert not srv.hub.active()
