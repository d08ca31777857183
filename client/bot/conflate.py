"""The bot's queue of pushed messages within one event-loop turn, conflating market states (sans-I/O).

During a burst of market data a bot that decides on every book ticker in turn makes each decision wait behind stale
ticks. :class:`TurnQueue` keeps, per stream key, only the latest full state (``book_ticker:``, ``book:``: a newer one
supersedes it entirely, as the server's conflation for a client that is behind does), and every other message
(``orders:`` events, ``trades:``) in arrival order, never dropped. :meth:`TurnQueue.drain` gives what is kept in
arrival order (a superseded state's place is taken by its latest one, where that arrived). :class:`Conflator` is the
rule a shell (:mod:`.runner`) follows per loop turn: apply them all, then decide once per symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradingmcp.client.bot.actions import Action, Tick
from tradingmcp.client.bot.core import BotCore

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


Send = Callable[[list[Action]], None]
"""Where a decision's actions go (the shell writes them as tool calls at once)."""


class Conflator:
    """The per-turn conflation rule over a :class:`~.core.BotCore`, loop-free: the shell tells it each pushed message
    (:meth:`on_message`) and the end of the loop turn (:meth:`end_turn`); actions go out through ``send`` as soon as
    they are decided.

    * A symbol's first book ticker of the turn is decided on at once (a quiet market pays nothing: one frame per read,
      no hop), after every message queued before it in the turn is applied in order (order events, trades, books).
    * Every other message of the turn is queued (:class:`TurnQueue`: the symbol's later book tickers and its book
      states conflate to the latest, order events and trades are all kept); at the end of the turn all are applied in
      arrival order (:meth:`BotCore.observe <tradingmcp.client.bot.core.BotCore.observe>`), then each symbol whose
      market changed since its last decision is decided on once, on its latest tick (:meth:`BotCore.decide
      <tradingmcp.client.bot.core.BotCore.decide>`), in the order of their latest change.

    So a symbol gets at most two decisions a turn however long the burst, the second on its newest market; order
    events wait for the end of the turn or the next decision (the call waiting on an order's result, often in the same
    read, resumes first) and are never dropped or reordered. Exceptions of the core propagate (the shell stops
    quoting).

    A ``signals:`` message (an alert) is queued like a trade and given the wall clock (``wall_clock``) when applied,
    for its age check.

    Args:
        clock: ``perf_counter_ns``-like, the time of each decision at the end of a turn.
        wall_clock: ms since the epoch, for the age of alerts (None: alerts are never too old).
    """

    def __init__(self, core: BotCore, clock: Callable[[], int], wall_clock: Callable[[], int] | None = None) -> None:
        self.core = core
        self.clock = clock
        self.wall_clock = wall_clock
        self.queue = TurnQueue()
        self.decided: set[str] = set()
        """Symbols decided on at once in this turn (their later book tickers wait for the end of the turn)."""
        self._changed: dict[str, Tick] = {}

    @property
    def conflated(self) -> int:
        """Market states superseded within a turn and never applied."""
        return self.queue.conflated

    def on_message(self, key: str, data: dict[str, Any], now_ns: int, send: Send) -> None:
        """One pushed message (``now_ns``: when it arrived); the shell calls :meth:`end_turn` at the end of the loop
        turn of any message."""
        if key.startswith("book_ticker:"):
            symbol = str(data.get("symbol", ""))
            if symbol not in self.decided:
                self.decided.add(symbol)
                if len(self.queue):
                    self._observe_queued()
                tick = self.core.observe(key, data, now_ns) or self._changed.get(symbol)
                self._changed.pop(symbol, None)
                if tick is not None:
                    send(self.core.decide(symbol, tick, now_ns))
                return
        self.queue.push(key, data, now_ns)

    def end_turn(self, send: Send) -> None:
        """The loop turn ended: apply what was queued, decide once per symbol changed since its last decision."""
        if self.decided:
            self.decided.clear()
        if len(self.queue):
            self._observe_queued()
        if not self._changed:
            return
        changed, self._changed = self._changed, {}
        for symbol, tick in changed.items():
            send(self.core.decide(symbol, tick, self.clock()))

    def _observe_queued(self) -> None:
        core, changed = self.core, self._changed
        for item in self.queue.drain():
            if self.wall_clock is not None and item.key.startswith("signals:"):
                tick = core.observe(item.key, item.data, item.arrival_ns, self.wall_clock())
            else:
                tick = core.observe(item.key, item.data, item.arrival_ns)
            if tick is not None:
                changed.pop(tick.symbol, None)  # keeps the symbols in the order of their latest change
                changed[tick.symbol] = tick
