"""Our stream notification is a declared extension (SEP-2133, ``io.tradingmcp/streams``) for 2026-07-28 clients, on
both faces of one server: WebSocket and Streamable HTTP. A 2026-07-28 ``subscribe`` without the extension in
``_meta[clientCapabilities].extensions`` is -32021 naming it, and nothing is pushed; with it, pushes flow. Handshake-era
clients keep subscribing without declaring anything, and our own client declares it in both eras."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.server.http.helpers import TOKEN, legacy_headers, modern_headers, modern_request, open_session, post
from tests.wire_helpers import TIMEOUT_S, Probe, RawClient, make_app, make_hub, open_raw, running, wait_until
from tradingmcp.client.session import connect
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport.auth import TokenStore
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_CLIENT_INFO, META_VERSION

EXTENSION = "io.tradingmcp/streams"
STREAM_METHOD = "notifications/tradingmcp/stream"
KEY = "ticks:sim:BTCUSDT"
MODERN = "2026-07-28"
TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"})})
DECLARED = {META_CLIENT_CAPS: {"extensions": {EXTENSION: {}}}}


@pytest.fixture
async def server() -> AsyncIterator[McpServer]:
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), "picows", hub=hub, tokens=TOKENS) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        yield session


def modern_meta(caps: dict[str, Any]) -> dict[str, Any]:
    return {META_VERSION: MODERN, META_CLIENT_CAPS: caps, META_CLIENT_INFO: {"name": "t", "version": "1"}}


async def ws_subscribe(client: RawClient, caps: dict[str, Any] | None) -> dict[str, Any]:
    """``subscribe`` over the WebSocket: 2026-07-28 with ``caps`` in ``_meta``, or handshake-era (None)."""
    params: dict[str, Any] = {"name": "subscribe", "arguments": {"stream": KEY}}
    if caps is not None:
        params["_meta"] = modern_meta(caps)
    answer: dict[str, Any] = await client.rpc("tools/call", params)
    return answer


def pushes(client: RawClient) -> list[Any]:
    return [m for m in client.rec.messages if isinstance(m, dict) and m.get("method") == STREAM_METHOD]


def assert_asks_for_the_extension(answer: dict[str, Any]) -> None:
    error = answer["error"]
    assert error["code"] == -32021, answer
    assert EXTENSION in error["message"] and "extensions" in error["message"], error
    assert error["data"] == {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}


# ---------------------------------------------------------------- WebSocket face


@pytest.mark.parametrize("caps", [{}, {"extensions": {}}, {"experimental": {"tradingmcp/streams": {}}}])
async def test_ws_modern_subscribe_without_the_extension_is_refused_and_pushes_nothing(
    server: McpServer, caps: dict[str, Any]
) -> None:
    client = await open_raw(server.url, "picows", initialize=False, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        assert_asks_for_the_extension(await ws_subscribe(client, caps))
        assert server.streams.subscriber_count(KEY) == 0
        assert server.streams.publish(KEY, {"px": 1}) == 0
        listed = await client.rpc(
            "tools/call", {"name": "list_subscriptions", "arguments": {}, "_meta": modern_meta(caps)}
        )
        assert listed["result"]["structuredContent"]["subscriptions"] == []
        assert pushes(client) == []
    finally:
        await client.close()


async def test_ws_modern_subscribe_with_the_extension_gets_pushes(server: McpServer) -> None:
    client = await open_raw(server.url, "picows", initialize=False, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        answer = await ws_subscribe(client, {"extensions": {EXTENSION: {}}})
        assert answer["result"]["structuredContent"]["subscribed"] is True, answer
        assert answer["result"]["resultType"] == "complete"
        assert server.streams.publish(KEY, {"px": 2}) == 1
        note = await client.rec.wait_for(lambda m: isinstance(m, dict) and m.get("method") == STREAM_METHOD)
        assert note["params"] == {"stream": KEY, "seq": 1, "data": {"px": 2}}
    finally:
        await client.close()


async def test_ws_handshake_era_subscribes_without_declaring_anything(server: McpServer) -> None:
    client = await open_raw(server.url, "picows", headers={"Authorization": f"Bearer {TOKEN}"})  # capabilities {}
    try:
        answer = await ws_subscribe(client, None)
        assert answer["result"]["structuredContent"]["subscribed"] is True, answer
        assert server.streams.publish(KEY, {"px": 3}) == 1
        note = await client.rec.wait_for(lambda m: isinstance(m, dict) and m.get("method") == STREAM_METHOD)
        assert note["params"]["data"] == {"px": 3}
    finally:
        await client.close()


@pytest.mark.parametrize("version", ["2025-11-25", MODERN])
async def test_our_client_declares_the_extension_in_both_eras(server: McpServer, version: str) -> None:
    client = await connect(server.url, token=TOKEN, protocol_version=version, reconnect=False)
    try:
        if version == MODERN:
            extensions = client.server_capabilities["extensions"]
            assert extensions[EXTENSION] == {"method": STREAM_METHOD}
        await client.subscribe(KEY)
        assert server.streams.publish(KEY, {"px": 4}) == 1
        note = await asyncio.wait_for(anext(aiter(client.notifications())), TIMEOUT_S)
        assert note.method == STREAM_METHOD and note.params["data"] == {"px": 4}
    finally:
        await client.close()


# ---------------------------------------------------------------- Streamable HTTP face


async def test_http_modern_subscribe_without_the_extension_is_400_naming_it(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    body = modern_request(1, "tools/call", {"name": "subscribe", "arguments": {"stream": KEY}})
    status, answer = await post(http, server.http_url, body, modern_headers(body))
    assert status == 400
    assert answer["id"] == 1
    assert_asks_for_the_extension(answer)
    assert server.streams.subscriber_count(KEY) == 0


async def test_http_modern_subscribe_with_the_extension_subscribes(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    body = modern_request(2, "tools/call", {"name": "subscribe", "arguments": {"stream": KEY}}, **DECLARED)
    status, answer = await post(http, server.http_url, body, modern_headers(body))
    assert status == 200, answer
    assert answer["result"]["structuredContent"]["subscribed"] is True
    assert answer["result"]["structuredContent"]["method"] == STREAM_METHOD
    await wait_until(lambda: server.streams.subscriber_count(KEY) == 0)  # the POST's route ends with its answer


async def test_http_discover_announces_the_extension(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(3, "server/discover")
    status, answer = await post(http, server.http_url, body, modern_headers(body))
    assert status == 200
    assert answer["result"]["capabilities"]["extensions"] == {EXTENSION: {"method": STREAM_METHOD}}


async def test_http_session_era_subscribes_without_declaring_anything(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    sid = await open_session(http, server.http_url)  # initialize with capabilities {}
    body = {
        "jsonrpc": "2.0",
        "id": "s",
        "method": "tools/call",
        "params": {"name": "subscribe", "arguments": {"stream": KEY}},
    }
    status, answer = await post(http, server.http_url, body, legacy_headers(sid))
    assert status == 200 and answer["result"]["structuredContent"]["subscribed"] is True, answer
    assert server.streams.subscriber_count(KEY) == 1
