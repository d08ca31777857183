"""A bounded event queue that never loses events silently (exchange-neutral, asyncio).

Producers (the stream drain tasks) must never block on a slow consumer: when the queue is full the OLDEST event is
dropped and counted, and the consumer receives a ``StreamStatus("overflow", ...)`` notice before the next event.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from tradingmcp.server.exchanges.models import StreamStatus

T = TypeVar("T")


class EventQueue(Generic[T]):
    """Bounded FIFO with drop-oldest overflow and an in-band overflow notice.

    Args:
        maxsize: events held before the oldest are dropped.
        name: what the queue carries (``market``, ``user``), used in the overflow notice.
    """

    def __init__(self, maxsize: int = 10_000, name: str = "events") -> None:
        self.maxsize = maxsize
        self.name = name
        self.dropped_total = 0
        """Events dropped since creation."""
        self._items: deque[T | StreamStatus] = deque()
        self._dropped_pending = 0
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T | StreamStatus) -> None:
        """Append without blocking; drops the oldest event when full."""
        if self._closed:
            return
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self._dropped_pending += 1
            self.dropped_total += 1
        self._items.append(item)
        self._ready.set()

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
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[T | StreamStatus]:
        while True:
            try:
                yield await self.get()
            except EOFError:
                return
