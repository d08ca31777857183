"""Request deadlines on one event-loop timer (the client's hot path cannot afford a timer per request).

Two schemes, both firing no earlier than the deadline (minus the timer clock's 1 ms resolution):

* :class:`SendSweep` for requests with the client's default timeout (nearly all of them): no per-request entry at all.
* :class:`DeadlineQueue` for requests with their own timeout: one deque entry per request.

DeadlineQueue
-------------

``asyncio.timeout`` arms and cancels a loop timer per request (a libuv timer start, stop and close on uvloop), the
largest single cost of a ``tools/call`` round trip when measured (``benchmarks/README.md``). Here a request costs one
deque append:

* requests with the same timeout have deadlines in send order, so each timeout value keeps a FIFO of
  ``(deadline, future, request_id, label)``;
* one timer is armed for the earliest deadline at the head of any FIFO; when it fires, every expired entry whose
  future is still pending is handed to ``expire`` and the timer is re-armed for the next head;
* answered entries are dropped lazily: from the head on every :meth:`DeadlineQueue.add`, and by an amortized
  compaction when a FIFO grows past twice its live size (one stuck request cannot pin millions of answered ones).

A deadline fires no earlier than ``deadline - 1 ms`` (the timer clock's resolution) and, on an idle loop, within a
millisecond after it.

SendSweep
---------
Requests that share one timeout expire in send order, and the client's pending map is in send (= request id) order. So
instead of an entry per request the sweep keeps a *mark* per slice of ``grain_s`` loop time in which requests were sent:
``(slice start, first request id of the slice)``. Every request of slice k was sent before ``start_k + grain_s``; when
the one timer fires at ``start_k + grain_s + timeout_s`` every still-pending request with an id below the first id of
slice k+1 (all of them, past the last slice) is overdue. Per request the client reads the loop clock and compares it
with :attr:`SendSweep.next_mark_at` (~50 ns; the deque entry cost ~240 ns). A deadline fires up to ``grain_s`` late
(0.1 % of the timeout, at least 1 ms). Slices with nothing pending any more are dropped from the head when the next mark
is made, so a busy client keeps a handful of marks; behind one stuck request at most ``timeout_s / grain_s`` (~1000).
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
GRAIN_S = 0.001
"""Narrowest :class:`SendSweep` slice (s)."""
GRAIN_PER_TIMEOUT = 0.001
"""A :class:`SendSweep` slice is ``max(GRAIN_S, GRAIN_PER_TIMEOUT * timeout_s)`` wide: a deadline fires at most 0.1 %
of the timeout (1 ms for timeouts up to 1 s, 10 ms for 10 s) late, and a client holds at most ~1000 marks."""

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


ExpireBelow = Callable[[int | None], None]
"""``expire_below(limit)``: every pending default-timeout request with an id below ``limit`` (all if None) is overdue."""


class SendSweep:
    """Deadlines of the requests of one client that use its default timeout, with no per-request entry.

    The client calls :meth:`mark` when ``loop.time() >= next_mark_at`` right after sending a default-timeout request
    (inlined on its hot path; see the module docstring).

    Args:
        timeout_s: the shared timeout (``math.inf``: the sweep never marks nor fires).
        expire_below: settles the overdue requests (see :data:`ExpireBelow`); it must not send requests itself.
        grain_s: slice width (how late a deadline may fire); default ``max(GRAIN_S, GRAIN_PER_TIMEOUT * timeout_s)``.
    """

    __slots__ = ("_expire_below", "_handle", "_marks", "_span_s", "grain_s", "next_mark_at", "timeout_s")

    def __init__(self, timeout_s: float, expire_below: ExpireBelow, grain_s: float | None = None) -> None:
        if grain_s is None:
            grain_s = max(GRAIN_S, GRAIN_PER_TIMEOUT * timeout_s) if timeout_s != math.inf else GRAIN_S
        self.timeout_s = timeout_s
        self.grain_s = grain_s
        self.next_mark_at = math.inf if timeout_s == math.inf else -math.inf
        """Loop time from which the next default-timeout request starts a new slice."""
        self._span_s = grain_s + timeout_s
        self._expire_below = expire_below
        self._marks: deque[tuple[float, int]] = deque()
        self._handle: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        """Marks held (slices that may still have a request pending)."""
        return len(self._marks)

    def mark(self, loop: asyncio.AbstractEventLoop, now: float, request_id: int, oldest_pending: int) -> None:
        """Start a slice at loop time ``now`` with ``request_id`` (just sent); drop slices with nothing pending.

        Args:
            loop: the client's event loop. now: ``loop.time()`` read for this request.
            request_id: the id of the request just sent (ids increase by send order).
            oldest_pending: the smallest id of any default-timeout request still pending (``request_id`` included).
        """
        self.next_mark_at = now + self.grain_s
        marks = self._marks
        marks.append((now, request_id))
        while len(marks) > 1 and marks[1][1] <= oldest_pending:
            marks.popleft()  # every request of the head slice was answered (or failed)
        if self._handle is None:
            self._handle = loop.call_at(marks[0][0] + self._span_s, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = None
        now = loop.time() + SLACK_S
        marks = self._marks
        span = self._span_s
        overdue = False
        while marks and marks[0][0] + span <= now:
            marks.popleft()
            overdue = True
        if overdue:
            self._expire_below(marks[0][1] if marks else None)
        if marks:
            self._handle = loop.call_at(marks[0][0] + span, self._fire, loop)

    def close(self) -> None:
        """Disarm the timer and forget every mark (the client is closing)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._marks.clear()
        if self.timeout_s != math.inf:
            self.next_mark_at = -math.inf
