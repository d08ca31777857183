"""The official MCP Python SDK (mcp 2.3) answers our input-required results over Streamable HTTP (2026-07-28 Multi
Round-Trip Requests, on ``tools/call``, ``prompts/get`` and ``resources/read``): its ``Client`` dispatches each ``inputRequests`` entry to its elicitation, sampling and roots
callbacks and retries the request with ``inputResponses`` and the echoed ``requestState``, which our server verifies
on a new engine session (nothing is kept between rounds). In the 2025-11-25 era the same tools ask through
server-to-client requests on the call's stream, which the same callbacks answer.

The same over our WebSocket transport (:mod:`tradingmcp.client.sdk_transport`), both eras.

The server carries the conformance suite's fixtures (:mod:`tradingmcp.server.tools.conformance`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.server.mcp.mrtr import InputRequired, Inputs, elicit
from tradingmcp.server.mcp.registry import McpApp, Resource
from tradingmcp.server.tools.conformance import register_conformance_fixtures
from tradingmcp.server.tools.conformance_rounds import NAME_SCHEMA
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws

pytestmark = pytest.mark.interop

WAIT_S = 20.0


class Asked:
    """The client's side: answers every kind of input request, and counts them by method."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.methods.append("elicitation/create")
        assert isinstance(params, types.ElicitRequestFormParams)
        fields = params.requested_schema.get("properties", {})
        answers = {"name": "Alice", "color": "blue", "ok": True, "context": "btc", "username": "alice"}
        return types.ElicitResult(action="accept", content={k: v for k, v in answers.items() if k in fields})

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.methods.append("sampling/createMessage")
        text = types.TextContent(type="text", text="Paris")
        return types.CreateMessageResult(role="assistant", content=text, model="test-model", stop_reason="endTurn")

    async def roots(self, context: Any) -> types.ListRootsResult:
        self.methods.append("roots/list")
        return types.ListRootsResult(roots=[types.Root(uri="file:///srv/trading", name="trading")])


NOTE_URI = "test://asking-note"


def ask_note(uri: str, inputs: Inputs) -> str:
    """A resource that asks the reader's name before it is read (2026-07-28)."""
    name = (inputs.elicited("reader") or {}).get("name")
    if name is None:
        raise InputRequired({"reader": elicit("Who reads this note?", NAME_SCHEMA)})
    return f"a note for {name}"


@asynccontextmanager
async def fixture_server() -> AsyncIterator[McpServer]:
    app = McpApp(name="tradingmcp-mrtr-interop")
    register_conformance_fixtures(app)
    app.add_resource(Resource(NOTE_URI, "note", lambda uri: "a note", "Asks who reads it", "text/plain", ask=ask_note))
    config = ServerConfig(host="127.0.0.1", port=0, drain_timeout_s=2.0, wire=ws.WireOptions(ping_interval_s=0))
    server = await McpServer(app, config).start()
    try:
        yield server
    finally:
        async with asyncio.timeout(10):
            await server.stop()


@asynccontextmanager
async def sdk_client(server: McpServer, mode: str, asked: Asked) -> AsyncIterator[Client]:
    async with create_mcp_http_client() as http:
        transport = streamable_http_client(server.http_url, http_client=http)
        async with Client(
            transport,
            mode=mode,
            elicitation_callback=asked.elicit,
            sampling_callback=asked.sample,
            list_roots_callback=asked.roots,
        ) as client:
            yield client


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_the_sdk_client_answers_input_required_results_over_http() -> None:
    asked = Asked()
    async with fixture_server() as server, asyncio.timeout(WAIT_S), sdk_client(server, "auto", asked) as client:
        assert client.protocol_version == "2026-07-28"
        greeted = await client.call_tool("test_input_required_result_elicitation", {})
        rounds = await client.call_tool("test_input_required_result_multi_round", {})
        many = await client.call_tool("test_input_required_result_multiple_inputs", {})
        checked = await client.call_tool("test_input_required_result_request_state", {})
        prompt = await client.get_prompt("test_input_required_result_prompt")
        note = await client.read_resource(NOTE_URI)
    assert text_of(greeted) == "Hello, Alice!" and not greeted.is_error
    assert text_of(rounds) == "Alice likes blue"  # three requests: the name travelled in the sealed state
    assert text_of(many) == "Paris Alice (1 roots)"
    assert text_of(checked).startswith("state-ok")
    message = prompt.messages[0].content
    assert isinstance(message, types.TextContent) and message.text == "Use this context: btc"
    assert isinstance(note.contents[0], types.TextResourceContents) and note.contents[0].text == "a note for Alice"
    assert asked.methods.count("elicitation/create") == 7
    assert asked.methods.count("sampling/createMessage") == 1 and asked.methods.count("roots/list") == 1


async def test_the_handshake_era_asks_the_same_tools_with_server_to_client_requests() -> None:
    asked = Asked()
    async with fixture_server() as server, asyncio.timeout(WAIT_S), sdk_client(server, "legacy", asked) as client:
        assert client.protocol_version == "2025-11-25"
        elicited = await client.call_tool("test_elicitation", {"message": "Who are you?"})
        greeted = await client.call_tool("test_input_required_result_elicitation", {})
        rounds = await client.call_tool("test_input_required_result_multi_round", {})
        many = await client.call_tool("test_input_required_result_multiple_inputs", {})
    assert "action=accept" in text_of(elicited)
    assert text_of(greeted) == "Hello, Alice!" and text_of(rounds) == "Alice likes blue"
    assert text_of(many) == "Paris Alice (1 roots)"
    assert asked.methods.count("elicitation/create") == 5 and asked.methods.count("roots/list") == 1


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_the_sdk_client_answers_the_same_rounds_over_our_websocket_transport(mode: str, version: str) -> None:
    """Our transport carries both eras' asking unchanged: the input-required results and their retries (2026-07-28),
    and the server's own requests and the SDK's answers (2025-11-25)."""
    asked = Asked()
    async with fixture_server() as server, asyncio.timeout(WAIT_S):
        transport = websocket_transport(server.url)
        callbacks = {"elicitation_callback": asked.elicit, "sampling_callback": asked.sample}
        async with Client(transport, mode=mode, list_roots_callback=asked.roots, **callbacks) as client:
            assert client.protocol_version == version
            rounds = await client.call_tool("test_input_required_result_multi_round", {})
            many = await client.call_tool("test_input_required_result_multiple_inputs", {})
    assert text_of(rounds) == "Alice likes blue" and text_of(many) == "Paris Alice (1 roots)"
    assert sorted(asked.methods) == ["elicitation/create"] * 3 + ["roots/list", "sampling/createMessage"]
