"""Graceful shutdown (both backends): stop accepting, answer in-flight calls, end listen streams, then close 1001."""

from __future__ import annotations

import asyncio

import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, open_raw, wait_until
from tradingmcp.client.session import ConnectionLost, connect
from tradingmcp.server.mcp.registry import Resource
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws
from tradingmcp.transport.closecodes import CloseCode

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


async def test_in_flight_call_is_answered_then_1001(backend: ws.Backend) -> None:
    probe = Probe()
    srv = await McpServer(make_app(probe), ServerConfig(port=0, backend=backend, drain_timeout_s=3.0)).start()
    client = await connect(srv.url, backend=backend, reconnect=False)
    raw = await open_raw(srv.url, backend)
    call = asyncio.create_task(client.call_tool("slow", {"delay_s": 0.3}))
    raw.send(
        {
            "jsonrpc": "2.0",
            "id": "raw-slow",
            "method": "tools/call",
            "params": {"name": "slow", "arguments": {"delay_s": 0.3}},
        }
    )
    await wait_until(lambda: probe.calls.get("slow", 0) == 2)

    stopping = asyncio.create_task(srv.stop())
    await wait_until(lambda: not srv.accepting)
    with pytest.raises((OSError, ws.HandshakeRejected)):  # no new connections while draining
        await connect(srv.url, backend=backend, reconnect=False)

    async with asyncio.timeout(TIMEOUT_S):
        result = await call
        assert result["isError"] is False and result["structuredContent"] == {"slept": True}
        code, _reason = await raw.rec.closed
        await stopping
    assert code == CloseCode.GOING_AWAY
    # the answer came first, then the close
    assert raw.rec.messages[-1]["id"] == "raw-slow" and raw.rec.messages[-1]["result"]["isError"] is False
    await wait_until(lambda: client.last_close is not None)
    assert client.last_close is not None and client.last_close[0] == CloseCode.GOING_AWAY
    assert not srv.connections
    with pytest.raises(ConnectionLost):
        await client.request("ping")
    await client.close()


async def test_listen_stream_is_ended_before_1001(backend: ws.Backend) -> None:
    app = make_app()
    app.add_resource(Resource("test://r", "r", lambda uri: {"v": 1}))
    srv = await McpServer(app, ServerConfig(port=0, backend=backend)).start()
    raw = await open_raw(srv.url, backend, initialize=False)
    raw.send(
        {
            "jsonrpc": "2.0",
            "id": "listen-1",
            "method": "subscriptions/listen",
            "params": {"notifications": {"resourceSubscriptions": ["test://r"]}, "_meta": MODERN_META},
        }
    )
    ack = await raw.rec.wait_for(lambda m: m.get("method") == "notifications/subscriptions/acknowledged")
    assert ack["params"]["notifications"]["resourceSubscriptions"] == ["test://r"]
    async with asyncio.timeout(TIMEOUT_S):
        await srv.stop()
        code, _ = await raw.rec.closed
    end = await raw.response("listen-1")
    assert end["result"]["resultType"] == "complete"
    assert end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1"
    assert code == CloseCode.GOING_AWAY


async def test_call_longer_than_drain_timeout_is_lost_not_hung(backend: ws.Backend) -> None:
    probe = Probe()
    srv = await McpServer(make_app(probe), ServerConfig(port=0, backend=backend, drain_timeout_s=0.2)).start()
    client = await connect(srv.url, backend=backend, reconnect=False)
    call = asyncio.create_task(client.call_tool("block", {}, timeout_s=TIMEOUT_S))
    await asyncio.wait_for(probe.started.wait(), TIMEOUT_S)
    async with asyncio.timeout(TIMEOUT_S):
        await srv.stop()
        with pytest.raises(ConnectionLost):
            await call
        await probe.cancelled.wait()  # the handler was cancelled when its connection closed
    assert client.last_close is not None and client.last_close[0] == CloseCode.GOING_AWAY
    await client.close()
