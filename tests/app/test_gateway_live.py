"""The live features of a single server on bus gateways (a real deployment: nats-server, the simulator, a feed, a
trader, two gateways, :class:`~tradingmcp.app.cluster.Cluster`):

* ``read_stream`` (the long poll) reads the gateway's bus streams: market and account keys, the same ``seq`` as the
  push subscribers of another gateway;
* ``wait_for_event`` (forwarded to the trader) waits as long as it was asked to, and sees the market move;
* the live market resources ``ticker://`` and ``book://`` answer on a gateway from its bus streams, and over
  Streamable HTTP ``subscriptions/listen`` (2026-07-28, the official SDK) tells of their changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.app.test_cluster import ORDERS, TRADES, Recorder, cluster_dir, contiguous, running, wait_until
from tradingmcp.app.cluster import TOKEN, Cluster
from tradingmcp.client.errors import RequestTimeout
from tradingmcp.client.session import McpClient, connect

__all__ = ["cluster_dir"]  # the fixture, shared with the other drills


async def read_all(
    client: McpClient, key: str, want: int, timeout_s: float, cursor: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """``read_stream`` ``key`` (at least once) until ``want`` items came, the cursor passed back each time; returns
    the items and the last cursor."""
    items: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        args: dict[str, Any] = {"stream": key, "wait_s": 2}
        if cursor is not None:
            args["cursor"] = cursor
        res = await client.call_tool("read_stream", args)
        assert not res.get("isError"), res
        doc = res["structuredContent"]
        assert doc["missed"] == 0 or cursor is None, doc
        items += doc["items"]
        cursor = doc["cursor"]
        if len(items) >= want:
            return items, cursor
        assert asyncio.get_running_loop().time() < deadline, f"{len(items)} items of {key} read, wanted {want}"


@pytest.mark.data
async def test_read_stream_on_a_gateway_reads_the_bus(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=2, speed=4.0)) as cl:
        gw1, gw2 = cl.gateway_urls
        poller = await connect(gw1, token=TOKEN, timeout_s=30.0)
        pushed = await connect(gw2, token=TOKEN)
        try:
            rec = Recorder(pushed)
            assert not (await pushed.subscribe(TRADES)).get("isError")
            items, _ = await read_all(poller, TRADES, 40, 60)
            seqs = [it["seq"] for it in items]
            assert contiguous(seqs), seqs
            # one numbering on the bus: what gateway 1's long poll gave under a seq is what gateway 2 pushed under it
            await wait_until(lambda: rec.seqs(TRADES) and rec.seqs(TRADES)[-1] >= seqs[-1], 30, "the pushed trades")
            pushed_by_seq = dict(rec.by_stream[TRADES])
            common = [it for it in items if it["seq"] in pushed_by_seq]
            assert len(common) >= 20 and all(pushed_by_seq[it["seq"]] == it["data"] for it in common)
            # an account stream: the order placed through the trader comes back through the long poll
            _, cursor = await read_all(poller, ORDERS, 0, 30)  # the first read subscribes
            placed = await poller.call_tool(
                "place_order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "MARKET",
                    "quantity": "0.001",
                    "client_order_id": "poll-1",
                },
            )
            assert not placed.get("isError"), placed
            events, _ = await read_all(poller, ORDERS, 1, 30, cursor)
            assert any(e["data"]["order"]["client_order_id"] == "poll-1" for e in events), events
        finally:
            await poller.close()
            await pushed.close()


@pytest.mark.data
async def test_wait_for_event_on_a_gateway_sees_the_market_move(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=1, speed=4.0)) as cl:
        client = await connect(cl.gateway_urls[0], token=TOKEN, timeout_s=90.0)
        try:
            rec = Recorder(client)
            assert not (await client.subscribe(TRADES)).get("isError")
            await wait_until(lambda: len(rec.seqs(TRADES)) >= 5, 30, "trades")
            sources = []
            for _ in range(5):  # the replay may pass the level before the wait starts ("current"): pick a new one
                last = rec.by_stream[TRADES][-1][1]["price"]
                level = f"{float(last) + 0.01:.2f}"  # one tick above the last trade: met later, by a trade
                res = await client.call_tool(
                    "wait_for_event", {"condition": "price_above", "symbol": "BTCUSDT", "level": level, "timeout_s": 60}
                )
                assert not res.get("isError"), res
                doc = res["structuredContent"]
                assert doc["met"] is True and doc["timed_out"] is False, doc
                sources.append(doc["source"])
                if doc["source"] == "stream":
                    break
            assert sources[-1] == "stream", sources  # met by a trade pushed through the bus to the trader's wait
        finally:
            await client.close()


@pytest.mark.data
async def test_wait_for_event_on_a_gateway_relays_progress_and_stops_on_the_trader_when_cancelled(
    cluster_dir: Path,
) -> None:
    with running(Cluster(cluster_dir, gateways=1, speed=4.0)) as cl:
        client = await connect(cl.gateway_urls[0], token=TOKEN, timeout_s=90.0)
        try:
            steps: list[dict[str, Any]] = []
            args = {"condition": "price_above", "symbol": "BTCUSDT", "level": "100000000", "timeout_s": 60}
            # the client's own deadline sends notifications/cancelled after 4 s; the wait asked for 60 s on the trader
            with pytest.raises(RequestTimeout):
                await client.call_tool("wait_for_event", args, timeout_s=4.0, on_progress=steps.append)
            assert steps, "no progress relayed from the trader"
            assert all(s["total"] == 60 for s in steps) and steps[-1]["progress"] > 0, steps
            assert [s["progress"] for s in steps] == sorted(s["progress"] for s in steps), steps

            async def cancelled_on_the_trader() -> list[dict[str, Any]]:
                res = await client.call_tool("get_audit_log", {"tool": "wait_for_event"})
                entries: list[dict[str, Any]] = res["structuredContent"]["entries"]
                return [e for e in entries if e.get("error_code") == "cancelled"]

            # the trader's wait ended when the caller cancelled, not 60 s later: its audit log says so
            deadline = asyncio.get_running_loop().time() + 20
            while not (done := await cancelled_on_the_trader()):
                assert asyncio.get_running_loop().time() < deadline, "the trader still waits after the cancel"
                await asyncio.sleep(0.2)
            assert done[0]["outcome"] == "tool_error" and done[0]["latency_us"] < 30_000_000, done
        finally:
            await client.close()


@contextlib.asynccontextmanager
async def sdk_client(gateway_url: str) -> AsyncIterator[Any]:
    """The official SDK's ``Client`` over its Streamable HTTP transport to the gateway at ``gateway_url`` (its
    ``ws://…/mcp`` address: the HTTP face shares the port and path), with the cluster's token."""
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http_url = gateway_url.replace("ws://", "http://", 1)
    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(http_url, http_client=http), mode="auto") as client,
    ):
        yield client


