"""The backtest loop (sans-I/O): recorded market events → the simulator's book and matching engine → the live bot's
decision core, in simulated time.

Per event (in replay order, :class:`~tradingmcp.sim.replay.MarketEvent`):

- depth snapshot / diff: the symbol's :class:`~tradingmcp.sim.book.SimBook` is rebuilt exactly as the simulator does
  (diffs before the snapshot are kept and the newer ones applied after it; a gap waits for the next snapshot), then
  :meth:`~tradingmcp.sim.matching.MatchingEngine.on_book_update` fills resting orders the book moved through, and the
  bot gets the ``book:<exchange>:<SYMBOL>:<levels>`` message (top ``levels`` per side, as the server pushes it);
- trade: :meth:`~tradingmcp.sim.matching.MatchingEngine.on_trade` fills resting orders the print reached, then the bot
  gets the ``trades:`` message;
- book ticker: the bot gets the ``book_ticker:`` message (once the symbol's book holds its snapshot, so the
  simulator can judge the orders it causes).

Message shapes are the server's (:mod:`tradingmcp.server.tools.market.shapes`); the bot's actions go through
:class:`~.venue.SimVenue`, and order events reach the bot before the next market message (as
:class:`~tradingmcp.client.bot.runner.BotRunner` books them). At the end the bot winds down as the runner's
``finish`` does: it cancels its open orders and takes a last equity sample.

Several venues (a strategy that trades on more than ``[connection] exchange``: ``arbitrage``): each other venue
replays the same event right after the home venue, from its own books and matching engine, with its own venue rules
and result shapes and, on MEXC, every price moved by ``mexc_offset_bps`` (:mod:`.venues`); the bot gets its
``book_ticker:<venue>:<SYMBOL>`` messages and its ``orders:<venue>`` events, and each action goes to the venue it
names (:attr:`~tradingmcp.client.bot.actions.Action.exchange`). One event order: recorded event by recorded event,
home venue first.

Alerts (``alerts``: :class:`~.alerts.ReplayAlert`, taken in time order): each is the ``signals:`` message the server's
TradingView webhook publishes, on the stream the bot's ``signals`` strategy reads (``[strategy.signals] stream``),
handed to the bot once the replay reaches its time (before the first market event at or after it, at that event's
receive stamp), with the replay's exchange time as the bot's wall clock for the age check. Alerts before ``start_ms``
or after the last event replayed are not delivered.

Time: the matching engine's clock is the exchange time of the last event (``E``/``T``, ms); the bot's clock
(``now_ns``) is the event's receive stamp (``local_ns``). No wall clock is read. With ``latency_ms > 0`` an action
reaches the engine that long after the decision, and its answer and the order events it causes reach the bot that
long after the engine produced them (events due at the same time keep their order).

Events before ``start_ms`` build the book but are not shown to the bot; replay stops at the first event after
``end_ms`` (exchange ms; a book ticker, which carries no time, counts at the last time seen).

Conflation (``turn_us > 0``, as the bot's runner conflates per event-loop turn, :mod:`tradingmcp.client.bot.conflate`):
market events received less than ``turn_us`` after the previous one belong to the same turn, as frames read together
would, and go through the live runner's own rule, its ``Conflator``: a symbol's first book ticker of the turn is decided
on at once; every other message of the turn, and every order event, is queued (latest state per book / book-ticker
stream, the rest in order) and at the end of the turn applied with ``BotCore.observe``, then decided on once per
symbol that changed. With ``turn_us = 0`` every message is decided on at once (``BotCore.on_stream``), as a runner
without conflation does.
"""

from __future__ import annotations

import contextlib
import decimal
import gc
import heapq
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.config import BotConfig
from tradingmcp.client.bot.conflate import Conflator
from tradingmcp.client.bot.core import BotCore
from tradingmcp.client.bot.params import SignalsParams
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.research.backtest.alerts import ReplayAlert
from tradingmcp.research.backtest.streams import book_message
from tradingmcp.research.backtest.venues import OFFSET_VENUE, ReplaySettingError, VenueReplay, summed_balances
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.replay import EventKind, MarketEvent

