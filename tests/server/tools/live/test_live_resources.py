"""Live resources over the real wire: ``ticker://``, ``book://``, ``account://.../balances``, ``orders://.../open``:
read, subscribe → ``notifications/resources/updated`` (rate-limited), internal stream released after, SDK client too."""

from __future__ import annotations

import asyncio
import json
import warnings
from decimal import Decimal
from typing import Any

import mcp_types as types
from mcp.client import Client
from mcp.client.subscriptions import ResourceUpdated

from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.client.session import McpClient, RpcError
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side

from ...support import TRADER_TOKEN, ToolServer

UPDATED = "notifications/resources/updated"


async def until(cond: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110 - polling server state from the test, bounded by the timeout
            await asyncio.sleep(0.01)


async def read(c: McpClient, uri: str) -> dict[str, Any]:
    (content,) = await c.read_resource(uri)
    assert content["uri"] == uri and content["mimeType"] == "application/json"
    out: dict[str, Any] = json.loads(content["text"])
    return out


async def read_until(c: McpClient, uri: str, cond: Any, timeout_s: float = 3.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            out = await read(c, uri)
            if cond(out):
                return out
            await asyncio.sleep(0.02)


def updates(c: McpClient, uri: str) -> int:
    return sum(1 for n in c.drain_notifications() if n.method == UPDATED and n.params["uri"] == uri)


async def test_templates_and_account_resources_are_listed(tool_server: ToolServer) -> None:
    async with tool_server.client() as c:
        templates = await c.request("resources/templates/list")
        uris = {t["uriTemplate"] for t in templates["resourceTemplates"]}
        assert {"ticker://{exchange}/{symbol}", "book://{exchange}/{symbol}"} <= uris
        assert {"account://{exchange}/balances", "orders://{exchange}/open"} <= uris
        listed = {r["uri"] for r in (await c.request("resources/list"))["resources"]}
        assert {"account://binance/balances", "orders://binance/open"} <= listed


async def test_balances_resource_is_seeded_then_follows_fills(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    uri = "account://binance/balances"
    async with srv.client() as c:
        out = await read_until(c, uri, lambda o: o["status"] == "live")
        assert {b["asset"]: b["free"] for b in out["balances"]} == {"BTC": "1", "ETH": "10", "USDT": "10000"}
        await c.subscribe_resource(uri)
        assert srv.server.resources.subscribers(uri) == 1
        order = await srv.venues.get().adapter.place_order(
            OrderRequest("ETHUSDT", Side.SELL, OrderType.MARKET, quantity=Decimal("0.5"))
        )
        async with asyncio.timeout(10):
            async for note in c.notifications():
                if note.method == UPDATED and note.params["uri"] == uri:
                    break
        out = await read_until(c, uri, lambda o: Decimal(o["balances"][1]["free"]) < 10)
        eth = {b["asset"]: b for b in out["balances"]}["ETH"]
        assert Decimal(eth["free"]) == Decimal("9.5") and order.status.value == "FILLED"
        assert Decimal({b["asset"]: b for b in out["balances"]}["USDT"]["free"]) > 10000
        await c.unsubscribe_resource(uri)
        assert srv.server.resources.subscribers(uri) == 0


async def test_open_orders_resource_follows_new_and_cancel(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    adapter = srv.venues.get().adapter
    uri = "orders://binance/open"
    async with srv.client() as c:
        assert (await read_until(c, uri, lambda o: o["status"] == "live"))["orders"] == []
        await c.subscribe_resource(uri)
        tick = await adapter.book_ticker("BTCUSDT")
        far = (tick.bid * Decimal("0.9")).quantize(Decimal("0.01"))
        order = await adapter.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=far)
        )
        out = await read_until(c, uri, lambda o: len(o["orders"]) == 1)
        assert out["orders"][0]["order_id"] == order.order_id and out["orders"][0]["status"] == "NEW"
        await adapter.cancel_order("BTCUSDT", order_id=order.order_id)
        await read_until(c, uri, lambda o: o["orders"] == [])
        await until(lambda: updates(c, uri) >= 1)


async def test_ticker_subscribe_notifies_rate_limited_and_releases_the_stream(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    uri = "ticker://binance/BTCUSDT"
    keys = ("book_ticker:binance:BTCUSDT", "trades:binance:BTCUSDT")
    async with srv.client() as c:
        await c.subscribe_resource(uri)
        await until(lambda: all(srv.hub.subscriber_count(k) == 1 for k in keys))
        c.drain_notifications()
        for _ in range(10):  # many changes within one 0.25 s window
            srv.sim.step(100)
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.4)  # the trailing update of the window
        n = updates(c, uri)
        assert 1 <= n <= 3, n  # first at once, the rest collapsed into one trailing update (plus the REST prime)
        assert srv.server.resources.coalesced > 0
        out = await read(c, uri)
        assert out["status"] == "live" and out["symbol"] == "BTCUSDT" and out["exchange"] == "binance"
        assert Decimal(out["ask"]) > Decimal(out["bid"]) > 0 and Decimal(out["spread"]) == Decimal(
            out["ask"]
        ) - Decimal(out["bid"])
        assert Decimal(out["last_price"]) > 0 and out["received_ms"] > 0
        await c.unsubscribe_resource(uri)
    # the read above keeps the feed lingering; a second ticker, subscribed and never read, is released at once
    async with srv.client() as c:
        uri2, key2 = "ticker://binance/ETHUSDT", "book_ticker:binance:ETHUSDT"
        await c.subscribe_resource(uri2)
        await until(lambda: srv.hub.subscriber_count(key2) == 1)
        await c.unsubscribe_resource(uri2)
        await until(lambda: srv.hub.subscriber_count(key2) == 0)
        await c.subscribe_resource(uri2)  # and a connection that drops releases it too
        await until(lambda: srv.hub.subscriber_count(key2) == 1)
    await until(lambda: srv.hub.subscriber_count(key2) == 0)
    assert srv.server.resources.subscribers(uri2) == 0


async def test_book_resource_top_ten_with_spread_mid_microprice(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    uri = "book://binance/ethusdt"
    async with srv.client() as c:
        first = await read(c, uri)
        assert first["status"] in ("loading", "live") and first["symbol"] == "ETHUSDT"
        srv.sim.step(500)
        out = await read_until(c, uri, lambda o: o["status"] == "live" and "microprice" in o)
        assert len(out["bids"]) == 10 and len(out["asks"]) == 10
        best_bid, best_ask = Decimal(out["bids"][0][0]), Decimal(out["asks"][0][0])
        assert best_ask > best_bid and Decimal(out["spread"]) == best_ask - best_bid
        assert best_bid <= Decimal(out["microprice"]) <= best_ask and Decimal(out["mid"]) == (best_ask + best_bid) / 2
        assert srv.hub.subscriber_count("book:binance:ETHUSDT") == 1  # lingering after reads


async def test_bad_resource_uris_are_not_found(tool_server: ToolServer) -> None:
    async with tool_server.client() as c:
        for uri in ("ticker://kraken/BTCUSDT", "ticker://binance/", "book://binance/BTC/USDT", "account://binance/x"):
            for method in ("resources/read", "resources/subscribe"):
                try:
                    await c.request(method, {"uri": uri})
                except RpcError as exc:
                    assert exc.code == -32002 and uri in exc.message
                else:
                    raise AssertionError(f"{method} {uri} must fail")
        assert tool_server.server.resources.subscribers("ticker://kraken/BTCUSDT") == 0
        # well-formed but unknown to the exchange: the read says so
        out = await read_until(c, "ticker://binance/NOPEUSDT", lambda o: o["status"] != "loading")
        assert out["status"] == "error" and "Invalid symbol" in out["message"]


async def test_sdk_client_subscribes_and_listens(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    updated: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            await updated.put(str(message.params.uri))

    uri = "ticker://binance/BTCUSDT"
    async with asyncio.timeout(10):
        async with Client(
            websocket_transport(srv.url, token=TRADER_TOKEN), mode="legacy", message_handler=on_message
        ) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resources/subscribe is deprecated as of 2026-07-28
                await client.subscribe_resource(uri)
            srv.sim.step(300)
            assert await updated.get() == uri
            (content,) = (await client.read_resource(uri)).contents
            assert isinstance(content, types.TextResourceContents)
            assert json.loads(content.text)["symbol"] == "BTCUSDT"
        async with Client(websocket_transport(srv.url, token=TRADER_TOKEN), mode="auto") as client:
            balances = "account://binance/balances"
            async with client.listen(resource_subscriptions=[balances]) as sub:
                assert list(sub.honored.resource_subscriptions or ()) == [balances]
                await srv.venues.get().adapter.place_order(
                    OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, quantity=Decimal("0.001"))
                )
                assert await anext(aiter(sub)) == ResourceUpdated(uri=balances)
            await until(lambda: srv.server.resources.subscribers(balances) == 0)
