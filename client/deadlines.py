"""Request deadlines on one event-loop timer (the client's hot path cannot afford a timer per request).

``asyncio.timeout`` arms and cancels a loop timer per request: ~5-12 µs per call on uvloop (a libuv timer start, stop
and close), which was the largest single cost of a ``tools/call`` round trip. Here a request costs one deque append:

* requests with the same timeout have deadlines in send order, so each timeout value keeps a FIFO of
  ``(deadline, future, request_id, label)``;
* one timer is armed for the earliest deadline at the head of any FIFO; when it fires, every expired entry whose
  future is still pending is handed to ``expire`` and the timer is re-armed for the next head;
* answered entries are dropped lazily: from the head on every :meth:`DeadlineQueue.add`, and by an amortized
  compaction when a FIFO grows past twice its live size (one stuck request cannot pin millions of answered ones).

A deadline fires no earlier than ``deadline - 1 ms`` (the timer clock's resolution) and, on an idle loop, within a
millisecond after it.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from typing import Any

SLACK_S = 0.001
"""Timers may fire up to one clock tick (1 ms on libuv) before their deadline: such entries count as expired."""
_COMPACT_MIN = 1024

_Entry = tuple[float, "asyncio.Future[Any]", Any, str]
Expire = Callable[["asyncio.Future[Any]", Any, str], None]
"""``expire(future, request_id, label)``: the request's deadline passed and ``future`` is still pending."""


class DeadlineQueue:
    """Deadlines of in-flight requests of one client on one event loop.

    Args:
        expire: called once per request whose deadline passed while its future was still pending; it must settle the
            future (e.g. ``set_exception(RequestTimeout(...))``) and may send a cancellation.
    """

    __slots__ = ("_compact_at", "_expire", "_fifos", "_handle", "_when")

    def __init__(self, expire: Expire) -> None:
        self._expire = expire
        self._fifos: dict[float, deque[_Entry]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._when = math.inf
        self._compact_at = _COMPACT_MIN

    def __len__(self) -> int:
        """Entries held (pending requests plus answered ones not yet dropped)."""
        return sum(len(f) for f in self._fifos.values())

    def add(
        self, loop: asyncio.AbstractEventLoop, timeout_s: float, fut: asyncio.Future[Any], request_id: Any, label: str
    ) -> None:
        """Expire ``fut`` after ``timeout_s`` seconds (loop clock) unless it is done by then; ``inf`` never expires."""
        if timeout_s == math.inf:
            return
        deadline = loop.time() + timeout_s
        fifo = self._fifos.get(timeout_s)
        if fifo is None:
            fifo = self._fifos[timeout_s] = deque()
        else:
            while fifo and fifo[0][1].done():
                fifo.popleft()
            if len(fifo) >= self._compact_at:
                fifo = self._compact(timeout_s, fifo)
        fifo.append((deadline, fut, request_id, label))
        if deadline < self._when:
            self._arm(loop, deadline)

    def _compact(self, timeout_s: float, fifo: deque[_Entry]) -> deque[_Entry]:
        live = deque(e for e in fifo if not e[1].done())
        self._fifos[timeout_s] = live
        self._compact_at = max(_COMPACT_MIN, 2 * len(live))
        return live

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._when = when
        self._handle = loop.call_at(when, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = None
        self._when = math.inf
        now = loop.time() + SLACK_S
        earliest = math.inf
        for timeout_s, fifo in list(self._fifos.items()):
            while fifo:
                deadline, fut, request_id, label = fifo[0]
                if fut.done():
                    fifo.popleft()
                elif deadline <= now:
                    fifo.popleft()
                    self._expire(fut, request_id, label)
                else:
                    break
            if fifo:
                earliest = min(earliest, fifo[0][0])
            else:
                del self._fifos[timeout_s]
        if earliest < self._when:  # an expire callback may already have armed an earlier timer
            self._arm(loop, earliest)

    def close(self) -> None:
        """Disarm the timer and forget every entry (the client is closing)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._when = math.inf
        self._fifos.clear()