DEFAULT_BALANCES = {"USDT": "10000", "BTC": "1", "ETH": "10"}
"""The simulated account's starting balances (the simulator's defaults)."""

RUN_ID = "0"
"""The bot's run id in client order ids (fixed, so two runs name their orders alike)."""

_TRADE, _DEPTH, _TICKER, _SNAPSHOT = EventKind.TRADE, EventKind.DEPTH, EventKind.BOOK_TICKER, EventKind.SNAPSHOT


@dataclass(frozen=True)
class BacktestParams:
    """How to replay.

    Attributes:
        latency_ms: one-way delay bot ↔ exchange (ms of simulated time; 0 = answers at once).
        maker_fee / taker_fee: commission rates as fractions (0.001 = 0.1 %, Binance's base rate).
        balances: starting balance per asset of the simulated account (decimal strings).
        start_ms / end_ms: exchange-time window shown to the bot (epoch ms; None = from the start / to the end).
        turn_us: receive-time gap (µs) below which market events form one event-loop turn whose messages the bot
            conflates (see the module docstring); 0 = no conflation.
        mexc_offset_bps: a replayed MEXC venue (not ``[connection] exchange``) moves every price by this many basis
            points, as ``serve --mexc-offset-bps`` does (0: the same prices as Binance).
        alerts: TradingView alerts to hand the bot at their times (:mod:`.alerts`; empty: none).
    """

    latency_ms: float = 0.0
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    balances: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    start_ms: int | None = None
    end_ms: int | None = None
    turn_us: float = 0.0
    mexc_offset_bps: float = 0.0
    alerts: tuple[ReplayAlert, ...] = ()


@dataclass
class BacktestResult:
    """What a finished run leaves: the bot's core (ledger, equity samples, order counters), the accounts' start and
    end balances (summed over the venues; per venue in ``venue_balances``: ``{venue: (start, end)}``), counts, and
    the exchange-time span shown to the bot (ms)."""

    core: BotCore
    start_balances: dict[str, Decimal]
    end_balances: dict[str, Decimal]
    market_events: int
    bot_messages: int
    actions: int
    first_ms: int
    last_ms: int
    conflated: int = 0
    venue_balances: dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]] = field(default_factory=dict)
    alerts_delivered: int = 0


