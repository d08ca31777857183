"""The fast path of the plain-HTTP side: a POST to the MCP path that the engine answers at once, answered from the
connection's read callback, without aiohttp's per-request task, request and response objects.

Each connection the shared port hands to the plain-HTTP side (:class:`~tradingmcp.transport.ws.HttpProtocolFactory`)
starts on a :class:`FastConnection`. It reads request heads (:func:`~tradingmcp.server.http.head.parse_post`: only
the simplest ``POST`` shape) and, for one the endpoint takes
(:meth:`~tradingmcp.server.http.mcp.McpEndpoint.at_once`: every check of the endpoint passed, a request of either era
that the engine answers before it returns) and the guard admits (:meth:`~tradingmcp.server.http.guard.Guard.identify`,
:meth:`~tradingmcp.server.http.guard.Guard.charge`: Host, Origin, token, rate limit), writes the answer at once.
At the first request it does not take (any other method, path, era or header shape, a refusal, a held or async
answer), it hands the connection to aiohttp for good, replaying that request's bytes and what follows, as the shared
port's front protocol hands a connection over: aiohttp answers it and every later request exactly as before,
refusals included. Nothing in that request was acted on before the hand-over (the checks change nothing and a
refused rate token is not taken).

A connection quiet for ``idle_timeout_s`` (aiohttp's keep-alive default) is closed after one to two such periods;
while the peer does not read its answers (the transport's write buffer above its high mark) reading pauses.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Collection
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from tradingmcp.server.http.guard import Guard
from tradingmcp.server.http.head import PostHead, parse_post
from tradingmcp.server.http.mcp import McpEndpoint
from tradingmcp.transport import ws
from tradingmcp.transport.auth import Principal

MAX_HEAD_BYTES = 16 * 1024
"""A longer head goes to aiohttp, whose own limits answer it."""
IDLE_TIMEOUT_S = 75.0
"""aiohttp's keep-alive timeout, kept for connections the fast path still holds."""
_HEAD_END = b"\r\n\r\n"


class FastPath:
    """The plain-HTTP side's protocol factory (call it), and what its connections answer with.

    Args:
        endpoint, guard: the MCP endpoint and the port's guard (the same objects the aiohttp application uses).
        paths: the MCP endpoint's paths.
        fallback: aiohttp's protocol factory (``web.Server``), which takes a connection handed over.
        max_body_bytes: a larger ``Content-Length`` goes to aiohttp (413).
    """

    def __init__(
        self,
        endpoint: McpEndpoint,
        guard: Guard,
        paths: Collection[str],
        fallback: ws.HttpProtocolFactory,
        max_body_bytes: int,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.endpoint = endpoint
        self.guard = guard
        self.paths = frozenset(paths)
        self.fallback = fallback
        self.max_body_bytes = max_body_bytes
        self.idle_timeout_s = idle_timeout_s
        self.connections: set[FastConnection] = set()
        """Connections not handed over (yet)."""

    def __call__(self) -> FastConnection:
        return FastConnection(self)

    def answer(self, head: PostHead, body: bytes) -> bytes | None:
        """The response to one request, or None: the request is aiohttp's."""
        if head.path not in self.paths:
            return None
        caller = self.guard.identify(head.headers, head.path)
        if not isinstance(caller, Principal):
            return None
        taken = self.endpoint.at_once(head.headers, body, caller)
        if taken is None or self.guard.charge(caller, head.path):
            return None  # a refused charge took nothing: aiohttp's guard answers 429
        return encode(self.endpoint.answer_at_once(taken, caller))

    def close(self) -> None:
        """Close every connection still on the fast path."""
        for conn in list(self.connections):
            conn.close()


class FastConnection(asyncio.Protocol):
    """One plain-HTTP connection until it is handed to aiohttp (see the module docstring)."""

    __slots__ = ("body_at", "buf", "face", "head", "paused", "reads", "seen", "timer", "transport")

    def __init__(self, face: FastPath) -> None:
        self.face = face
        self.buf = bytearray()
        self.head: PostHead | None = None
        self.body_at = 0
        self.paused = False
        self.reads = 0
        self.seen = 0
        self.transport: Any = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        ws.set_nodelay(transport)
        self.face.connections.add(self)
        self.timer = asyncio.get_running_loop().call_later(self.face.idle_timeout_s, self._idle)

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        self.buf += data
        if not self.paused:
            self._serve()

    def _serve(self) -> None:
        """Answer every complete request in the buffer, in order; hand over at the first that is not ours."""
        buf = self.buf
        face = self.face
        while buf:
            head = self.head
            if head is None:
                end = buf.find(_HEAD_END)
                if end < 0 or end > MAX_HEAD_BYTES:
                    if end >= 0 or len(buf) > MAX_HEAD_BYTES:
                        self._hand_over()
                    return
                head = parse_post(bytes(buf[: end + 4]), face.max_body_bytes)
                if head is None:
                    self._hand_over()
                    return
                self.head = head
                self.body_at = end + 4
            end = self.body_at + head.content_length
            if len(buf) < end:
                return
            answer = face.answer(head, bytes(buf[self.body_at : end]))
            if answer is None:
                self._hand_over()
                return
            self.head = None
            del buf[:end]
            self.transport.write(answer)
            if self.paused:  # the write filled the transport's buffer: the rest waits for resume_writing
                return

    def _hand_over(self) -> None:
        """Give the connection to aiohttp, the current request's bytes (and any after them) first."""
        self._stop_timer()
        self.face.connections.discard(self)
        transport, data = self.transport, bytes(self.buf)
        self.buf = bytearray()
        proto = self.face.fallback()
        transport.set_protocol(proto)
        proto.connection_made(transport)
        proto.data_received(data)

    def pause_writing(self) -> None:
        self.paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        self.transport.resume_reading()
        self._serve()

    def _idle(self) -> None:
        if self.reads != self.seen:
            self.seen = self.reads
            self.timer = asyncio.get_running_loop().call_later(self.face.idle_timeout_s, self._idle)
            return
        self.timer = None
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def eof_received(self) -> bool:
        return False  # the peer is done sending: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.face.connections.discard(self)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


_date_at = 0
_date = b""


def _http_date() -> bytes:
    """The ``Date`` value (RFC 9110 section 6.6.1), formatted once a second."""
    global _date_at, _date
    now = int(time.time())
    if now != _date_at:
        _date_at, _date = now, formatdate(now, usegmt=True).encode("ascii")
    return _date


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode("ascii"))


def encode(response: ws.HttpResponse) -> bytes:
    """The bytes of an HTTP/1.1 response with a ``Content-Length`` body (the connection stays open)."""
    lines = [
        _status_line(response.status),
        b"Content-Type: " + response.content_type.encode("ascii"),
        b"Content-Length: %d" % len(response.body),
        b"Date: " + _http_date(),
    ]
    lines.extend(f"{name}: {value}".encode("ascii") for name, value in response.headers)
    return b"\r\n".join(lines) + b"\r\n\r\n" + response.body
