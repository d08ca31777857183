"""Server-Sent Events out of the engine: :class:`SseOut` (one ``text/event-stream`` response with a bounded queue) and
:class:`Reply` (the route of one POSTed message: its answer, and the notifications that belong to it).

SSE framing follows the HTML Living Standard "Server-sent events" (``event:``, ``id:``, ``data:`` lines, a blank line
per event); MCP Streamable HTTP sends each JSON-RPC message as one ``event: message``
(https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Hashable

from aiohttp import web

_NOTIFICATION = b'{"jsonrpc":"2.0","method":'
"""How every notification the engine writes starts (``jsonrpc.encode_notification``, stream pushes), and every request
of its own (``ServerSession.request``): anything else it sends on a request's route is that request's answer."""

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def sse_event(data: bytes, event_id: str | None = None) -> bytes:
    """One ``event: message`` carrying ``data`` (one JSON text: it holds no newline), with an ``id:`` when given."""
    if event_id is None:
        return b"event: message\ndata: " + data + b"\n\n"
    return b"id: " + event_id.encode() + b"\nevent: message\ndata: " + data + b"\n\n"


def is_notification(data: bytes) -> bool:
    """True for a notification (or a request of the server's own) the engine wrote, False for a response or error."""
    return data.startswith(_NOTIFICATION)


class SseOut:
    """One open SSE response: events are queued without blocking and written by :meth:`run` in order.

    The queue holds at most ``limit_bytes`` of events not yet handed to the socket; a client that stops reading makes
    it grow (its socket buffer is full), and the next event past the limit aborts that client's connection
    (``overflowed`` True) instead of holding memory for it. Nobody else waits on it.
    """

    __slots__ = ("done", "keepalive_s", "limit_bytes", "overflowed", "queue", "queued", "request", "response", "wake")

    def __init__(
        self, request: web.Request, response: web.StreamResponse, limit_bytes: int, keepalive_s: float = 15.0
    ) -> None:
        self.request = request
        self.response = response
        self.limit_bytes = limit_bytes
        self.queue: deque[bytes] = deque()
        self.queued = 0
        self.wake = asyncio.Event()
        self.done = False
        self.overflowed = False
        self.keepalive_s = keepalive_s

    def push(self, frame: bytes) -> None:
        """Queue one SSE event (already framed); past the limit the connection is aborted."""
        if self.done:
            return
        if self.queued + len(frame) > self.limit_bytes:
            self.overflowed = True
            self.done = True
            self.queue.clear()
            transport = self.request.transport
            if transport is not None:
                transport.abort()  # a writer blocked on this client's full socket ends with ConnectionResetError
            self.wake.set()
            return
        self.queue.append(frame)
        self.queued += len(frame)
        self.wake.set()

    def finish(self) -> None:
        """End the response once what is queued is written."""
        self.done = True
        self.wake.set()

    async def run(self) -> None:
        """Write queued events until :meth:`finish` (or an overflow, or the client leaving: ConnectionResetError).

        A stream quiet for ``keepalive_s`` gets an SSE comment line, so proxies keep it open and a client that is
        gone is noticed."""
        queue = self.queue
        while True:
            try:
                async with asyncio.timeout(self.keepalive_s):
                    await self.wake.wait()
            except TimeoutError:
                self.push(b": keepalive\n\n")
            self.wake.clear()
            while queue and not self.overflowed:
                chunk = b"".join(queue)
                queue.clear()
                await self.response.write(chunk)
                self.queued -= len(chunk)
            if self.overflowed:
                raise ConnectionResetError("SSE client stopped reading: outbound limit exceeded")
            if self.done:
                with contextlib.suppress(ConnectionError):
                    await self.response.write_eof()
                return


class Reply:
    """The :class:`~tradingmcp.server.mcp.protocol.Sink` of one POSTed message.

    Until the handler decides how to answer, notifications are kept (``notes``) and the answer is ``final``; once an
    SSE response is open (:meth:`stream_to`), each goes out as an event at once and the answer ends the stream. A
    ``close`` from the engine (a body that is not UTF-8) is kept as ``closed``.
    """

    __slots__ = ("changed", "closed", "final", "notes", "out")

    def __init__(self) -> None:
        self.final: bytes | None = None
        self.notes: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        self.out: SseOut | None = None
        self.changed = asyncio.Event()
        """Set by the first message (or close) on this route."""

    def send(self, data: bytes) -> None:
        out = self.out
        if is_notification(data):
            if out is not None:
                out.push(sse_event(data))
            else:
                self.notes.append(data)
                self.changed.set()
            return
        if self.final is not None:  # one answer per request; anything later is not ours to send
            return
        self.final = data
        if out is not None:
            out.push(sse_event(data))
            out.finish()
        self.changed.set()

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.changed.set()
        if self.out is not None:
            self.out.finish()

    def stream_to(self, out: SseOut) -> None:
        """Send everything from now on through ``out``: first the notifications kept so far (and the answer, if any)."""
        self.out = out
        for note in self.notes:
            out.push(sse_event(note))
        self.notes.clear()
        if self.final is not None:
            out.push(sse_event(self.final))
            out.finish()
        elif self.closed is not None:
            out.finish()
