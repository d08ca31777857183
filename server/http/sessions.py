"""2025-11-25 Streamable HTTP sessions: ``initialize`` mints an ``Mcp-Session-Id``; the session's own messages (what
belongs to no request: resource updates, stream pushes) go to its ``GET`` stream with SSE event ids, kept in a bounded
replay buffer for ``Last-Event-ID`` resumption (https://modelcontextprotocol.io/specification/2025-11-25/basic/
transports#session-management, #resumability-and-redelivery).

Event ids are ``<tag>-<n>``: ``tag`` is random per session (never the session id), ``n`` counts the session's events.
A ``Last-Event-ID`` whose tag is another session's is refused; one older than the buffer replays what the buffer still
holds.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator

from tradingmcp.server.http.sse import SseOut, sse_event
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.runner import TaskRunner
from tradingmcp.transport.auth import Principal


class EventLog:
    """A session's own :class:`~tradingmcp.server.mcp.protocol.Sink`: numbers each message, keeps the last
    ``max_events`` (at most ``max_bytes``) for replay, and forwards it to the live GET stream when one is open."""

    __slots__ = ("closed", "events", "held_bytes", "live", "max_bytes", "max_events", "n", "on_close", "tag")

    def __init__(self, max_events: int, max_bytes: int, on_close: Callable[[], None]) -> None:
        self.tag = secrets.token_hex(6)
        self.n = 0
        self.events: deque[tuple[int, bytes]] = deque()
        self.held_bytes = 0
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.live: SseOut | None = None
        self.on_close = on_close
        self.closed = False

    def send(self, data: bytes) -> None:
        self.n += 1
        frame = sse_event(data, f"{self.tag}-{self.n}")
        events = self.events
        events.append((self.n, frame))
        self.held_bytes += len(frame)
        while events and (len(events) > self.max_events or self.held_bytes > self.max_bytes):
            self.held_bytes -= len(events.popleft()[1])
        live = self.live
        if live is not None:
            live.push(frame)
            if live.done:  # overflowed: that stream is gone, the buffer still holds the events for a resumption
                self.live = None

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        self.on_close()

    def after(self, last_event_id: str | None) -> Iterator[bytes] | None:
        """The held events after ``last_event_id`` (all held events for None); None when the id is not this
        session's (another session's tag, or not an event id at all)."""
        start = 0
        if last_event_id is not None:
            tag, sep, num = last_event_id.strip().rpartition("-")
            if not sep or tag != self.tag or not num.isascii() or not num.isdigit() or len(num) > 18:
                return None
            start = int(num)
        return (frame for n, frame in list(self.events) if n > start)


class HttpSession:
    """One 2025-11-25 session: the engine session, its task runner, its event log, who opened it and when it was
    last used."""

    __slots__ = ("engine", "id", "log", "principal", "runner", "used_at")

    def __init__(self, engine_factory: Callable[[EventLog, TaskRunner], ServerSession], log: EventLog) -> None:
        self.id = secrets.token_urlsafe(24)
        self.log = log
        self.runner = TaskRunner()
        self.engine = engine_factory(log, self.runner)
        self.principal: Principal = self.engine.principal
        self.used_at = time.monotonic()

    def touch(self) -> None:
        self.used_at = time.monotonic()

    def end(self) -> None:
        """Close the session: cancel its calls, release its subscriptions, end its GET stream."""
        live = self.log.live
        self.log.live = None
        if live is not None:
            live.finish()
        self.engine.on_closed()


class SessionTable:
    """Live sessions by id; ``sweep`` ends those idle longer than ``idle_s`` with no GET stream open."""

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self.by_id: dict[str, HttpSession] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, session: HttpSession) -> None:
        self.by_id[session.id] = session

    def get(self, session_id: str | None) -> HttpSession | None:
        if not session_id:
            return None
        return self.by_id.get(session_id)

    def end(self, session_id: str) -> bool:
        session = self.by_id.pop(session_id, None)
        if session is None:
            return False
        session.end()
        return True

    def sweep(self) -> int:
        """End idle sessions; returns how many."""
        cutoff = time.monotonic() - self.idle_s
        stale = [s.id for s in self.by_id.values() if s.used_at < cutoff and s.log.live is None]
        for sid in stale:
            self.end(sid)
        return len(stale)

    def end_all(self) -> None:
        for sid in list(self.by_id):
            self.end(sid)
