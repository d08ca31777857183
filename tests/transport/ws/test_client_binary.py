"""Binary messages on the client side of our transport, both backends, from a plain ``websockets`` server: a handler
with ``on_binary`` receives whole binary messages (single frames and fragmented ones) beside its text messages, while a
handler without it is closed with 1003 UNSUPPORTED_DATA; a fragmented binary message over the limit closes with 1009.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.wire_helpers import TIMEOUT_S
from tradingmcp.transport import ws
from tradingmcp.transport.closecodes import CloseCode

Script = Callable[[ServerConnection], Awaitable[None]]


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


@asynccontextmanager
async def peer(script: Script) -> AsyncIterator[str]:
    """A ``websockets`` server on 127.0.0.1 that runs ``script`` on each connection, then waits for the close."""

    async def handler(conn: ServerConnection) -> None:
        await script(conn)
        await conn.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"


class TextOnly:
    """A FrameHandler without ``on_binary``."""

    def __init__(self) -> None:
        self.texts: list[bytes] = []
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    def on_open(self, conn: ws.Connection) -> None:
        pass

    def on_text(self, data: ws.TextData) -> None:
        self.texts.append(data.encode() if isinstance(data, str) else bytes(data))

    def on_close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))

    def on_writable(self) -> None:
        pass


class WithBinary(TextOnly):
    """A BinaryFrameHandler: keeps binary messages in arrival order, interleaved with the text ones."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[str, bytes]] = []
        self.arrived = asyncio.Event()

    def on_text(self, data: ws.TextData) -> None:
        super().on_text(data)
        self.order.append(("text", self.texts[-1]))
        self.arrived.set()

    def on_binary(self, data: ws.BinaryData) -> None:
        self.order.append(("binary", bytes(data)))  # a memoryview on picows: copied inside the call
        self.arrived.set()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(TIMEOUT_S):
            while len(self.order) < count:
                self.arrived.clear()
                await self.arrived.wait()


PUSH = bytes(range(256)) * 3  # not UTF-8: only a binary message can carry it


async def test_binary_messages_reach_on_binary_between_text_ones(backend: ws.Backend) -> None:
    async def script(conn: ServerConnection) -> None:
        await conn.send(b'{"code":0,"msg":"PONG"}', text=True)
        await conn.send(PUSH)
        await conn.send([PUSH[:100], PUSH[100:500], PUSH[500:]])  # one binary message in three frames
        await conn.send([b'{"code":0,', b'"msg":"x"}'], text=True)  # a fragmented text message after it

    handler = WithBinary()
    assert isinstance(handler, ws.BinaryFrameHandler) and not isinstance(TextOnly(), ws.BinaryFrameHandler)
    async with peer(script) as url:
        conn = await ws.connect(url, handler, subprotocols=(), backend=backend)
        await handler.until(4)
        assert handler.order == [
            ("text", b'{"code":0,"msg":"PONG"}'),
            ("binary", PUSH),
            ("binary", PUSH),
            ("text", b'{"code":0,"msg":"x"}'),
        ]
        assert not conn.closed
        conn.close()
        async with asyncio.timeout(TIMEOUT_S):
            assert (await handler.closed)[0] == CloseCode.NORMAL_CLOSURE

        text_only = TextOnly()  # the same server, a handler without on_binary: closed at the first binary message
        await ws.connect(url, text_only, subprotocols=(), backend=backend)
        async with asyncio.timeout(TIMEOUT_S):
            code, _ = await text_only.closed
    assert code == CloseCode.UNSUPPORTED_DATA and text_only.texts == [b'{"code":0,"msg":"PONG"}']


async def test_fragmented_binary_message_over_the_limit_closes_1009(backend: ws.Backend) -> None:
    async def script(conn: ServerConnection) -> None:
        await conn.send([PUSH] * 8)  # 6 KiB in 768-byte frames, each under the limit

    handler = WithBinary()
    async with peer(script) as url:
        await ws.connect(url, handler, subprotocols=(), backend=backend, options=ws.WireOptions(max_message_bytes=4096))
        async with asyncio.timeout(TIMEOUT_S):
            code, _ = await handler.closed
    assert code == CloseCode.MESSAGE_TOO_BIG and handler.order == []