async def read_json(client: Any, uri: str) -> dict[str, Any]:
    """``resources/read`` of ``uri`` through the SDK ``client``: its JSON text, decoded."""
    contents = (await client.read_resource(uri)).contents
    doc: dict[str, Any] = orjson.loads(getattr(contents[0], "text", ""))
    return doc


TICKER_URI = "ticker://binance/BTCUSDT"
BOOK_URI = "book://binance/BTCUSDT"


@pytest.mark.data
async def test_live_resources_on_a_gateway_over_streamable_http(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=1, speed=4.0)) as cl:
        async with sdk_client(cl.gateway_urls[0]) as client, asyncio.timeout(90):
            templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
            assert {"ticker://{exchange}/{symbol}", "book://{exchange}/{symbol}"} <= templates
            async with client.listen(resource_subscriptions=[TICKER_URI, BOOK_URI]) as sub:
                assert sub.honored is not None
                assert sorted(sub.honored.resource_subscriptions or ()) == sorted([BOOK_URI, TICKER_URI])
                seen: set[str] = set()
                async for event in sub:  # each changes as the feed's messages come over the bus
                    seen.add(str(getattr(event, "uri", "")))
                    if {TICKER_URI, BOOK_URI} <= seen:
                        break

                ticker, book = await read_json(client, TICKER_URI), await read_json(client, BOOK_URI)
            assert ticker["status"] == "live" and ticker["exchange"] == "binance" and ticker["symbol"] == "BTCUSDT"
            assert Decimal(ticker["bid"]) < Decimal(ticker["ask"]) and Decimal(ticker["spread"]) > 0
            assert book["status"] == "live" and isinstance(book["last_update_id"], int)
            assert len(book["bids"]) == len(book["asks"]) == 10
            assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])


ORDERS_URI = "orders://binance/open"
BALANCES_URI = "account://binance/balances"


@pytest.mark.data
async def test_account_resources_on_a_gateway_follow_the_trader(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=1, speed=4.0)) as cl:
        async with sdk_client(cl.gateway_urls[0]) as client, asyncio.timeout(90):

            async def ready(uri: str) -> dict[str, Any]:
                """The resource once it is no longer loading (its first answer from the bus or the trader)."""
                for _ in range(300):
                    doc = await read_json(client, uri)
                    if doc["status"] != "loading":
                        return doc
                    await asyncio.sleep(0.2)
                raise AssertionError(f"{uri} still loading")

            listed = {str(r.uri) for r in (await client.list_resources()).resources}
            assert {ORDERS_URI, BALANCES_URI} <= listed
            async with client.listen(resource_subscriptions=[ORDERS_URI]) as sub:
                assert sub.honored is not None and list(sub.honored.resource_subscriptions or ()) == [ORDERS_URI]
                doc = await ready(ORDERS_URI)
                assert doc["status"] == "live" and all(o["client_order_id"] != "rest-1" for o in doc["orders"])
                book = await ready(BOOK_URI)
                below = f"{Decimal(book['bids'][0][0]) * Decimal('0.98'):.2f}"  # below the market: it rests
                order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": below}
                placed = await client.call_tool("place_order", {**order, "client_order_id": "rest-1"})
                assert not placed.is_error, placed
                async for event in sub:  # the order's event came over the bus: the gateway asked the trader again
                    if str(getattr(event, "uri", "")) == ORDERS_URI:
                        doc = await read_json(client, ORDERS_URI)
                        if any(o["client_order_id"] == "rest-1" for o in doc["orders"]):
                            break
            balances = await ready(BALANCES_URI)
            assert balances["exchange"] == "binance" and any(b["asset"] == "USDT" for b in balances["balances"])
