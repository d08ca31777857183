"""WebSocket framing errors (RFC 6455) from a hand-rolled client, both backends: each closes with 1002 PROTOCOL_ERROR;
control frames behave (pong echoes the ping, pings may sit between fragments, a close is echoed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
import pytest

from tests.wire_helpers import (
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    TIMEOUT_S,
    RawSocketWs,
    close_code,
    encode_frame,
    make_app,
    open_raw,
    running,
)
from tradingmcp.transport import ws
from tradingmcp.transport.closecodes import EXPLANATIONS, CloseCode

PING = b'{"jsonrpc":"2.0","id":"x","method":"ping"}'

PROTOCOL_ERRORS: dict[str, Callable[[], list[bytes]]] = {
    "continuation without a start": lambda: [encode_frame(OP_CONT, b"abc")],
    "text inside a fragmented message": lambda: [
        encode_frame(OP_TEXT, PING[:5], fin=False),
        encode_frame(OP_TEXT, PING),
    ],
    "unmasked client frame": lambda: [encode_frame(OP_TEXT, PING, mask=False)],
    "reserved opcode": lambda: [encode_frame(0x3, b"")],
    "control frame over 125 bytes": lambda: [encode_frame(OP_PING, b"x" * 200)],
    "fragmented control frame": lambda: [encode_frame(OP_PING, b"x", fin=False)],
    "invalid close code": lambda: [encode_frame(OP_CLOSE, (999).to_bytes(2, "big"))],
}


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


async def next_close_or_pong(raw: RawSocketWs) -> tuple[int, bytes]:
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            op, payload = await raw.recv_frame()
            if op in (OP_CLOSE, OP_PONG):
                return op, payload


@pytest.mark.parametrize("case", sorted(PROTOCOL_ERRORS))
async def test_framing_errors_close_1002(backend: ws.Backend, case: str) -> None:
    async with running(make_app(), backend) as srv:
        bystander = await open_raw(srv.url, backend)
        raw = await RawSocketWs.open(srv.port)
        await raw.initialize()
        for frame in PROTOCOL_ERRORS[case]():
            raw.writer.write(frame)
        op, payload = await next_close_or_pong(raw)
        assert op == OP_CLOSE and close_code(payload) == CloseCode.PROTOCOL_ERROR
        assert CloseCode.PROTOCOL_ERROR in EXPLANATIONS
        raw.close()
        await bystander.ping_ok()
        await bystander.close()


async def test_control_frames(backend: ws.Backend) -> None:
    async with running(make_app(), backend) as srv:
        raw = await RawSocketWs.open(srv.port)
        await raw.initialize()
        raw.send_frame(OP_PING, b"hello")
        assert await next_close_or_pong(raw) == (OP_PONG, b"hello")
        # a ping between the fragments of a message is answered, and the message still arrives whole
        raw.writer.write(encode_frame(OP_TEXT, PING[:7], fin=False))
        raw.writer.write(encode_frame(OP_PING, b"mid"))
        raw.writer.write(encode_frame(OP_CONT, PING[7:]))
        assert await next_close_or_pong(raw) == (OP_PONG, b"mid")
        op, payload = await raw.recv_frame()
        assert op == OP_TEXT and orjson.loads(payload) == {"jsonrpc": "2.0", "id": "x", "result": {}}
        # a client close is echoed with the same code, and the server forgets the connection
        raw.send_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"bye")
        op, payload = await next_close_or_pong(raw)
        assert op == OP_CLOSE and close_code(payload) == CloseCode.NORMAL_CLOSURE
        with pytest.raises(asyncio.IncompleteReadError):  # then the server ends the TCP connection (§7.1.1)
            await asyncio.wait_for(raw.reader.readexactly(1), TIMEOUT_S)
        raw.close()
        async with asyncio.timeout(TIMEOUT_S):
            while srv.connections:  # noqa: ASYNC110 - server-side state without an event
                await asyncio.sleep(0.005)


async def test_abrupt_disconnect_releases_the_connection(backend: ws.Backend) -> None:
    async with running(make_app(), backend) as srv:
        raw = await RawSocketWs.open(srv.port)
        await raw.initialize()
        raw.writer.write(encode_frame(OP_TEXT, PING[:10], fin=False))  # half a message, then a TCP reset
        raw.close()
        async with asyncio.timeout(TIMEOUT_S):
            while srv.connections:  # noqa: ASYNC110 - server-side state without an event
                await asyncio.sleep(0.005)
        other = await open_raw(srv.url, backend)
        await other.ping_ok()
        await other.close()
