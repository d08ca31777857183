"""The official MCP Python SDK (mcp 2.3) drives our server over :func:`websocket_transport`, in both protocol eras.

``mode="legacy"``: the ``initialize`` handshake (2025-11-25). ``mode="auto"``: ``server/discover`` then per-request
``_meta`` (2026-07-28). The SDK validates every message it receives against the schema of the negotiated version, so
each test here is also a conformance check of the server's wire output.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared.exceptions import MCPError

from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.server.wsserver import McpServer

from .fixtures import COUNTER_URI, FILLER_TOOLS, ITEMS_TEMPLATE, DemoState, running_server

pytestmark = pytest.mark.interop

MODES = ("legacy", "auto")
ERA = {"legacy": "2025-11-25", "auto": "2026-07-28"}
WAIT_S = 5.0


@asynccontextmanager
async def sdk_client(
    mode: str, state: DemoState, *, page_size: int = 100, **client_kwargs: Any
) -> AsyncIterator[tuple[Client, McpServer]]:
    """Our server plus an SDK ``Client`` connected to it over our WebSocket transport."""
    async with running_server(state, page_size=page_size) as server:
        async with asyncio.timeout(WAIT_S):
            client = Client(websocket_transport(server.url), mode=mode, **client_kwargs)
            await client.__aenter__()
        try:
            yield client, server
        finally:
            async with asyncio.timeout(WAIT_S):
                await client.__aexit__(None, None, None)


@pytest.mark.parametrize("mode", [*MODES, "2026-07-28"])
async def test_handshake_negotiates_the_era(mode: str) -> None:
    async with sdk_client(mode, DemoState()) as (client, _server):
        assert client.protocol_version == ERA.get(mode, mode)
        if mode == "legacy":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ping is removed in 2026-07-28; still part of 2025-11-25
                await client.send_ping()
        if mode != "2026-07-28":  # a pinned version skips discovery, so there is nothing to learn about the server
            info = client.server_info
            assert info is not None and (info.name, info.version) == ("tradingmcp-interop-demo", "9.9.9")
            caps = client.server_capabilities
            assert caps.tools is not None and caps.resources is not None and caps.resources.subscribe
        result = await client.call_tool("echo", {"text": mode})
    assert result.structured_content == {"text": mode, "n": 0}


@pytest.mark.parametrize("mode", MODES)
async def test_list_tools_follows_pagination(mode: str) -> None:
    async with sdk_client(mode, DemoState(), page_size=3) as (client, _server):
        names: list[str] = []
        cursor: str | None = None
        pages = 0
        async with asyncio.timeout(WAIT_S):
            while True:
                page = await client.list_tools(cursor=cursor, cache_mode="bypass")
                pages += 1
                assert len(page.tools) <= 3
                names += [t.name for t in page.tools]
                cursor = page.next_cursor
                if cursor is None:
                    break
    expected = ["echo", "slow", "bump", "say", "fail", *(f"filler_{i:02d}" for i in range(FILLER_TOOLS))]
    assert names == expected
    assert pages == -(-len(expected) // 3)


@pytest.mark.parametrize("mode", MODES)
async def test_call_tool_returns_structured_content_and_text(mode: str) -> None:
    async with sdk_client(mode, DemoState()) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            result = await client.call_tool("echo", {"text": "héllo", "n": 7})
    assert not result.is_error
    assert result.structured_content == {"text": "héllo", "n": 7}
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent)
    assert json.loads(result.content[0].text) == {"text": "héllo", "n": 7}


@pytest.mark.parametrize("mode", MODES)
async def test_tool_error_is_an_is_error_result(mode: str) -> None:
    async with sdk_client(mode, DemoState()) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            result = await client.call_tool("fail", {})
    assert result.is_error
    assert result.structured_content == {
        "error": {"code": "market_closed", "message": "the market is closed; retry after the open", "retry_after_s": 60}
    }
    assert isinstance(result.content[0], types.TextContent) and "market is closed" in result.content[0].text


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_arguments_are_a_json_rpc_error(mode: str) -> None:
    async with sdk_client(mode, DemoState()) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            with pytest.raises(MCPError) as info:
                await client.call_tool("echo", {"n": 1})
            assert info.value.code == -32602
            assert "text" in info.value.message
            result = await client.call_tool("echo", {"text": "still alive"})
    assert result.structured_content == {"text": "still alive", "n": 0}


@pytest.mark.parametrize("mode", MODES)
async def test_progress_callback_receives_every_update(mode: str) -> None:
    state = DemoState()
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with sdk_client(mode, state) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            result = await client.call_tool("slow", {"steps": 5, "delay_ms": 2}, progress_callback=on_progress)
    assert result.structured_content == {"done": 5}
    assert state.slow_finished == 1
    assert updates == [(float(i), 5.0, f"step {i}/5") for i in range(1, 6)]


@pytest.mark.parametrize("mode", MODES)
async def test_cancelling_a_call_cancels_the_server_task(mode: str) -> None:
    state = DemoState()
    async with sdk_client(mode, state) as (client, server):
        call = asyncio.create_task(client.call_tool("slow", {"steps": 10_000, "delay_ms": 10}))
        async with asyncio.timeout(WAIT_S):
            await state.slow_started.wait()
            (conn,) = server.connections
            assert len(conn.session.tasks) == 1
            call.cancel()  # the SDK sends notifications/cancelled for the abandoned request
            with pytest.raises(asyncio.CancelledError):
                await call
            await state.slow_cancelled.wait()
            assert conn.session.tasks == {}
            # the connection survives the cancellation
            result = await client.call_tool("echo", {"text": "after cancel"})
    assert state.slow_finished == 0
    assert result.structured_content == {"text": "after cancel", "n": 0}


@pytest.mark.parametrize("mode", MODES)
async def test_read_timeout_cancels_the_server_task(mode: str) -> None:
    state = DemoState()
    async with sdk_client(mode, state) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            with pytest.raises(MCPError) as info:
                await client.call_tool("slow", {"steps": 10_000, "delay_ms": 10}, read_timeout_seconds=0.2)
            assert info.value.code == -32001  # REQUEST_TIMEOUT
            await state.slow_cancelled.wait()
    assert state.slow_finished == 0


@pytest.mark.parametrize("mode", MODES)
async def test_resources_list_templates_and_read(mode: str) -> None:
    state = DemoState(counter=41)
    async with sdk_client(mode, state) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            listed = await client.list_resources()
            templates = await client.list_resource_templates()
            counter = await client.read_resource(COUNTER_URI)
            item = await client.read_resource("demo://items/apple")
            with pytest.raises(MCPError) as info:
                await client.read_resource("other://nothing")
    assert [str(r.uri) for r in listed.resources] == [COUNTER_URI]
    assert [t.uri_template for t in templates.resource_templates] == [ITEMS_TEMPLATE]
    (content,) = counter.contents
    assert isinstance(content, types.TextResourceContents)
    assert json.loads(content.text) == {"count": 41}
    (item_content,) = item.contents
    assert isinstance(item_content, types.TextResourceContents) and item_content.text == "item apple"
    assert info.value.code == (-32002 if mode == "legacy" else -32602)  # 2026-07-28 (SEP-2164): -32602


async def test_legacy_resource_subscribe_gets_updated_notifications() -> None:
    state = DemoState()
    updated: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            await updated.put(str(message.params.uri))

    async with sdk_client("legacy", state, message_handler=on_message) as (client, server):
        async with asyncio.timeout(WAIT_S):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the SDK marks resources/subscribe deprecated (removed in 2026-07-28)
                await client.subscribe_resource(COUNTER_URI)
            assert server.resources.subscribers(COUNTER_URI) == 1
            bumped = await client.call_tool("bump", {})
            assert await updated.get() == COUNTER_URI
            read = await client.read_resource(COUNTER_URI)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await client.unsubscribe_resource(COUNTER_URI)
            assert server.resources.subscribers(COUNTER_URI) == 0
    assert bumped.structured_content == {"count": 1}
    (content,) = read.contents
    assert isinstance(content, types.TextResourceContents) and json.loads(content.text) == {"count": 1}


async def test_modern_subscriptions_listen_gets_updated_events() -> None:
    state = DemoState()
    async with sdk_client("auto", state) as (client, server):
        async with asyncio.timeout(WAIT_S):
            async with client.listen(resource_subscriptions=[COUNTER_URI, "other://unknown"]) as sub:
                assert sub.honored is not None
                assert list(sub.honored.resource_subscriptions or ()) == [COUNTER_URI]
                assert server.resources.subscribers(COUNTER_URI) == 1
                await client.call_tool("bump", {})
                event = await anext(aiter(sub))
                assert event == ResourceUpdated(uri=COUNTER_URI)
            # leaving the listen context cancels the stream; the server releases the subscription
            await _until(lambda: server.resources.subscribers(COUNTER_URI) == 0)
            result = await client.call_tool("echo", {"text": "after listen"})
    assert result.structured_content == {"text": "after listen", "n": 0}


async def test_modern_listen_ends_gracefully_when_the_server_stops() -> None:
    state = DemoState()
    async with (
        running_server(state) as server,
        asyncio.timeout(WAIT_S),
        Client(websocket_transport(server.url), mode="auto") as client,
        client.listen(resource_subscriptions=[COUNTER_URI]) as sub,
    ):
        stopping = asyncio.create_task(server.stop())
        events = [event async for event in sub]  # a graceful close ends the loop (no SubscriptionLost)
        await stopping
    assert events == []


async def test_legacy_logging_set_level_filters_notifications() -> None:
    received: asyncio.Queue[types.LoggingMessageNotificationParams] = asyncio.Queue()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        await received.put(params)

    async with sdk_client("legacy", DemoState(), logging_callback=on_log) as (client, _server):
        async with asyncio.timeout(WAIT_S):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the SDK marks logging deprecated as of 2026-07-28 (SEP-2577)
                await client.set_logging_level("warning")
            await client.call_tool("say", {"level": "info", "message": "too quiet"})
            await client.call_tool("say", {"level": "error", "message": "loud enough"})
            first = await received.get()
    assert (first.level, first.data, first.logger) == ("error", "loud enough", "demo")
    assert received.empty()


async def test_modern_logging_uses_the_per_request_log_level() -> None:
    received: asyncio.Queue[types.LoggingMessageNotificationParams] = asyncio.Queue()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        await received.put(params)

    async with sdk_client("auto", DemoState(), logging_callback=on_log, log_level="warning") as (client, _server):
        async with asyncio.timeout(WAIT_S):
            await client.call_tool("say", {"level": "debug", "message": "too quiet"})
            await client.call_tool("say", {"level": "critical", "message": "loud enough"})
            first = await received.get()
    assert (first.level, first.data) == ("critical", "loud enough")
    assert received.empty()


async def _until(done: Any, step_s: float = 0.005) -> None:
    while not done():  # noqa: ASYNC110 - a server-side condition with no event to wait on; bounded by the caller
        await asyncio.sleep(step_s)