class Backtest:
    """One run. ``Backtest(config, info, params).run(events)``.

    Args:
        config: the bot's settings (its symbols are the ones replayed; events of other symbols are skipped).
        exchange_info: symbols and filters the simulator serves (tick size, lot size...).
        params: replay settings.

    Raises:
        tradingmcp.sim.errors.BinanceError: a configured symbol is not in ``exchange_info`` (-1121).
        tradingmcp.research.backtest.venues.ReplaySettingError: a strategy trades on a venue the backtest cannot
            replay, or ``mexc_offset_bps`` is set but no MEXC venue is traded besides ``[connection] exchange``.
    """

    def __init__(self, config: BotConfig, exchange_info: ExchangeInfo, params: BacktestParams | None = None) -> None:
        self.config = config
        self.params = params = params or BacktestParams()
        self.exchange = config.connection.exchange
        self.levels = config.connection.book_levels
        self.symbols = tuple(s.symbol for s in config.symbols)
        self.now_ms = 0
        if params.mexc_offset_bps and OFFSET_VENUE not in config.venues[1:]:
            raise ReplaySettingError(
                "--mexc-offset-bps moves a MEXC venue traded besides [connection] exchange (the arbitrage's other "
                f"venue); this run's venues are {', '.join(config.venues)} with {self.exchange} as the connection's"
            )
        self.venues = [
            VenueReplay(
                name, self.symbols, exchange_info, self._clock, params.maker_fee, params.taker_fee, params.balances,
                self.levels, home=name == self.exchange,
                offset_bps=params.mexc_offset_bps if name == OFFSET_VENUE and name != self.exchange else 0.0,
            )
            for name in config.venues
        ]  # fmt: skip
        home = self.venues[0]
        self.others = self.venues[1:]
        self._by_name = {v.exchange: v for v in self.venues}
        self.books, self.engine, self.venue = home.books, home.engine, home.venue
        self.core = core = BotCore(config)
        core.tracker.run_id = RUN_ID
        for symbol in self.symbols:
            info = exchange_info.symbol(symbol)
            pf, lot, notional = info.price_filter, info.lot_size, info.notional
            rules = SymbolRulesLite(
                pf.tick_size if pf else Decimal("0.01"),
                lot.step_size if lot else Decimal("0.00001"),
                lot.min_qty if lot else Decimal(0),
                notional.min_notional if notional else Decimal(0),
            )
            core.set_rules(symbol, rules)
            for other in self.others:
                core.set_rules(symbol, other.symbol_rules(symbol, rules), other.exchange)
            core.ledger.positions[symbol].base_asset = info.base_asset
        self._keys = home.keys
        self._orders_key = home.orders_key
        self._loaded = home.loaded
        self._alerts = sorted(params.alerts, key=lambda a: a.time_ms)
        streams = [s.strategy.signals.stream for s in config.symbols if s.strategy.kind == "signals"]
        self._alert_stream = streams[0] if streams else SignalsParams().stream  # as if the webhook published there
        self.alerts_delivered = 0
        self._latency_ns = int(params.latency_ms * 1_000_000)
        self._queue: list[tuple[int, int, str, Any]] = []
        self._seq = itertools.count()
        self.market_events = 0
        self.bot_messages = 0
        self.actions = 0
        self.first_ms = 0
        self.now_ns = 0
        self._turns: Conflator | None = None  # the bot's own per-turn rule when conflating
        self._send_ns = 0  # the bot's clock for what the rule decides (the message's, or the turn's last)
        if params.turn_us > 0:
            self._turns = Conflator(self.core, lambda: self._send_ns, lambda: self.now_ms)
        self._turn_ns = int(params.turn_us * 1000)

    def _clock(self) -> int:
        return self.now_ms

    # ---- the loop ------------------------------------------------------------------------------------------------

    def run(self, events: Iterable[MarketEvent]) -> BacktestResult:
        """Replay ``events``, wind the bot down, and return the result (the cyclic garbage collector is paused
        meanwhile: :func:`paused_gc`; decimal arithmetic runs in :func:`money_context`)."""
        with paused_gc(), decimal.localcontext(money_context()):
            return self._run(events)

    def _run(self, events: Iterable[MarketEvent]) -> BacktestResult:
        start_balances = {v.exchange: v.venue.balances() for v in self.venues}
        start = self.params.start_ms or 0
        end = self.params.end_ms if self.params.end_ms is not None else 1 << 62
        books = self.books
        on_stream, engine, loaded = self.core.on_stream, self.engine, self._loaded
        keys, levels = self._keys, self.levels
        queue = self._queue
        count = 0
        now_ms = self.now_ms
        turns, turn_ns, last_ns = self._turns, self._turn_ns, 0
        others = self.others
        alerts = iter(self._alerts)
        next_alert = next(alerts, None)
        alert_ms = next_alert.time_ms if next_alert is not None else 1 << 62
        # hot loop: locals only; the book ticker (most events) first
        for ev in events:
            symbol = ev.symbol
            if symbol not in books:
                continue
            data = ev.data
            kind = ev.kind
            if kind is _TICKER:
                ms = data.get("E") or now_ms
            elif kind is _TRADE:
                ms = data["T"]
            elif kind is _DEPTH:
                ms = data["E"]
            else:
                ms = data.get("E") or now_ms
            if ms > end:
                break
            if ms > now_ms:
                self.now_ms = now_ms = ms
            count += 1
            self.now_ns = now_ns = ev.local_ns
            if turns is not None:
                if now_ns - last_ns > turn_ns:
                    self._end_turn(last_ns)
                last_ns = now_ns
            if queue and queue[0][0] <= now_ns:
                self._due(now_ns)
            live = ms >= start
            if live and not self.first_ms:
                self.first_ms = ms
            while alert_ms <= ms:  # the replay reached an alert's time: it comes before this event
                assert next_alert is not None
                if alert_ms >= start:
                    self._alert(next_alert, now_ns)
                next_alert = next(alerts, None)
                alert_ms = next_alert.time_ms if next_alert is not None else 1 << 62
            if kind is _TICKER:
                if live and symbol in loaded and turns is not None:
                    msg = {"symbol": symbol, "bid": data["b"], "bid_qty": data["B"], "ask": data["a"],
                           "ask_qty": data["A"], "update_id": data["u"], "time_ms": data.get("T", data.get("E", 0))}  # fmt: skip
                    self._feed(keys[symbol][1], msg, now_ns)
                elif live and symbol in loaded:
                    self.bot_messages += 1
                    msg = {"symbol": symbol, "bid": data["b"], "bid_qty": data["B"], "ask": data["a"],
                           "ask_qty": data["A"], "update_id": data["u"], "time_ms": data.get("T", data.get("E", 0))}  # fmt: skip
                    actions = on_stream(keys[symbol][1], msg, now_ns)
                    if actions:
                        self._act(actions, now_ns)
            elif kind is _TRADE:
                engine.on_trade(symbol, Decimal(data["p"]), Decimal(data["q"]), ms, data["m"])
                self._events()
                if live:
                    msg = {"symbol": symbol, "id": data["t"], "price": data["p"], "qty": data["q"], "time_ms": ms,
                           "taker_side": "SELL" if data["m"] else "BUY"}  # fmt: skip
                    self._feed(keys[symbol][2], msg, now_ns)
            elif kind is _DEPTH:
                if self._depth(symbol, data) and live:
                    self._feed(keys[symbol][0], book_message(symbol, books[symbol], levels), now_ns)
            elif kind is _SNAPSHOT:
                self._snapshot(symbol, data)
                if live:
                    self._feed(keys[symbol][0], book_message(symbol, books[symbol], levels), now_ns)
            for other in others:
                self._other(other, ev, ms, live, now_ns)
        self.market_events = count
        self._end_turn(self.now_ns)
        self._finish()
        end_balances = {v.exchange: v.venue.balances() for v in self.venues}
        return BacktestResult(
            core=self.core,
            start_balances=summed_balances(start_balances.values()),
            end_balances=summed_balances(end_balances.values()),
            market_events=count,
            bot_messages=self.bot_messages,
            actions=self.actions,
            first_ms=self.first_ms,
            last_ms=self.now_ms,
            conflated=self._turns.conflated if self._turns is not None else 0,
            venue_balances={v: (start_balances[v], end_balances[v]) for v in start_balances} if self.others else {},
            alerts_delivered=self.alerts_delivered,
        )

    # ---- the books (as the simulator's SymbolMarket keeps them) -----------------------------------------------

    def _depth(self, symbol: str, data: dict[str, Any]) -> bool:
        if self.venues[0].depth(symbol, data):
            self._events()
            return True
        return False

    def _snapshot(self, symbol: str, data: dict[str, Any]) -> None:
        self.venues[0].snapshot(symbol, data)
        self._events()

    def _other(self, rep: VenueReplay, ev: MarketEvent, ms: int, live: bool, now_ns: int) -> None:
        """The same recorded event on another venue (its prices moved by its offset); the bot gets its book
        ticker only."""
        kind, symbol = ev.kind, ev.symbol
        data = rep.offset.apply(kind, symbol, dict(ev.data)) if rep.offset is not None else ev.data
        if kind is _TICKER:
            if live and symbol in rep.loaded:
                msg = {"symbol": symbol, "bid": data["b"], "bid_qty": data["B"], "ask": data["a"],
                       "ask_qty": data["A"], "update_id": data["u"], "time_ms": data.get("T", data.get("E", 0))}  # fmt: skip
                self._feed(rep.keys[symbol][1], msg, now_ns)
        elif kind is _TRADE:
            rep.engine.on_trade(symbol, Decimal(data["p"]), Decimal(data["q"]), ms, data["m"])
            self._events()
        elif kind is _DEPTH:
            if rep.depth(symbol, data):
                self._events()
        elif kind is _SNAPSHOT:
            rep.snapshot(symbol, data)
            self._events()

    def _alert(self, alert: ReplayAlert, now_ns: int) -> None:
        """One alert as its ``signals:`` message, the replay's exchange time standing for the bot's wall clock."""
        self.alerts_delivered += 1
        if self._turns is not None:
            self._feed(self._alert_stream, alert.message, now_ns)  # the bot's per-turn rule gives it the wall clock
            return
        self.bot_messages += 1
        actions = self.core.on_stream(self._alert_stream, alert.message, now_ns, wall_ms=self.now_ms)
        if actions:
            self._act(actions, now_ns)

    # ---- bot I/O -----------------------------------------------------------------------------------------------

    def _feed(self, key: str, msg: dict[str, Any], now_ns: int) -> None:
        """One stream message to the bot: decided on at once, or through the bot's per-turn rule when conflating."""
        self.bot_messages += 1
        if self._turns is not None:
            self._send_ns = now_ns
            self._turns.on_message(key, msg, now_ns, self._send)
            return
        actions = self.core.on_stream(key, msg, now_ns)
        if actions:
            self._act(actions, now_ns)

    def _end_turn(self, now_ns: int) -> None:
        """The turn ended at ``now_ns`` (its last message): the queued messages applied, a decision per changed
        symbol (:meth:`Conflator.end_turn <tradingmcp.client.bot.conflate.Conflator.end_turn>`)."""
        if self._turns is not None:
            self._send_ns = now_ns
            self._turns.end_turn(self._send)

    def _send(self, actions: list[Action]) -> None:
        if actions:
            self._act(actions, self._send_ns)

    def _act(self, actions: list[Action], now_ns: int) -> None:
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
        venue = self._by_name.get(action.exchange or self.exchange) or self.venues[0]
        result = venue.venue.execute(action)
        if self._latency_ns:
            self._push(now_ns + self._latency_ns, "result", (action, result))
        else:
            self.core.on_result(action, result, now_ns)
        self._events()

    def _events(self) -> None:
        """Hand the engines' queued order events to the bot (after its latency), venue by venue."""
        for rep in self.venues:
            events = rep.venue.order_events()
            if not events:
                continue
            if self._latency_ns:
                due = self.now_ns + self._latency_ns
                for ev in events:
                    self._push(due, "event", (rep.orders_key, ev))
                continue
            for ev in events:
                self._feed(rep.orders_key, ev, self.now_ns)

    def _push(self, due_ns: int, what: str, item: Any) -> None:
        heapq.heappush(self._queue, (due_ns, next(self._seq), what, item))

    def _due(self, now_ns: int | None) -> None:
        """Run every queued step due at ``now_ns`` (all of them when None), in due-time order."""
        queue = self._queue
        while queue and (now_ns is None or queue[0][0] <= now_ns):
            due, _, what, item = heapq.heappop(queue)
            if what == "execute":
                saved, self.now_ns = self.now_ns, due
                self._execute(item, due)
                self.now_ns = max(saved, due)
            elif what == "result":
                self.core.on_result(item[0], item[1], due)
            else:
                self._feed(item[0], item[1], due)

    def _finish(self) -> None:
        """Wind down as the live runner does: settle what is in flight, cancel open orders, take a last sample."""
        core = self.core
        self._due(None)
        self._end_turn(self.now_ns)
        core.stopping = True
        for _ in range(3):  # a cancel refused because the order just changed is retried on the next round
            actions = core.cancel_all()
            if not actions:
                break
            self._act(actions, self.now_ns)
            self._due(None)
            self._end_turn(self.now_ns)
        if self.now_ms > 0:
            core.sample(self.now_ms)


def money_context() -> decimal.Context:
    """The decimal context a backtest computes in: Python's default (28 digits, ROUND_HALF_EVEN, the usual traps),
    whatever the thread's context is (ccxt's number formatting, for one, sets it to ROUND_HALF_UP), so the same input
    gives the same bytes in any process."""
    return decimal.Context(
        prec=28,
        rounding=decimal.ROUND_HALF_EVEN,
        Emin=-999_999,
        Emax=999_999,
        capitals=1,
        clamp=0,
        flags=[],
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (restored after it, when it was on).

    Reading a recording and replaying it allocate many long-lived objects and few reference cycles; with the collector
    on, every few thousand allocations it walks all of them again. Reference counting still frees what is dropped.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
