"""The bot's queue of pushed messages within one event-loop turn, conflating market states (sans-I/O).

During a burst of market data a bot that decides on every book ticker in turn makes each decision wait behind stale
ticks. :class:`TurnQueue` keeps, per stream key, only the latest full state (``book_ticker:``, ``book:``: a newer one
supersedes it entirely, as the server's conflation for a client that is behind does), and every other message
(``orders:`` events, ``trades:``) in arrival order, never dropped. :meth:`TurnQueue.drain` gives what is kept in
arrival order (a superseded state's place is taken by its latest one, where that arrived), so a shell applies them
all and then decides once per symbol (:mod:`.runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONFLATING_KINDS = frozenset({"book_ticker", "book"})
"""Stream kinds whose message is a full state: only the latest of a turn matters."""


def conflates(key: str) -> bool:
    """True for a stream key whose messages supersede each other (``book_ticker:binance:BTCUSDT``)."""
    return key.split(":", 1)[0] in CONFLATING_KINDS


@dataclass(slots=True)
class Queued:
    """A message waiting for the end of the turn: its stream ``key``, ``data`` and when it arrived
    (``perf_counter_ns``, the decision's receive time)."""

    key: str
    data: dict[str, Any]
    arrival_ns: int
    live: bool = True


class TurnQueue:
    """Messages of one turn (see the module docstring).

    Attributes:
        conflated: market states superseded before they were applied, since the queue was made.
    """

    def __init__(self) -> None:
        self._items: list[Queued] = []
        self._latest: dict[str, Queued] = {}
        self.conflated = 0

    def __len__(self) -> int:
        """Messages queued, superseded ones included."""
        return len(self._items)

    def push(self, key: str, data: dict[str, Any], arrival_ns: int) -> None:
        """Queue one message; a full state supersedes the one queued before it on the same key."""
        item = Queued(key, data, arrival_ns)
        if conflates(key):
            prior = self._latest.get(key)
            if prior is not None:
                prior.live = False
                self.conflated += 1
            self._latest[key] = item
        self._items.append(item)

    def drain(self) -> list[Queued]:
        """Take what is kept, in arrival order, and empty the queue."""
        items = [i for i in self._items if i.live]
        self._items = []
        self._latest = {}
        return items
