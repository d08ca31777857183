"""The official MCP Python SDK (mcp 2.3) places and cancels an order through our server (structured results)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from mcp.client import Client

from tradingmcp.client.sdk_transport import websocket_transport

from ...support import TRADER_TOKEN, ToolServer

WAIT_S = 10.0


async def test_sdk_client_places_and_cancels_an_order(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with asyncio.timeout(WAIT_S):
        async with Client(websocket_transport(tool_server.url, token=TRADER_TOKEN), mode="legacy") as client:
            ticker = await client.call_tool("get_ticker", {"symbol": "BTCUSDT"})
            assert ticker.structured_content is not None
            price = str((Decimal(ticker.structured_content["bid"]) * Decimal("0.99")).quantize(Decimal("0.01")))
            args = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price, "client_order_id": "sdk-1"}
            placed = await client.call_tool("place_order", args)
            assert not placed.is_error and placed.structured_content is not None
            order = placed.structured_content["order"]
            assert placed.structured_content["duplicate"] is False and order["status"] == "NEW"
            assert order["client_order_id"] == "sdk-1"
            again = await client.call_tool("place_order", args)
            assert again.structured_content is not None and again.structured_content["duplicate"] is True
            refused = await client.call_tool(
                "place_order", {**args, "client_order_id": "sdk-2", "quantity": "0.000000001"}
            )
            assert refused.is_error and refused.structured_content is not None
            assert refused.structured_content["error"]["code"] == "filter_failure"
            cancelled = await client.call_tool("cancel_order", {"symbol": "BTCUSDT", "client_order_id": "sdk-1"})
            assert cancelled.structured_content is not None
            assert cancelled.structured_content["order"]["status"] == "CANCELED"
