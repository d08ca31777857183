"""The replay window of one push stream, loop-free: the latest messages by ``seq``, bounded by count, bytes and age.

Each published message is appended once (its serialized notification bytes, shared with the live delivery), whatever
the number of subscribers. :meth:`ReplayWindow.plan` tells a subscriber what to replay when it asks to resume after
``since_seq`` (the ``subscribe`` tool's contract, :mod:`tradingmcp.server.mcp.streams`):

* ``since_seq`` inside the window (or exactly its end): ``resumed`` True and every message with ``seq > since_seq``;
* older than the window, newer than the stream, or of another numbering: ``resumed`` False and what the window holds.

Messages are either lossless (trades, closed klines, order events: every one is replayed) or conflatable (a full state
that supersedes the one before: books, best bid/ask, 24 h statistics, the open kline): of those only the latest one the
replay range holds is sent, exactly what a client that was behind would have kept. The latest conflatable message is
therefore the stream's current state; it is never trimmed away while it is the newest message, so a book stream can
always hand a resuming subscriber a snapshot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of each stream the hub keeps for resume.

    A message leaves the window when the window holds more than ``max_count`` messages or ``max_bytes`` bytes of
    serialized notifications, or when it is older than ``max_age_s`` seconds (checked as messages are appended: a quiet
    stream keeps its last messages longer); the newest message always stays. The defaults keep at least 5 minutes of
    the busiest stream of the recorded market (best bid/ask, about 110 messages a second) with room to spare;
    memory is at most ``max_bytes`` (plus per-message overhead) per active stream.

    ``linger_s``: how long a stream whose last subscriber was dropped (any close but a normal 1000 from the client, e.g.
    a cut network) keeps its source running and its window filling, so that subscriber can come back and resume. An
    explicit ``unsubscribe`` or a normal close stops the source at once. 0 disables resume across a drop.

    Raises:
        ValueError: a bound that is not positive (``linger_s`` may be 0).
    """

    max_count: int = 100_000
    max_bytes: int = 32 * 1024 * 1024
    max_age_s: float = 600.0
    linger_s: float = 300.0

    def __post_init__(self) -> None:
        if self.max_count < 1 or self.max_bytes < 1 or self.max_age_s <= 0 or self.linger_s < 0:
            raise ValueError(f"bad stream retention {self}: bounds must be positive, linger_s >= 0")


class Replay(NamedTuple):
    """What to send a subscriber resuming after some ``seq``.

    Attributes:
        resumed: True when every message after the asked ``seq`` follows (nothing skipped but superseded states).
        first_seq: the ``seq`` of the first message this subscription delivers: ``messages[0]`` or, when nothing is
            replayed, the next live one.
        messages: ``(seq, payload, conflatable)`` in ``seq`` order.
    """

    resumed: bool
    first_seq: int
    messages: list[tuple[int, bytes, bool]]


class ReplayWindow:
    """The retained messages of one stream (see the module docstring). ``last_seq`` is the newest ``seq`` published
    (0: none); ``first_seq`` the oldest one held (``last_seq + 1`` when empty); ``nbytes`` the payload bytes held.

    Args:
        retention: the bounds. last_seq: the ``seq`` the stream continues after (a restarted stream keeps counting).
    """

    __slots__ = ("_entries", "_max_age_s", "_max_bytes", "_max_count", "first_seq", "last_seq", "nbytes", "state_seq")

    def __init__(self, retention: Retention, last_seq: int = 0) -> None:
        self._max_count = retention.max_count
        self._max_bytes = retention.max_bytes
        self._max_age_s = retention.max_age_s
        self._entries: deque[tuple[float, bytes, bool]] = deque()
        self.last_seq = last_seq
        self.first_seq = last_seq + 1
        self.state_seq = 0
        """``seq`` of the newest conflatable message (0: none)."""
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, seq: int, payload: bytes, conflatable: bool, now: float) -> None:
        """Hold message ``seq`` (serialized ``payload``) published at monotonic time ``now`` (s).

        ``seq`` must follow :attr:`last_seq`; one that does not (a source that numbers its own messages and skipped)
        restarts the window at ``seq``: a resume across the hole is then refused rather than silently lossy.
        """
        entries = self._entries
        if seq != self.last_seq + 1:
            entries.clear()
            self.nbytes = 0
            self.first_seq = seq
            self.state_seq = 0
        entries.append((now, payload, conflatable))
        self.last_seq = seq
        if conflatable:
            self.state_seq = seq
        self.nbytes += len(payload)
        if len(entries) > self._max_count or self.nbytes > self._max_bytes or entries[0][0] < now - self._max_age_s:
            self._trim(now)

    def _trim(self, now: float) -> None:
        entries = self._entries
        oldest = now - self._max_age_s
        while len(entries) > 1 and (
            len(entries) > self._max_count or self.nbytes > self._max_bytes or entries[0][0] < oldest
        ):
            self.nbytes -= len(entries.popleft()[1])
            self.first_seq += 1

    def covers(self, since_seq: int) -> bool:
        """True when every message after ``since_seq`` is still held (or none was published after it)."""
        return self.first_seq - 1 <= since_seq <= self.last_seq

    def plan(self, since_seq: int | None) -> Replay:
        """What a subscriber gets before the live messages.

        ``since_seq`` None (a fresh subscriber): nothing, it starts with the next live message. Otherwise see the
        module docstring; a subscriber whose numbering is not this window's (another epoch) asks with -1: what the
        window holds, never ``resumed``.
        """
        if since_seq is None:
            return Replay(False, self.last_seq + 1, [])
        entries = self._entries
        resumed = self.covers(since_seq)
        start = since_seq + 1 if resumed else self.first_seq
        state = self.state_seq
        out = [
            (seq, payload, conflatable)
            for seq, (_, payload, conflatable) in enumerate(islice(entries, start - self.first_seq, None), start)
            if not conflatable or seq == state
        ]
        return Replay(resumed, out[0][0] if out else self.last_seq + 1, out)
