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
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from time import monotonic
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of each stream the hub keeps for resume.

    A message leaves the window when the window holds more than ``max_count`` messages or ``max_bytes`` bytes of
    serialized notifications, or when it is older than ``max_age_s`` seconds (judged as messages are appended, by a
    time mark every :data:`MARK_EVERY` messages: a quiet stream keeps its last messages longer); the newest message
    always stays. The defaults keep at least 5 minutes of
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


MARK_EVERY = 256
"""The window reads the clock once per this many messages (a time mark); ages are judged by the marks."""


class ReplayWindow:
    """The retained messages of one stream (see the module docstring). ``last_seq`` is the newest ``seq`` published
    (0: none); :attr:`first_seq` the oldest one held (``last_seq + 1`` when empty); ``nbytes`` the payload bytes held.

    An append is a handful of steps with no clock read: the count and bytes bounds are checked on each message, the
    age at each time mark (every :data:`MARK_EVERY` messages: everything published before a mark older than
    ``max_age_s`` goes), so a message may outlive ``max_age_s`` but never leaves before it.

    Args:
        retention: the bounds. conflating: the kind of most of its messages (the stream source's ``conflates``); the
            messages of the other kind are remembered by ``seq``. last_seq: the ``seq`` the stream continues after (a
            restarted stream keeps counting). clock: monotonic seconds.
    """

    __slots__ = (
        "_clock",
        "_conflating",
        "_entries",
        "_marks",
        "_max_age_s",
        "_max_bytes",
        "_max_count",
        "_odd",
        "last_seq",
        "nbytes",
        "state_seq",
    )

    def __init__(
        self, retention: Retention, conflating: bool = False, last_seq: int = 0, clock: Callable[[], float] = monotonic
    ) -> None:
        self._max_count = retention.max_count
        self._max_bytes = retention.max_bytes
        self._max_age_s = retention.max_age_s
        self._clock = clock
        self._conflating = conflating
        self._entries: deque[bytes] = deque()
        self._odd: deque[int] = deque()  # seqs of the messages whose kind is not ``conflating``
        self._marks: deque[tuple[int, float]] = deque()  # (seq, monotonic time it was appended), oldest first
        self.last_seq = last_seq
        self.state_seq = 0
        """``seq`` of the newest conflatable message (0: none)."""
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def first_seq(self) -> int:
        """The oldest ``seq`` held (``last_seq + 1`` when the window is empty)."""
        return self.last_seq - len(self._entries) + 1

    def append(self, payload: bytes, conflatable: bool) -> int:
        """Hold the next message (serialized ``payload``) of the stream; returns its ``seq`` (``last_seq + 1``)."""
        entries = self._entries
        if len(entries) == self._max_count:  # full: the oldest leaves
            self.nbytes -= len(entries.popleft())
        entries.append(payload)
        seq = self.last_seq = self.last_seq + 1
        if conflatable is not self._conflating:
            self._odd.append(seq)
        if conflatable:
            self.state_seq = seq
        nbytes = self.nbytes = self.nbytes + len(payload)
        if nbytes > self._max_bytes or not seq % MARK_EVERY:
            self._trim(seq)
        return seq

    def skip_to(self, seq: int) -> None:
        """The next message is ``seq``, not ``last_seq + 1`` (a source that numbers its own messages skipped some):
        the window restarts empty, so a resume across the hole is refused rather than silently lossy."""
        self._entries.clear()
        self._odd.clear()
        self._marks.clear()
        self.nbytes = 0
        self.state_seq = 0
        self.last_seq = seq - 1

    def _trim(self, seq: int) -> None:
        entries = self._entries
        marks = self._marks
        drop_to = 0  # messages up to this seq are older than max_age_s
        if not seq % MARK_EVERY:
            now = self._clock()
            marks.append((seq, now))
            while marks and marks[0][1] < now - self._max_age_s:
                drop_to = marks.popleft()[0]
        first = self.last_seq - len(entries) + 1
        while len(entries) > 1 and (self.nbytes > self._max_bytes or first <= drop_to):
            self.nbytes -= len(entries.popleft())
            first += 1
        odd = self._odd
        while odd and odd[0] < first:
            odd.popleft()

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
        first = self.first_seq
        resumed = self.covers(since_seq)
        start = since_seq + 1 if resumed else first
        state = self.state_seq
        odd = set(self._odd)
        out: list[tuple[int, bytes, bool]] = []
        for seq, payload in enumerate(islice(self._entries, start - first, None), start):
            conflatable = self._conflating is not (seq in odd)
            if not conflatable or seq == state:
                out.append((seq, payload, conflatable))
        return Replay(resumed, out[0][0] if out else self.last_seq + 1, out)
