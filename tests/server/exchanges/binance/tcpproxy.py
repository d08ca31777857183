"""A loopback TCP proxy for fault drills on a real connection: forwards bytes both ways and, when armed, cuts the
connection or swallows the server's next bytes (a reply that never arrives)."""

from __future__ import annotations

import asyncio
import contextlib
from enum import Enum


class Fault(Enum):
    NONE = "none"
    CUT_ON_REPLY = "cut"  # the server's next bytes are dropped and both sides are reset
    SWALLOW_REPLIES = "swallow"  # the server's bytes are dropped, the connection stays up


class TcpProxy:
    """``127.0.0.1:<port>`` → ``target_host:target_port``.

    Attributes:
        fault: what happens to the server's next bytes (set it between requests).
        refuse: reset new connections at once (the exchange is unreachable).
        connections: client connections accepted so far.
    """

    @property
    def url(self) -> str:
        """The WS API URL through the proxy."""
        return f"ws://127.0.0.1:{self.port}/ws-api/v3"

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.fault = Fault.NONE
        self.refuse = False
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def reset_all(self) -> None:
        """Drop every open connection at once (TCP reset, no close frame)."""
        for writer in list(self._writers):
            _abort(writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            _abort(writer)
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(writer)
            return
        self._writers |= {writer, up_writer}
        pair = [
            asyncio.create_task(self._pipe(reader, up_writer, upstream=True)),
            asyncio.create_task(self._pipe(up_reader, writer, upstream=False)),
        ]
        self._tasks.update(pair)
        try:
            await asyncio.wait(pair, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pair:
                task.cancel()
                self._tasks.discard(task)
            _abort(writer)
            _abort(up_writer)
            self._writers -= {writer, up_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if not upstream and self.fault is Fault.SWALLOW_REPLIES:
                    continue
                if not upstream and self.fault is Fault.CUT_ON_REPLY:
                    self.fault = Fault.NONE
                    self.reset_all()
                    return
                writer.write(data)
                await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
