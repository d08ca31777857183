"""Market data for standard hosts, end to end on the whole stack (simulator → adapter → tools → HTTP face): the
official SDK's ``Client`` over its own Streamable HTTP transport (2026-07-28) listens to ``ticker://`` and ``orders://``
and is told of each change, and reads trades with the ``read_stream`` long poll."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.server.support import TRADER_TOKEN, ToolServer

WAIT_S = 20.0


@asynccontextmanager
async def sdk_over_http(srv: ToolServer) -> AsyncIterator[Client]:
    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {TRADER_TOKEN}"}) as http,
        Client(streamable_http_client(srv.server.http_url, http_client=http), mode="auto") as client,
    ):
        yield client


async def test_listen_to_ticker_and_orders_over_http(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    ticker, orders = "ticker://binance/BTCUSDT", "orders://binance/open"
    async with (
        asyncio.timeout(WAIT_S),
        sdk_over_http(srv) as client,
        client.listen(resource_subscriptions=[ticker, orders]) as sub,
    ):
        assert sub.honored is not None
        assert sorted(sub.honored.resource_subscriptions or ()) == sorted([ticker, orders])
        seen: set[str] = set()

        async def collect(want: str) -> None:
            async for event in sub:
                assert isinstance(event, ResourceUpdated)
                seen.add(event.uri)
                if want in seen:
                    return

        stepping = asyncio.ensure_future(_step_forever(srv))
        try:
            await collect(ticker)
        finally:
            stepping.cancel()
        read = await client.read_resource(ticker)
        (content,) = read.contents
        assert isinstance(content, types.TextResourceContents)
        assert json.loads(content.text)["symbol"] == "BTCUSDT"
        bid = json.loads(content.text)["bid"]
        placed = await client.call_tool(
            "place_order",
            {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": _below(bid)},
        )
        assert not placed.is_error, placed
        await collect(orders)
    assert {ticker, orders} <= seen


async def test_read_stream_long_poll_over_http(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.sim.step(2000)
    async with asyncio.timeout(WAIT_S), sdk_over_http(srv) as client:
        first = asyncio.ensure_future(
            client.call_tool("read_stream", {"stream": "trades:binance:BTCUSDT", "wait_s": 10})
        )
        stepping = asyncio.ensure_future(_step_forever(srv))
        try:
            got = await first
            assert not got.is_error, got
            out: dict[str, Any] = dict(got.structured_content or {})
            assert out["items"] and out["items"][0]["seq"] == 1 and not out["timed_out"]
            more = await client.call_tool(
                "read_stream", {"stream": "trades:binance:BTCUSDT", "cursor": out["cursor"], "wait_s": 10}
            )
        finally:
            stepping.cancel()
    nxt: dict[str, Any] = dict(more.structured_content or {})
    assert nxt["items"] and nxt["items"][0]["seq"] == out["cursor"] + 1
    assert all("price" in i["data"] for i in nxt["items"])


async def _step_forever(srv: ToolServer) -> None:
    while True:
        srv.sim.step(50)
        await asyncio.sleep(0.02)


def _below(bid: str) -> str:
    from decimal import Decimal

    return str((Decimal(bid) * Decimal("0.99")).quantize(Decimal("0.01")))
