"""The official MCP Python SDK (mcp 2.3) drives our Streamable HTTP face with its own transport
(``streamable_http_client``) and ``Client``, in both protocol eras, with a bearer token; and one test has the SDK
on HTTP and our WebSocket client on the same port at once.

``mode="legacy"``: ``initialize`` → ``Mcp-Session-Id``, the GET stream for resource updates (2025-11-25).
``mode="auto"``: ``server/discover``, then one POST per request, ``subscriptions/listen`` as an SSE response
(2026-07-28). The SDK validates every message it receives against the negotiated version's schema.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared._httpx_utils import create_mcp_http_client

from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.server.wsserver import McpServer

from .fixtures import COUNTER_URI, TOKEN, DemoState, running_server

pytestmark = pytest.mark.interop

MODES = ("legacy", "auto")
ERA = {"legacy": "2025-11-25", "auto": "2026-07-28"}
WAIT_S = 10.0


@asynccontextmanager
async def http_client(server: McpServer, mode: str, token: str | None = TOKEN, **kwargs: Any) -> AsyncIterator[Client]:
    """An SDK ``Client`` on the server's HTTP endpoint over the SDK's own Streamable HTTP transport."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with create_mcp_http_client(headers=headers) as http:
        transport = streamable_http_client(server.http_url, http_client=http)
        async with Client(transport, mode=mode, **kwargs) as client:
            yield client


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_client_calls_tools_over_http(mode: str) -> None:
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    state = DemoState()
    async with (
        running_server(state, tokens=True) as server,
        asyncio.timeout(WAIT_S),
        http_client(server, mode) as client,
    ):
        assert client.protocol_version == ERA[mode]
        info = client.server_info
        assert info is not None and info.name == "tradingmcp-interop-demo"
        tools = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": mode, "n": 3})
        slow = await client.call_tool("slow", {"steps": 3, "delay_ms": 5}, progress_callback=on_progress)
        failed = await client.call_tool("fail", {})
    assert "echo" in {t.name for t in tools.tools}
    assert echoed.structured_content == {"text": mode, "n": 3}
    assert slow.structured_content == {"done": 3} and progress == [1, 2, 3]  # on the request's own SSE stream
    assert failed.is_error
    assert state.slow_finished == 1


async def test_sdk_legacy_session_gets_resource_updates_on_the_get_stream() -> None:
    state = DemoState()
    updated: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            await updated.put(str(message.params.uri))

    async with running_server(state, tokens=True) as server, asyncio.timeout(WAIT_S):
        async with http_client(server, "legacy", message_handler=on_message) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the SDK marks resources/subscribe deprecated (removed in 2026-07-28)
                await client.subscribe_resource(COUNTER_URI)
            assert server.resources.subscribers(COUNTER_URI) == 1
            await client.call_tool("bump", {})
            assert await updated.get() == COUNTER_URI
            assert server.http is not None and len(server.http.endpoint.sessions) == 1
        # leaving the client sends DELETE: the session ends and its subscription is released
        assert len(server.http.endpoint.sessions) == 0
        assert server.resources.subscribers(COUNTER_URI) == 0


async def test_sdk_modern_listen_gets_tagged_updates_over_sse() -> None:
    state = DemoState()
    async with (
        running_server(state, tokens=True) as server,
        asyncio.timeout(WAIT_S),
        http_client(server, "auto") as client,
    ):
        async with client.listen(resource_subscriptions=[COUNTER_URI, "other://unknown"]) as sub:
            assert sub.honored is not None
            assert list(sub.honored.resource_subscriptions or ()) == [COUNTER_URI]
            assert server.resources.subscribers(COUNTER_URI) == 1
            await client.call_tool("bump", {})
            event = await anext(aiter(sub))
            assert event == ResourceUpdated(uri=COUNTER_URI)
        # leaving the listen context closes its response: the server releases the subscription
        for _ in range(200):
            if server.resources.subscribers(COUNTER_URI) == 0:
                break
            await asyncio.sleep(0.01)
        assert server.resources.subscribers(COUNTER_URI) == 0
        after = await client.call_tool("echo", {"text": "after listen"})
    assert after.structured_content == {"text": "after listen", "n": 0}


async def test_websocket_and_http_clients_on_one_port_at_once() -> None:
    state = DemoState()
    async with running_server(state, tokens=True) as server, asyncio.timeout(WAIT_S):
        assert server.http_url.replace("http://", "") == server.url.replace("ws://", "")
        async with (
            http_client(server, "auto") as over_http,
            Client(websocket_transport(server.url, token=TOKEN), mode="auto") as over_ws,
        ):
            a, b = await asyncio.gather(
                over_http.call_tool("bump", {}),
                over_ws.call_tool("bump", {}),
            )
            c = await over_http.call_tool("echo", {"text": "http"})
            d = await over_ws.call_tool("echo", {"text": "ws"})
    assert sorted([a.structured_content["count"], b.structured_content["count"]]) == [1, 2]  # type: ignore[index]
    assert (c.structured_content, d.structured_content) == ({"text": "http", "n": 0}, {"text": "ws", "n": 0})
    assert state.counter == 2


async def test_sdk_without_a_token_is_refused() -> None:
    async with running_server(DemoState(), tokens=True) as server, asyncio.timeout(WAIT_S):
        with pytest.raises(Exception) as info:  # the SDK wraps the 401 in its own error types
            async with http_client(server, "auto", token=None) as client:
                await client.call_tool("echo", {"text": "x"})
    assert "Unauthorized: send Authorization: Bearer" in repr(info.value)  # our 401 body, surfaced by the SDK


async def test_modern_listen_over_http_ends_gracefully_when_the_server_stops() -> None:
    state = DemoState()
    async with (
        running_server(state, tokens=True) as server,
        asyncio.timeout(WAIT_S),
        http_client(server, "auto") as client,
        client.listen(resource_subscriptions=[COUNTER_URI]) as sub,
    ):
        stopping = asyncio.create_task(server.stop())
        events = [event async for event in sub]  # the stream's final answer ends the loop (no SubscriptionLost)
        await stopping
    assert events == []
