"""The transport contract of :func:`websocket_transport` (mcp 2.3's client-transport shape) on real loopback sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client import Client, ClientSession
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.transport import ws

from .fixtures import TOKEN, DemoState, running_server

pytestmark = pytest.mark.interop

WAIT_S = 5.0


def _request(rid: int, method: str, params: dict[str, Any] | None = None) -> SessionMessage:
    if params is None:  # leave it unset: exclude_unset then writes no "params": null (JSON-RPC forbids it)
        return SessionMessage(types.JSONRPCRequest(jsonrpc="2.0", id=rid, method=method))
    return SessionMessage(types.JSONRPCRequest(jsonrpc="2.0", id=rid, method=method, params=params))


@pytest.mark.parametrize("client_backend", ws.BACKENDS)
@pytest.mark.parametrize("server_backend", ws.BACKENDS)
async def test_client_session_over_both_backends(client_backend: ws.Backend, server_backend: ws.Backend) -> None:
    async with (
        running_server(DemoState(), backend=server_backend) as server,
        asyncio.timeout(WAIT_S),
        websocket_transport(server.url, backend=client_backend) as (read, write),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        result = await session.call_tool("echo", {"text": f"{client_backend}->{server_backend}"})
    assert init.protocol_version == "2025-11-25"
    assert init.server_info is not None and init.server_info.name == "tradingmcp-interop-demo"
    assert result.structured_content == {"text": f"{client_backend}->{server_backend}", "n": 0}


@pytest.mark.parametrize("in_subprotocol", [False, True], ids=["bearer-header", "auth-subprotocol"])
async def test_token_is_accepted_as_header_or_subprotocol(in_subprotocol: bool) -> None:
    async with running_server(DemoState(), tokens=True) as server:
        transport = websocket_transport(server.url, token=TOKEN, token_in_subprotocol=in_subprotocol)
        async with asyncio.timeout(WAIT_S), Client(transport, mode="legacy") as client:
            result = await client.call_tool("echo", {"text": "authorized"})
            (conn,) = server.connections
            assert conn.principal.name == "interop"
    assert result.structured_content == {"text": "authorized", "n": 0}


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_missing_or_wrong_token_is_rejected_before_the_upgrade(token: str | None) -> None:
    async with running_server(DemoState(), tokens=True) as server:
        with pytest.raises(ws.HandshakeRejected) as info:
            async with asyncio.timeout(WAIT_S), websocket_transport(server.url, token=token):
                pytest.fail("the upgrade should have been refused")
        assert not server.connections
    assert info.value.status == 401


async def test_raw_streams_carry_messages_and_validation_failures() -> None:
    """A frame that is not a JSON-RPC message reaches the read stream as an Exception value; the stream goes on."""
    garbage = [b'{"jsonrpc": "2.0", "method": 17}', b"this is not json", b"[1, 2]"]

    class Misbehaving:
        conn: ws.Connection | None = None

        def on_open(self, conn: ws.Connection) -> None:
            self.conn = conn

        def on_text(self, data: ws.TextData) -> None:
            assert self.conn is not None
            for frame in garbage:
                self.conn.send_text(frame)
            self.conn.send_text(b'{"jsonrpc": "2.0", "id": 1, "result": {"ok": true}}')

        def on_close(self, code: int, reason: str) -> None:
            pass

        def on_writable(self) -> None:
            pass

    server = await ws.serve(lambda req: ws.Accept(Misbehaving(), "mcp"), "127.0.0.1", 0)
    try:
        async with asyncio.timeout(WAIT_S), websocket_transport(f"ws://127.0.0.1:{server.port}/mcp") as (read, write):
            await write.send(_request(1, "ping"))
            items = [await read.receive() for _ in range(len(garbage) + 1)]
    finally:
        await server.close()
    assert all(isinstance(item, ValidationError) for item in items[:3])
    last = items[3]
    assert isinstance(last, SessionMessage)
    assert isinstance(last.message, types.JSONRPCResponse) and last.message.result == {"ok": True}


async def test_server_closing_ends_the_read_stream_and_fails_pending_calls() -> None:
    state = DemoState()
    async with (
        running_server(state) as server,
        asyncio.timeout(WAIT_S),
        Client(websocket_transport(server.url), mode="legacy") as client,
    ):
        call = asyncio.create_task(client.call_tool("slow", {"steps": 10_000, "delay_ms": 10}))
        await state.slow_started.wait()
        (conn,) = server.connections
        conn.close(1011, "test: server-side failure")
        with pytest.raises(MCPError) as info:
            await call
    assert info.value.code == -32000  # CONNECTION_CLOSED
    assert state.slow_cancelled.is_set()  # the dropped connection cancelled the server-side handler


async def test_writes_after_the_peer_closed_fail_and_exit_is_clean() -> None:
    async with (
        running_server(DemoState()) as server,
        asyncio.timeout(WAIT_S),
        websocket_transport(server.url) as (read, write),
    ):
        (conn,) = server.connections
        conn.close(1000, "bye")
        with pytest.raises(anyio.EndOfStream):
            await read.receive()
        with pytest.raises((anyio.BrokenResourceError, anyio.ClosedResourceError)):
            for rid in range(1, 10):  # the writer notices the close on its next message
                await write.send(_request(rid, "ping"))


async def test_leaving_the_context_flushes_then_closes_with_1000() -> None:
    """Messages handed to the write stream before exit reach the peer; then a 1000 close frame."""
    received: list[bytes] = []
    closed = asyncio.Event()
    closes: list[tuple[int, str]] = []

    class Recorder:
        def on_open(self, conn: ws.Connection) -> None:
            pass

        def on_text(self, data: ws.TextData) -> None:
            received.append(data.encode() if isinstance(data, str) else bytes(data))

        def on_close(self, code: int, reason: str) -> None:
            closes.append((code, reason))
            closed.set()

        def on_writable(self) -> None:
            pass

    server = await ws.serve(lambda req: ws.Accept(Recorder(), "mcp"), "127.0.0.1", 0)
    try:
        async with asyncio.timeout(WAIT_S):
            async with websocket_transport(f"ws://127.0.0.1:{server.port}/mcp") as (_read, write):
                for rid in range(1, 51):
                    await write.send(_request(rid, "ping"))
            await closed.wait()
    finally:
        await server.close()
    assert len(received) == 50
    assert received[0] == b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    assert closes == [(1000, "client closing")]
