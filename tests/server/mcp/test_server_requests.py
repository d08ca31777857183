"""Requests of the server's own (2025-11-25 ``sampling/createMessage``, ``elicitation/create``): a tool asks the client
on its call's route and the client's response, matched by id, resumes it. Over a real WebSocket (our transport, a raw
JSON-RPC client) and over Streamable HTTP (the request on the call's SSE stream, the answer POSTed in the session)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from tests.server.http.helpers import TOKEN, legacy_headers, open_session, read_events
from tests.wire_helpers import TIMEOUT_S, Probe, RawClient, make_app, open_raw, running, wait_until
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport.auth import TokenStore

TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"})})


@pytest.fixture
async def server() -> AsyncIterator[McpServer]:
    probe = Probe()
    app = make_app(probe)

    @app.tool("ask", "Ask the client's LLM, answer with what it said.")
    async def ask(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        answer: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()
        call.request("sampling/createMessage", {"messages": [], "maxTokens": 5}, lambda r, e: answer.set_result((r, e)))
        result, error = await answer
        if error is not None:
            raise ToolError(f"client said {error['message']}", "client_error")
        return {"said": result["content"]["text"]}

    async with running(app, "picows", tokens=TOKENS) as srv:
        yield srv


async def ws_client(server: McpServer) -> RawClient:
    return await open_raw(server.url, "picows", headers={"Authorization": f"Bearer {TOKEN}"})


async def server_request(client: RawClient) -> dict[str, Any]:
    found: dict[str, Any] = await client.rec.wait_for(lambda m: isinstance(m, dict) and "method" in m and "id" in m)
    return found


async def test_a_tool_asks_the_client_over_websocket_and_resumes_on_its_answer(server: McpServer) -> None:
    client = await ws_client(server)
    try:
        client.send({"jsonrpc": "2.0", "id": "c1", "method": "tools/call", "params": {"name": "ask", "arguments": {}}})
        asked = await server_request(client)
        assert asked["method"] == "sampling/createMessage" and asked["params"] == {"messages": [], "maxTokens": 5}
        client.send({"jsonrpc": "2.0", "id": "not-asked", "result": {}})  # an id the server never sent: ignored
        client.send({"jsonrpc": "2.0", "id": asked["id"], "result": {"content": {"type": "text", "text": "hi"}}})
        answer = await client.response("c1")
        assert answer["result"]["structuredContent"] == {"said": "hi"}
        client.send({"jsonrpc": "2.0", "id": asked["id"], "result": {}})  # a duplicate answer changes nothing
        await client.ping_ok()
    finally:
        await client.close()


async def test_an_error_answer_becomes_the_tools_error_result(server: McpServer) -> None:
    client = await ws_client(server)
    try:
        client.send({"jsonrpc": "2.0", "id": "c2", "method": "tools/call", "params": {"name": "ask", "arguments": {}}})
        asked = await server_request(client)
        client.send({"jsonrpc": "2.0", "id": asked["id"], "error": {"code": -1, "message": "user rejected"}})
        answer = await client.response("c2")
        assert answer["result"]["isError"] is True and "user rejected" in answer["result"]["content"][0]["text"]
    finally:
        await client.close()


async def test_a_2026_call_cannot_ask_the_client(server: McpServer) -> None:
    client = await open_raw(server.url, "picows", initialize=False, headers={"Authorization": f"Bearer {TOKEN}"})
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    try:
        answer = await client.rpc("tools/call", {"name": "ask", "arguments": {}, "_meta": meta})
        assert answer["result"]["isError"] is True and "2026-07-28" in answer["result"]["content"][0]["text"]
        assert [m for m in client.rec.messages if isinstance(m, dict) and "method" in m] == []
    finally:
        await client.close()


async def test_over_http_the_request_rides_the_calls_stream_and_the_answer_is_posted() -> None:
    probe = Probe()
    app = make_app(probe)

    @app.tool("ask", "Ask the client's LLM.")
    async def ask(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        call.request("sampling/createMessage", {"messages": []}, lambda r, e: answer.set_result(r))
        return {"said": (await answer)["content"]["text"]}

    async with (
        running(app, "picows", tokens=TOKENS) as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
    ):
        sid = await open_session(http, server.http_url)
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}
        async with http.post(server.http_url, data=orjson.dumps(call), headers=legacy_headers(sid)) as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            (asked,) = await read_events(resp, 1)
            request = asked["data"]
            assert request["method"] == "sampling/createMessage" and "id" in request
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": {"content": {"type": "text", "text": "ok"}}}
            async with http.post(server.http_url, data=orjson.dumps(reply), headers=legacy_headers(sid)) as posted:
                assert posted.status == 202
            (final,) = await read_events(resp, 1)
        assert final["data"]["id"] == 1 and final["data"]["result"]["structuredContent"] == {"said": "ok"}


async def test_a_cancelled_call_stops_waiting_for_its_answer(server: McpServer) -> None:
    client = await ws_client(server)
    try:
        client.send({"jsonrpc": "2.0", "id": "c3", "method": "tools/call", "params": {"name": "ask", "arguments": {}}})
        asked = await server_request(client)
        (conn,) = server.connections
        assert list(conn.session.outgoing) == [asked["id"]]
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "c3"}})
        await wait_until(lambda: not conn.session.outgoing and not conn.session.in_flight)
        client.send({"jsonrpc": "2.0", "id": asked["id"], "result": {"content": {"type": "text", "text": "late"}}})
        await client.ping_ok()
        assert [m for m in client.rec.messages if isinstance(m, dict) and m.get("id") == "c3"] == []
    finally:
        await client.close()
