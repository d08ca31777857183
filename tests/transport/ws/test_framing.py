"""WebSocket framing errors (RFC 6455) from a hand-rolled client, both backends: each closes with 1002 PROTOCOL_ERROR
(reserved bits without an extension included); control frames behave (pong echoes the ping, pings may sit between
fragments, a close is echoed); a frame over the size limit gets its 1009 close frame through while the client is still
sending it; an upgrade of another WebSocket version gets HTTP 426."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Callable

import orjson
import pytest

from tests.wire_helpers import (
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    RSV2,
    RSV3,
    TIMEOUT_S,
    Probe,
    RawSocketWs,
    close_code,
    encode_frame,
    http_upgrade,
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
    # RFC 6455 §5.2: a reserved bit set without a negotiated extension (none ever is here) fails the connection
    "RSV1 on a text frame": lambda: [encode_frame(OP_TEXT, PING, rsv=RSV1)],
    "RSV2 on a text frame": lambda: [encode_frame(OP_TEXT, PING, rsv=RSV2)],
    "RSV3 on a text frame": lambda: [encode_frame(OP_TEXT, PING, rsv=RSV3)],
    "RSV3 on a continuation": lambda: [
        encode_frame(OP_TEXT, PING[:5], fin=False),
        encode_frame(OP_CONT, PING[5:], rsv=RSV3),
    ],
    "RSV1 on a ping": lambda: [encode_frame(OP_PING, b"x", rsv=RSV1)],
    "RSV1 on a close": lambda: [encode_frame(OP_CLOSE, (1000).to_bytes(2, "big"), rsv=RSV1)],
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


async def test_reserved_bits_frame_is_not_served(backend: ws.Backend) -> None:
    """The request in a frame with RSV1 set is never handled: the connection fails with 1002 before it."""
    probe = Probe()
    async with running(make_app(probe), backend) as srv:
        raw = await RawSocketWs.open(srv.port)
        await raw.initialize()
        call = b'{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"echo","arguments":{"x":1}}}'
        raw.writer.write(encode_frame(OP_TEXT, call, rsv=RSV1))
        async with asyncio.timeout(TIMEOUT_S):
            op, payload = await raw.recv_frame()  # the first frame back is the close, not an answer
        assert op == OP_CLOSE and close_code(payload) == CloseCode.PROTOCOL_ERROR
        assert probe.calls == {}
        raw.close()


@pytest.mark.parametrize("version", ["8", "12", "14", ""])
async def test_other_websocket_versions_get_426(backend: ws.Backend, version: str) -> None:
    """RFC 6455 §4.2.2: an upgrade of a version the server does not speak gets 426 and the version it does speak."""
    async with running(make_app(), backend) as srv:
        status, got = await http_upgrade(srv.port, headers={"Sec-WebSocket-Version": version})
        assert status == 426, (status, got)
        assert got.get("sec-websocket-version") == "13"
        status, got = await http_upgrade(srv.port)  # version 13 is still upgraded
        assert status == 101 and got.get("sec-websocket-protocol") == "mcp"
        client = await open_raw(srv.url, backend)
        await client.ping_ok()
        await client.close()


FRAME_BYTES = 64 << 20
"""The size a frame header claims in the oversize test (64 MiB; the limit is 1 MiB)."""
STALL_S = 0.5
"""How long a write may make no progress before the test takes it that the server stopped reading (s)."""


@pytest.mark.parametrize("bound", [{}, {"discard_max_bytes": 4 << 20}], ids=["default-bound", "4MiB-bound"])
async def test_oversize_frame_gets_1009_not_a_reset(backend: ws.Backend, bound: dict[str, int]) -> None:
    """A client streaming a 64 MiB frame (over the 1 MiB limit) reads the server's 1009 close frame once it stops
    sending (having sent it all, or because the server stopped reading): the server reads and discards what follows
    its close frame, within ``discard_max_bytes`` and ``ping_timeout_s``, instead of resetting the connection."""
    wire = ws.WireOptions(ping_timeout_s=TIMEOUT_S, **bound)
    async with running(make_app(), backend, wire=wire) as srv:
        bystander = await open_raw(srv.url, backend)
        raw = await RawSocketWs.open(srv.port)
        await raw.initialize()
        raw.writer.write(bytes([0x80 | OP_TEXT, 0x80 | 127]) + struct.pack("!Q", FRAME_BYTES) + os.urandom(4))
        chunk, sent = bytes(256 << 10), 0
        async with asyncio.timeout(TIMEOUT_S * 4):
            while sent < FRAME_BYTES:  # a reset shows here as ConnectionResetError
                raw.writer.write(chunk)
                sent += len(chunk)
                try:
                    await asyncio.wait_for(raw.writer.drain(), STALL_S)
                except TimeoutError:
                    break  # the server stopped reading (its bound): its close frame must still be readable
            op, payload = await next_close_or_pong(raw)
        assert op == OP_CLOSE and close_code(payload) == CloseCode.MESSAGE_TOO_BIG
        raw.close()
        await bystander.ping_ok()
        await bystander.close()
