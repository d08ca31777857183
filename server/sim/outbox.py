"""Outgoing frames of one simulator websocket: written at once when nothing waits, queued (bounded) only under backpressure.

The fast path writes a frame to the transport inside the caller's own call (no task hop): when no earlier frame is
queued, no write is in flight and the transport is not paused (its write buffer is at or under its high-water mark).
Otherwise the frame waits in a FIFO that one writer task drains, so frame order never changes.

Limit (``limit_frames``): the frames handed over during the current event-loop turn plus the frames queued. This is
the bound the former queue-plus-writer-task design enforced. A writer task could only run between loop turns, so a
synchronous burst of more than ``limit_frames`` frames (a fast replay step) overflowed, and so did a queue that grew
while the transport was paused. When :meth:`FrameOutbox.put` answers False, the caller drops the connection as a slow
consumer.

A direct write drives aiohttp's ``send_frame`` coroutine by hand. It finishes without suspending for uncompressed
frames and for small compressed ones. When it does suspend (aiohttp's flow-control drain, the compressor lock, a large
frame compressed in an executor), the started coroutine is handed to the writer task, and later frames queue behind
it.
"""

from __future__ import annotations

import asyncio
import types
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, Protocol, runtime_checkable

from aiohttp import WSMsgType, web

__all__ = ["FrameOutbox"]


@runtime_checkable
class _WriteBuffered(Protocol):
    """What the fast path reads of a transport (asyncio's and uvloop's; uvloop's do not subclass asyncio's)."""

    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...
    def get_write_buffer_limits(self) -> tuple[int, int]: ...


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], yielded: Any) -> Generator[Any, Any, None]:
    """Carry on a coroutine that was started by hand and suspended with ``yielded`` (as a Task would)."""
    while True:
        try:
            sent = yield yielded
        except BaseException as exc:  # cancellation and the like go into the suspended coroutine
            try:
                yielded = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration:
                return


class FrameOutbox:
    """Text frames to one websocket, in order, with the fast path and bound described in the module docstring.

    Frames put before :meth:`start` (the handshake still under way) wait in the queue.

    Args:
        ws: the aiohttp websocket.
        limit_frames: frames handed over in one loop turn plus frames queued before :meth:`put` refuses.

    Attributes:
        failed: a write failed (connection gone); later frames are discarded.
    """

    def __init__(self, ws: web.WebSocketResponse, limit_frames: int) -> None:
        self.ws = ws
        self.limit_frames = limit_frames
        self.failed = False
        self._started = False
        self._transport: _WriteBuffered | None = None
        self._queue: deque[bytes] = deque()
        self._turn_frames = 0  # written directly during the current loop turn
        self._writer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f"FrameOutbox(queued={len(self._queue)}, this_turn={self._turn_frames}, writing={self._writer is not None})"
        )

    @property
    def queued(self) -> int:
        """Frames waiting for the writer task (backpressure, or the handshake still under way)."""
        return len(self._queue)

    @property
    def pending(self) -> int:
        """Frames counted against the limit: written during this loop turn plus queued."""
        return self._turn_frames + len(self._queue)

    def start(self, transport: object | None) -> None:
        """The websocket is prepared: write from now on (frames queued so far go first).

        Args:
            transport: the connection's transport (``request.transport``), read for its write-buffer state; None
                sends every frame through the writer task.
        """
        self._started = True
        self._transport = transport if isinstance(transport, _WriteBuffered) else None
        if self._queue and self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain(None))

    def put(self, frame: bytes) -> bool:
        """Write ``frame`` now or queue it behind earlier frames.

        Returns:
            False when the outbox is over its limit (the frame is not taken; drop the connection).
        """
        if self.failed:
            return True
        if self._turn_frames + len(self._queue) >= self.limit_frames:
            return False
        if self._writer is None and not self._queue and self._started and self._writable():
            if self._turn_frames == 0:
                asyncio.get_running_loop().call_soon(self._new_turn)
            self._turn_frames += 1
            self._send_now(frame)
            return True
        self._queue.append(frame)
        if self._writer is None and self._started:
            self._writer = asyncio.get_running_loop().create_task(self._drain(None))
        return True

    async def aclose(self) -> None:
        """Stop the writer task (queued frames are discarded)."""
        writer = self._writer
        self._queue.clear()
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    def _new_turn(self) -> None:
        self._turn_frames = 0

    def _writable(self) -> bool:
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        return transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]

    def _send_now(self, frame: bytes) -> None:
        coro = self.ws.send_frame(frame, WSMsgType.TEXT)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
        except (ConnectionError, RuntimeError):
            self._fail()
            return
        self._writer = asyncio.get_running_loop().create_task(self._drain(_resume(coro, yielded)))

    async def _drain(self, first: Awaitable[None] | None) -> None:
        try:
            if first is not None:
                await first
            while self._queue:
                await self.ws.send_frame(self._queue.popleft(), WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            self._fail()
        finally:
            self._writer = None

    def _fail(self) -> None:
        self.failed = True
        self._queue.clear()
