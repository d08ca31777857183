"""Per-connection outbound queue with backpressure and conflation (sans-I/O).

Writes go straight to the connection while it keeps up. Once the connection's write buffer is above its high watermark
(``writing_paused``), messages wait here:

* responses and control messages are never dropped;
* market-data notifications carry a conflation key (e.g. ``("book", "BTCUSDT")``): while a client is behind, a newer
  message with the same key replaces the queued one (latest wins) and ``conflated`` counts it;
* ``behind_since`` tells the shell how long the client has been behind, ``queued_bytes`` how far; the shell closes a
  client that stays behind past its limit (1008 POLICY_VIOLATION, see :mod:`tradingmcp.transport.closecodes`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Protocol

_Entry = list[object]  # [key | None, bytes]


class WriteFlow(Protocol):
    """The connection's write-buffer state (:class:`~tradingmcp.transport.ws.Connection` is one)."""

    @property
    def writing_paused(self) -> bool:
        """True while the write buffer is above its high watermark."""
        ...


class OutboundQueue:
    """Args:
    write: hands one message (UTF-8 JSON bytes) to the connection.
    flow: the connection's write-buffer state: its ``writing_paused`` attribute is read on every send (a plain
        attribute read, no call: this is on every response's path).
    clock: monotonic seconds (injectable for tests).
    """

    __slots__ = ("_clock", "_flow", "_q", "_slots", "_write", "behind_since", "conflated", "queued_bytes", "sent")

    def __init__(
        self, write: Callable[[bytes], None], flow: WriteFlow, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._write = write
        self._flow = flow
        self._clock = clock
        self._q: deque[_Entry] = deque()
        self._slots: dict[Hashable, _Entry] = {}
        self.queued_bytes = 0
        self.sent = 0
        self.conflated = 0
        self.behind_since: float | None = None

    def __len__(self) -> int:
        return len(self._q)

    def send(self, data: bytes) -> None:
        """A response, error or control notification: delivered in order, never dropped."""
        if not self._q and not self._flow.writing_paused:
            self._write(data)
            self.sent += 1
            return
        self._enqueue([None, data])

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        """A market-data notification: latest wins per ``key`` while the client is behind."""
        if not self._q and not self._flow.writing_paused:
            self._write(data)
            self.sent += 1
            return
        entry = self._slots.get(key)
        if entry is not None:
            old = entry[1]
            assert isinstance(old, bytes)
            self.queued_bytes += len(data) - len(old)
            entry[1] = data
            self.conflated += 1
            return
        entry = [key, data]
        self._slots[key] = entry
        self._enqueue(entry)

    def _enqueue(self, entry: _Entry) -> None:
        if not self._q:
            self.behind_since = self._clock()
        self._q.append(entry)
        data = entry[1]
        assert isinstance(data, bytes)
        self.queued_bytes += len(data)

    def flush(self) -> int:
        """Write queued messages until the connection pauses again; returns how many were written."""
        n = 0
        q = self._q
        flow = self._flow
        while q and not flow.writing_paused:
            key, data = q.popleft()
            if key is not None:
                del self._slots[key]
            assert isinstance(data, bytes)
            self.queued_bytes -= len(data)
            self._write(data)
            n += 1
        self.sent += n
        if not q:
            self.behind_since = None
        return n

    def behind_for(self) -> float:
        """Seconds the client has been behind (0.0 when it is not)."""
        return 0.0 if self.behind_since is None else self._clock() - self.behind_since
