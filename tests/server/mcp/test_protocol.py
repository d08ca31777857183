"""MCP protocol behaviour through our client (both backends): both protocol eras, cancellation, progress, logging levels,
tools/list pagination."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, open_raw, running, wait_until
from tradingmcp.client.session import McpClient, RequestTimeout, RpcError, connect
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport import ws
from tradingmcp.transport.jsonrpc import ErrorCode

TOOL_NAMES = {"echo", "place_order", "fail", "slow", "block", "log_both"}


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
async def server(backend: ws.Backend, probe: Probe) -> AsyncIterator[McpServer]:
    async with running(make_app(probe, page_size=2), backend) as srv:
        yield srv


@pytest.fixture
async def client(server: McpServer, backend: ws.Backend) -> AsyncIterator[McpClient]:
    c = await connect(server.url, backend=backend, reconnect=False)
    yield c
    await c.close()


async def test_handshake_era(client: McpClient, server: McpServer) -> None:
    assert client.protocol_version == "2025-11-25"
    assert client.server_info == {"name": "wire-test", "version": "0.1.0"}
    assert client.server_capabilities["tools"] == {"listChanged": False}
    result = await client.call_tool("echo", {"x": 1})
    assert "resultType" not in result
    assert next(iter(server.connections)).session.initialized


async def test_modern_era(server: McpServer, backend: ws.Backend) -> None:
    modern = await connect(server.url, backend=backend, reconnect=False, protocol_version="2026-07-28")
    assert modern.protocol_version == "2026-07-28"
    assert modern.server_info == {"name": "wire-test", "version": "0.1.0"}
    assert "tools" in modern.server_capabilities
    session = next(iter(server.connections)).session
    assert not session.initialized  # no handshake in this era: every request carries _meta
    result = await modern.call_tool("echo", {"x": 2})
    assert result["resultType"] == "complete" and result["structuredContent"] == {"x": 2}
    slow = await modern.call_tool("slow", {"delay_s": 0})  # async tools too
    assert slow["resultType"] == "complete"
    assert {t["name"] for t in await modern.list_tools()} == TOOL_NAMES
    discover = await modern.request("server/discover", {})
    assert "2026-07-28" in discover["supportedVersions"] and discover["resultType"] == "complete"
    await modern.close()


async def test_unsupported_version_in_meta(server: McpServer, backend: ws.Backend) -> None:
    raw = await open_raw(server.url, backend, initialize=False)
    meta = {"io.modelcontextprotocol/protocolVersion": "1999-01-01"}
    resp = await raw.rpc("tools/list", {"_meta": meta})
    assert resp["error"]["code"] == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    assert "2026-07-28" in resp["error"]["data"]["supported"]
    # initialize with an unknown version: the server answers with the version it speaks
    resp = await raw.rpc("initialize", {"protocolVersion": "1999-01-01", "capabilities": {}})
    assert resp["result"]["protocolVersion"] == "2025-11-25"
    await raw.close()


async def test_cancellation_by_timeout_cancels_the_server_task(
    client: McpClient, probe: Probe, server: McpServer
) -> None:
    with pytest.raises(RequestTimeout):
        await client.call_tool("block", {}, timeout_s=0.2)
    async with asyncio.timeout(TIMEOUT_S):
        await probe.cancelled.wait()
    session = next(iter(server.connections)).session
    assert session.tasks == {}
    assert (await client.request("ping")) == {}  # the connection is fine


async def test_explicit_cancel_notification(server: McpServer, backend: ws.Backend, probe: Probe) -> None:
    raw = await open_raw(server.url, backend)
    raw.send({"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "block"}})
    await asyncio.wait_for(probe.started.wait(), TIMEOUT_S)
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 41, "reason": "user"}})
    await asyncio.wait_for(probe.cancelled.wait(), TIMEOUT_S)
    await raw.ping_ok()
    await asyncio.sleep(0.05)
    assert not any(m.get("id") == 41 for m in raw.rec.messages)  # a cancelled request is never answered
    # cancelling an unknown or finished id is harmless
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 41}})
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "nope"}})
    await raw.ping_ok()
    await raw.close()


async def test_progress_notifications(client: McpClient) -> None:
    seen: list[dict[str, Any]] = []
    result = await client.call_tool("slow", {"delay_s": 0.03, "steps": 3}, on_progress=seen.append)
    assert result["structuredContent"] == {"slept": True}
    assert [p["progress"] for p in seen] == [1, 2, 3]
    assert all(p["total"] == 3 for p in seen) and seen[0]["message"] == "step 1"
    assert len({p["progressToken"] for p in seen}) == 1
    # without a progress token, no progress notification is sent
    await client.call_tool("slow", {"delay_s": 0, "steps": 2})
    assert not [n for n in client.drain_notifications() if n.method == "notifications/progress"]


def _log_lines(client: McpClient) -> list[str]:
    return [n.params["level"] for n in client.drain_notifications() if n.method == "notifications/message"]


async def test_logging_set_level_filters(client: McpClient) -> None:
    await client.call_tool("log_both")
    await client.request("ping")
    assert _log_lines(client) == []  # no level chosen: the server sends no log lines
    await client.request("logging/setLevel", {"level": "warning"})
    await client.call_tool("log_both")
    await client.request("ping")
    assert _log_lines(client) == ["error"]
    await client.request("logging/setLevel", {"level": "debug"})
    await client.call_tool("log_both")
    await client.request("ping")
    assert _log_lines(client) == ["info", "error"]
    with pytest.raises(RpcError) as info:
        await client.request("logging/setLevel", {"level": "loud"})
    assert info.value.code == ErrorCode.INVALID_PARAMS


async def test_tools_list_pagination(client: McpClient) -> None:
    page = await client.request("tools/list")
    assert len(page["tools"]) == 2 and page["nextCursor"] == "2"
    names: list[str] = [t["name"] for t in page["tools"]]
    cursor = page["nextCursor"]
    while cursor:
        page = await client.request("tools/list", {"cursor": cursor})
        names += [t["name"] for t in page["tools"]]
        cursor = page.get("nextCursor")
    assert set(names) == TOOL_NAMES and len(names) == len(TOOL_NAMES)
    assert {t["name"] for t in await client.list_tools()} == TOOL_NAMES
    for bad in ("abc", "999", "-1", 2, "", "2.0"):
        with pytest.raises(RpcError) as info:
            await client.request("tools/list", {"cursor": bad})
        assert info.value.code == ErrorCode.INVALID_PARAMS, bad


async def test_tool_error_is_a_result_not_a_protocol_error(client: McpClient) -> None:
    result = await client.call_tool("fail")
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["code"] == "test_failure"


async def test_many_concurrent_calls_on_one_connection(client: McpClient, probe: Probe) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        results = await asyncio.gather(*(client.call_tool("echo", {"x": i}) for i in range(200)))
    assert [r["structuredContent"]["x"] for r in results] == list(range(200))
    await wait_until(lambda: probe.calls["echo"] == 200)
