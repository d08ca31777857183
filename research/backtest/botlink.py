"""The bot's side of a backtest (sans-I/O): stream messages to the live bot's core, its actions to the replayed
venues, their answers and order events back, in simulated time.

Without latency every step happens at once, in order: a message is decided on, each action is executed on the venue
it names, its answer and the order events it caused reach the bot before the next market message (as
:class:`~tradingmcp.client.bot.runner.BotRunner` books them). With ``latency_ms > 0`` an action reaches the venue that
long after the decision, and its answer and the order events it causes reach the bot that long after the venue
produced them (steps due at the same time keep their order: a heap keyed by due time, then a sequence number).

With ``turn_us > 0`` messages go through the live runner's own per-turn rule
(:class:`~tradingmcp.client.bot.conflate.Conflator`); the replay loop says where a turn ends (:meth:`BotLink.end_turn`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.conflate import Conflator
from tradingmcp.client.bot.core import BotCore
from tradingmcp.research.backtest.venues import VenueReplay

__all__ = ["BotLink"]


class BotLink:
    """The message and action path between the replayed venues and one bot core.

    Args:
        core: the bot's decision core.
        venues: the replayed venues, ``[connection] exchange``'s first (an action that names no venue goes there).
        latency_ms: one-way delay bot ↔ exchange (ms of simulated time; 0 = at once).
        turn_us: conflate per turn through the runner's :class:`Conflator` (µs; 0 = decide on every message).

    Attributes:
        now_ns: the bot's clock (a market event's receive stamp, or a queued step's due time; ns).
        now_ms: the exchange clock (the last market event's exchange time; ms), also the conflating bot's wall clock.
        bot_messages / actions: stream messages handed to the bot, actions it asked for.
        queue: the latency queue, a heap of ``(due_ns, seq, what, item)`` (the replay loop peeks at its head to call
            :meth:`due`).
    """

    def __init__(self, core: BotCore, venues: Sequence[VenueReplay], latency_ms: float, turn_us: float) -> None:
        self.core = core
        self.venues = list(venues)
        self._home = self.venues[0]
        self._by_name = {v.exchange: v for v in self.venues}
        self._latency_ns = int(latency_ms * 1_000_000)
        self.queue: list[tuple[int, int, str, Any]] = []
        self._seq = itertools.count()
        self.now_ns = 0
        self.now_ms = 0
        self.bot_messages = 0
        self.actions = 0
        self.turns: Conflator | None = None  # the bot's own per-turn rule when conflating
        self._send_ns = 0  # the bot's clock for what the rule decides (the message's, or the turn's last)
        if turn_us > 0:
            self.turns = Conflator(core, lambda: self._send_ns, lambda: self.now_ms)

    @property
    def conflated(self) -> int:
        """Market states the per-turn rule superseded (0 without conflation)."""
        return self.turns.conflated if self.turns is not None else 0

    # ---- to the bot -------------------------------------------------------------------------------------------

    def feed(self, key: str, msg: dict[str, Any], now_ns: int) -> None:
        """One stream message to the bot: decided on at once, or through the bot's per-turn rule when conflating."""
        self.bot_messages += 1
        if self.turns is not None:
            self._send_ns = now_ns
            self.turns.on_message(key, msg, now_ns, self._send)
            return
        actions = self.core.on_stream(key, msg, now_ns)
        if actions:
            self.act(actions, now_ns)

    def alert(self, key: str, msg: dict[str, Any], now_ns: int) -> None:
        """A ``signals:`` message, with the exchange clock standing for the bot's wall clock (the conflating rule
        reads it itself)."""
        if self.turns is not None:
            self.feed(key, msg, now_ns)
            return
        self.bot_messages += 1
        actions = self.core.on_stream(key, msg, now_ns, wall_ms=self.now_ms)
        if actions:
            self.act(actions, now_ns)

    def end_turn(self, now_ns: int) -> None:
        """The turn ended at ``now_ns`` (its last message): the queued messages applied, a decision per changed
        symbol (:meth:`Conflator.end_turn <tradingmcp.client.bot.conflate.Conflator.end_turn>`)."""
        if self.turns is not None:
            self._send_ns = now_ns
            self.turns.end_turn(self._send)

    def _send(self, actions: list[Action]) -> None:
        if actions:
            self.act(actions, self._send_ns)

    def events(self) -> None:
        """Hand the venues' queued order events to the bot (after its latency), venue by venue."""
        for rep in self.venues:
            if not rep.engine.has_events:  # most market events change no order
                continue
            events = rep.venue.order_events()
            if not events:
                continue
            if self._latency_ns:
                due = self.now_ns + self._latency_ns
                for ev in events:
                    self._push(due, "event", (rep.orders_key, ev))
                continue
            for ev in events:
                self.feed(rep.orders_key, ev, self.now_ns)

    # ---- from the bot -----------------------------------------------------------------------------------------

    def act(self, actions: list[Action], now_ns: int) -> None:
        """The bot's actions, decided at ``now_ns``: executed now, or queued for after the latency."""
        self.actions += len(actions)
        for action in actions:
            action.sent_ns = now_ns
            if action.tick is not None:
                action.tick.decide_ns = now_ns
            if self._latency_ns:
                self._push(now_ns + self._latency_ns, "execute", action)
            else:
                self._execute(action, now_ns)

    def _execute(self, action: Action, now_ns: int) -> None:
        action.attempts += 1
        venue = self._by_name.get(action.exchange or self._home.exchange) or self._home
        result = venue.venue.execute(action)
        if self._latency_ns:
            self._push(now_ns + self._latency_ns, "result", (action, result))
        else:
            self.core.on_result(action, result, now_ns)
        self.events()

    # ---- the latency queue ------------------------------------------------------------------------------------

    def _push(self, due_ns: int, what: str, item: Any) -> None:
        heapq.heappush(self.queue, (due_ns, next(self._seq), what, item))

    def due(self, now_ns: int | None) -> None:
        """Run every queued step due at ``now_ns`` (all of them when None), in due-time order."""
        queue = self.queue
        while queue and (now_ns is None or queue[0][0] <= now_ns):
            due, _, what, item = heapq.heappop(queue)
            if what == "execute":
                saved, self.now_ns = self.now_ns, due
                self._execute(item, due)
                self.now_ns = max(saved, due)
            elif what == "result":
                self.core.on_result(item[0], item[1], due)
            else:
                self.feed(item[0], item[1], due)

    def finish(self) -> None:
        """Wind down as the live runner does: settle what is in flight, cancel open orders, take a last sample."""
        core = self.core
        self.due(None)
        self.end_turn(self.now_ns)
        core.stopping = True
        for _ in range(3):  # a cancel refused because the order just changed is retried on the next round
            actions = core.cancel_all()
            if not actions:
                break
            self.act(actions, self.now_ns)
            self.due(None)
            self.end_turn(self.now_ns)
        if self.now_ms > 0:
            core.sample(self.now_ms)
