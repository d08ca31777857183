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

Message shapes are the server's (:mod:`tradingmcp.server.tools.market.shapes`); the messages, the bot's actions
(through :class:`~.venue.SimVenue`), their answers and the order events go through :class:`~.botlink.BotLink`, which
keeps the bot's clock, the latency and the per-turn rule. At the end the bot winds down as the runner's ``finish``
does: it cancels its open orders and takes a last equity sample.

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
(``now_ns``) is the event's receive stamp (``local_ns``). No wall clock is read. ``latency_ms``: see
:mod:`.botlink`.

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

import decimal
from collections.abc import Iterable
from decimal import Decimal

from tradingmcp.client.bot.config import BotConfig
from tradingmcp.client.bot.core import BotCore
from tradingmcp.client.bot.params import SignalsParams
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.research.backtest.alerts import ReplayAlert
from tradingmcp.research.backtest.botlink import BotLink
from tradingmcp.research.backtest.context import money_context, paused_gc
from tradingmcp.research.backtest.settings import RUN_ID, BacktestParams, BacktestResult
from tradingmcp.research.backtest.streams import book_message
from tradingmcp.research.backtest.venues import OFFSET_VENUE, ReplaySettingError, VenueReplay, summed_balances
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.replay import EventKind, MarketEvent

__all__ = ["Backtest", "BacktestParams", "BacktestResult", "money_context", "paused_gc"]

_TRADE, _DEPTH, _TICKER, _SNAPSHOT = EventKind.TRADE, EventKind.DEPTH, EventKind.BOOK_TICKER, EventKind.SNAPSHOT


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
        self._loaded = home.loaded
        self._alerts = sorted(params.alerts, key=lambda a: a.time_ms)
        streams = [s.strategy.signals.stream for s in config.symbols if s.strategy.kind == "signals"]
        self._alert_stream = streams[0] if streams else SignalsParams().stream  # as if the webhook published there
        self.alerts_delivered = 0
        self.link = BotLink(core, self.venues, params.latency_ms, params.turn_us)
        self.market_events = 0
        self.first_ms = 0
        self._turn_ns = int(params.turn_us * 1000)

    def _clock(self) -> int:
        return self.link.now_ms

    @property
    def now_ms(self) -> int:
        """The exchange clock: the last market event's exchange time (ms)."""
        return self.link.now_ms

    # ---- the loop ------------------------------------------------------------------------------------------------

    def run(self, events: Iterable[MarketEvent]) -> BacktestResult:
        """Replay ``events``, wind the bot down, and return the result (the cyclic garbage collector is paused
        meanwhile: :func:`~.context.paused_gc`; decimal arithmetic runs in :func:`~.context.money_context`)."""
        with paused_gc(), decimal.localcontext(money_context()):
            return self._run(events)

    def _run(self, events: Iterable[MarketEvent]) -> BacktestResult:
        link = self.link
        start_balances = {v.exchange: v.venue.balances() for v in self.venues}
        start = self.params.start_ms or 0
        end = self.params.end_ms if self.params.end_ms is not None else 1 << 62
        books = self.books
        engine, loaded, home = self.engine, self._loaded, self.venues[0]
        keys, levels = self._keys, self.levels
        feed, to_bot, queue, queue_due = link.feed, link.events, link.queue, link.due
        count = 0
        now_ms = link.now_ms
        turns, turn_ns, last_ns = link.turns, self._turn_ns, 0
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
                link.now_ms = now_ms = ms
            count += 1
            link.now_ns = now_ns = ev.local_ns
            if turns is not None:
                if now_ns - last_ns > turn_ns:
                    link.end_turn(last_ns)
                last_ns = now_ns
            if queue and queue[0][0] <= now_ns:
                queue_due(now_ns)
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
                if live and symbol in loaded:
                    msg = {"symbol": symbol, "bid": data["b"], "bid_qty": data["B"], "ask": data["a"],
                           "ask_qty": data["A"], "update_id": data["u"], "time_ms": data.get("T", data.get("E", 0))}  # fmt: skip
                    feed(keys[symbol][1], msg, now_ns)
            elif kind is _TRADE:
                engine.on_trade(symbol, Decimal(data["p"]), Decimal(data["q"]), ms, data["m"])
                to_bot()
                if live:
                    msg = {"symbol": symbol, "id": data["t"], "price": data["p"], "qty": data["q"], "time_ms": ms,
                           "taker_side": "SELL" if data["m"] else "BUY"}  # fmt: skip
                    feed(keys[symbol][2], msg, now_ns)
            elif kind is _DEPTH:
                if home.depth(symbol, data):
                    to_bot()
                    if live:
                        feed(keys[symbol][0], book_message(symbol, books[symbol], levels), now_ns)
            elif kind is _SNAPSHOT:
                home.snapshot(symbol, data)
                to_bot()
                if live:
                    feed(keys[symbol][0], book_message(symbol, books[symbol], levels), now_ns)
            for other in others:
                self._other(other, ev, ms, live, now_ns)
        self.market_events = count
        link.end_turn(link.now_ns)
        link.finish()
        end_balances = {v.exchange: v.venue.balances() for v in self.venues}
        return BacktestResult(
            core=self.core,
            start_balances=summed_balances(start_balances.values()),
            end_balances=summed_balances(end_balances.values()),
            market_events=count,
            bot_messages=link.bot_messages,
            actions=link.actions,
            first_ms=self.first_ms,
            last_ms=link.now_ms,
            conflated=link.conflated,
            venue_balances={v: (start_balances[v], end_balances[v]) for v in start_balances} if self.others else {},
            alerts_delivered=self.alerts_delivered,
        )

    def _other(self, rep: VenueReplay, ev: MarketEvent, ms: int, live: bool, now_ns: int) -> None:
        """The same recorded event on another venue (its prices moved by its offset); the bot gets its book
        ticker only."""
        kind, symbol = ev.kind, ev.symbol
        data = rep.offset.apply(kind, symbol, dict(ev.data)) if rep.offset is not None else ev.data
        if kind is _TICKER:
            if live and symbol in rep.loaded:
                msg = {"symbol": symbol, "bid": data["b"], "bid_qty": data["B"], "ask": data["a"],
                       "ask_qty": data["A"], "update_id": data["u"], "time_ms": data.get("T", data.get("E", 0))}  # fmt: skip
                self.link.feed(rep.keys[symbol][1], msg, now_ns)
        elif kind is _TRADE:
            rep.engine.on_trade(symbol, Decimal(data["p"]), Decimal(data["q"]), ms, data["m"])
            self.link.events()
        elif kind is _DEPTH:
            if rep.depth(symbol, data):
                self.link.events()
        elif kind is _SNAPSHOT:
            rep.snapshot(symbol, data)
            self.link.events()

    def _alert(self, alert: ReplayAlert, now_ns: int) -> None:
        """One alert as its ``signals:`` message, the replay's exchange time standing for the bot's wall clock."""
        self.alerts_delivered += 1
        self.link.alert(self._alert_stream, alert.message, now_ns)
