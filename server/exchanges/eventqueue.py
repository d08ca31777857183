"""A bounded event queue that never loses events silently (exchange-neutral, asyncio).

Producers (the stream frame callbacks) must never block on a slow consumer: when the queue is full the OLDEST event is
dropped and counted, and the consumer receives a ``StreamStatus("overflow", ...)`` notice before the next event.

Two ways to consume, one at a time:

* pull: ``async for event in queue`` (or :meth:`EventQueue.get`): a task wakes per batch of events;
* push: :meth:`EventQueue.listen` with a synchronous callback, called inside :meth:`EventQueue.put`, so an event is
  handled in the producer's frame callback with no task hop (the market bridge uses this: the tick-to-trade path).

:class:`Consumer` picks the push form when an adapter's stream offers it and falls back to a pump task otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from tradingmcp.server.exchanges.models import StreamStatus

T = TypeVar("T")
log = logging.getLogger(__name__)

Listener = Callable[[T | StreamStatus], None]
"""A synchronous event callback; it must not block (it runs inside the producer's frame callback)."""


class EventQueue(Generic[T]):
    """Bounded FIFO with drop-oldest overflow and an in-band overflow notice, or a synchronous listener.

    Args:
        maxsize: events held before the oldest are dropped.
        name: what the queue carries (``market``, ``user``), used in the overflow notice.
    """

    def __init__(self, maxsize: int = 10_000, name: str = "events") -> None:
        self.maxsize = maxsize
        self.name = name
        self.dropped_total = 0
        """Events dropped since creation."""
        self.listener_errors = 0
        """Exceptions raised by the listener (logged and swallowed: the producer must survive them)."""
        self._items: deque[T | StreamStatus] = deque()
        self._dropped_pending = 0
        self._ready = asyncio.Event()
        self._closed = False
        self._listener: Listener[T] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T | StreamStatus) -> None:
        """Hand ``item`` to the listener, or append it without blocking (dropping the oldest event when full)."""
        if self._closed:
            return
        listener = self._listener
        if listener is not None:
            try:
                listener(item)
            except Exception:
                self.listener_errors += 1
                log.exception("%s event listener failed on %s", self.name, type(item).__name__)
            return
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self._dropped_pending += 1
            self.dropped_total += 1
        self._items.append(item)
        self._ready.set()

    def listen(self, listener: Listener[T] | None) -> None:
        """Deliver every event to ``listener`` synchronously from now on (None: back to queueing).

        Events already queued (and a pending overflow notice) are handed to it first, in order. While a listener is
        set nothing is queued, so pull consumers wait.
        """
        self._listener = listener
        if listener is None:
            return
        if self._dropped_pending:
            count, self._dropped_pending = self._dropped_pending, 0
            listener(StreamStatus("overflow", f"{count} {self.name} events dropped: the consumer was too slow"))
        while self._items:
            listener(self._items.popleft())

    async def get(self) -> T | StreamStatus:
        """Next event (or an overflow notice first if events were dropped).

        Raises:
            EOFError: the queue was closed and is empty.
        """
        while not self._items:
            if self._closed:
                raise EOFError(f"{self.name} queue closed")
            self._ready.clear()
            await self._ready.wait()
        if self._dropped_pending:
            count, self._dropped_pending = self._dropped_pending, 0
            return StreamStatus("overflow", f"{count} {self.name} events dropped: the consumer was too slow")
        return self._items.popleft()

    def close(self) -> None:
        """Wake waiting consumers; ``get`` raises EOFError once drained."""
        self._closed = True
        self._listener = None
        self._ready.set()

    def __aiter__(self) -> EventStream[T]:
        return EventStream(self)


class EventStream(Generic[T]):
    """``async for`` over an :class:`EventQueue` (ends when it is closed and drained); :meth:`listen` switches to
    push delivery. What ``ExchangeAdapter.market_events()`` returns for both adapters (``aiter(queue)``)."""

    def __init__(self, queue: EventQueue[T]) -> None:
        self.queue = queue

    def __aiter__(self) -> EventStream[T]:
        return self

    async def __anext__(self) -> T | StreamStatus:
        try:
            return await self.queue.get()
        except EOFError:
            raise StopAsyncIteration from None

    def listen(self, listener: Listener[T] | None) -> None:
        """See :meth:`EventQueue.listen`."""
        self.queue.listen(listener)


class Consumer:
    """Hands every event of an adapter's stream (``market_events()``, ``user_events()``) to ``callback``: pushed
    synchronously through :meth:`EventStream.listen` when the stream offers it (no task hop), else from a pump task
    reading it. Create it on the running loop; :meth:`close` stops it (idempotent).
    """

    def __init__(self, events: AsyncIterator[Any], callback: Callable[[Any], None]) -> None:
        self._listening: EventStream[Any] | None = None
        self._pump: asyncio.Task[None] | None = None
        if isinstance(events, EventStream):
            self._listening = events
            events.listen(callback)
        else:
            self._pump = asyncio.get_running_loop().create_task(self._run(events, callback))

    @staticmethod
    async def _run(events: AsyncIterator[Any], callback: Callable[[Any], None]) -> None:
        async for ev in events:
            callback(ev)

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.listen(None)
            self._listening = None
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
