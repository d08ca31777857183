"""The bot's decision core (sans-I/O): pushed data in, order actions out.

The asyncio shell (:mod:`.runner`) feeds it stream messages (:meth:`BotCore.on_stream`), order events
(:meth:`BotCore.on_order_event`) and the answers to the actions it asked for (:meth:`BotCore.on_result`,
:meth:`BotCore.on_failure`), and sends the :class:`Action` objects it returns as tool calls. Nothing here touches a
socket or a clock: times come in as arguments (``now_ns``, ``time.perf_counter_ns`` in the shell).

Per symbol and side there is one quote *slot*: at most one working order and at most one action in flight. A market
update asks the symbol's strategy plug-in for its targets (:meth:`.plugin.Strategy.on_market`; ``[strategy] kind``
picks it: the market maker :func:`.strategy.target_quotes` by default) and, per slot: places when there is no order,
replaces (cancel-replace, new client id) when the target moved at least ``requote_ticks``, cancels when the side is no
longer wanted — each through the :class:`.risk.RiskGate`. A trade that makes the strategy change its mind (a closed
bar that flips a signal) triggers a decision too.

Venues: the same on Binance and MEXC (``config.connection.exchange``). Order ids are ints on Binance and strings on
MEXC (``C02__…``); both are only compared, never computed with. Orders are LIMIT_MAKER (post-only) on both, or LIMIT
IOC when the strategy takes liquidity (``Quotes.taker``): such a slot stays taken after its order ended until the
ledger has booked all of the order's fills, so a next order never goes out on a position that misses them. MEXC has no
atomic cancel-replace: the server emulates ``replace_order`` as a cancel then a place, and when the place is refused it
answers ``replace_failed`` with the cancelled order, which frees the slot at once (:meth:`BotCore._rejected`).

Several venues (the ``arbitrage`` kind, a :class:`.plugin.MultiVenue` strategy): every ``book_ticker:<venue>:<SYMBOL>``
of its symbol goes to the strategy (only ``config.connection.exchange``'s also updates the symbol's market state), each
action carries the venue of its side (:attr:`.actions.Action.exchange`), and booked fills go back to the strategy
with their venue; it gets each venue's symbol rules (:meth:`BotCore.set_rules` with ``venue``). Its two legs (:attr:`.strategy.Quotes.pair`) go out together or not at all: only when both slots
are free (an IOC leg's fills booked), the rate limiter has a token for each and both pass the position limit.

Alerts (the ``signals`` kind, an :class:`.alerts.AlertConsumer` strategy): a message of a ``signals:`` stream goes to
the strategy of its ``symbol`` (others are ignored), with the shell's wall clock for the age check (``wall_ms``); an
alert that changed the target is decided on at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradingmcp.client.bot.actions import Action, ActionKind, EquityPoint, LatencySample, Tick, plain
from tradingmcp.client.bot.alerts import AlertConsumer
from tradingmcp.client.bot.config import BotConfig, SymbolConfig
from tradingmcp.client.bot.ledger import Ledger
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.orders import OrderTracker, TrackedOrder
from tradingmcp.client.bot.plugin import MultiVenue, Strategy, make_strategy
from tradingmcp.client.bot.risk import RiskGate
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite

SIDES = ("BUY", "SELL")
__all__ = ["SIDES", "Action", "ActionKind", "BotCore", "EquityPoint", "LatencySample", "Slot", "Tick", "plain"]


@dataclass(slots=True)
class Slot:
    """One quote side of a symbol: the current order's client id, the action in flight, and whether the current order
    is a taker (IOC) order."""

    cid: str | None = None
    busy: Action | None = None
    last_change_ns: int = 0
    taker: bool = False


@dataclass
class BotCore:
    """The state machine (see the module docstring). Build it, set ``rules`` for every symbol, then feed it."""

    config: BotConfig
    rules: dict[str, SymbolRulesLite] = field(default_factory=dict)
    markets: dict[str, MarketState] = field(init=False)
    tracker: OrderTracker = field(init=False)
    ledger: Ledger = field(init=False)
    risk: RiskGate = field(init=False)
    slots: dict[tuple[str, str], Slot] = field(init=False)
    strategies: dict[str, Strategy] = field(init=False)
    multi: dict[str, MultiVenue] = field(init=False)
    latencies: list[LatencySample] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)
    paused: bool = False
    stopping: bool = False
    decisions: int = 0
    ticks: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, str] = field(default_factory=dict)
    events: int = 0
    alerts_ignored: int = 0
    """``signals:`` messages no strategy took (an unknown symbol, or a symbol not traded on alerts)."""
    _kinds: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    """Stream key → its kind (``book_ticker:binance:BTCUSDT`` → ``book_ticker``), for the keys seen."""
    _symbols: dict[str, SymbolConfig] = field(default_factory=dict, init=False, repr=False)
    """Symbol → its config (``config.symbol`` as a look-up)."""

    def __post_init__(self) -> None:
        cfg = self.config
        self.markets = {
            s.symbol: MarketState(s.symbol, s.strategy.imbalance_levels, s.strategy.ema_half_life_ms)
            for s in cfg.symbols
        }
        self.tracker = OrderTracker(cfg.client_id_prefix)
        self.ledger = Ledger(cfg.quote_asset)
        for s in cfg.symbols:
            self.ledger.add_symbol(s.symbol)
        self.risk = RiskGate(cfg.risk)
        self.slots = {(s.symbol, side): Slot() for s in cfg.symbols for side in SIDES}
        self.strategies = {s.symbol: make_strategy(s) for s in cfg.symbols}
        self.multi = {sym: st for sym, st in self.strategies.items() if isinstance(st, MultiVenue)}
        self._symbols = {s.symbol: s for s in reversed(cfg.symbols)}  # the first of a name wins, as config.symbol
        for st in self.multi.values():
            st.home = cfg.connection.exchange

    def set_rules(self, symbol: str, rules: SymbolRulesLite, venue: str | None = None) -> None:
        """The symbol's rules on ``venue`` (None: ``[connection] exchange``, the rules every strategy decides with);
        a several-venue strategy of the symbol gets every venue's."""
        home = self.config.connection.exchange
        if venue is None or venue == home:
            self.rules[symbol] = rules
        multi = self.multi.get(symbol)
        if multi is not None:
            multi.set_venue_rules(venue or home, rules)

    # ---- inputs ----------------------------------------------------------------------------------------------

    def on_stream(self, key: str, data: dict[str, Any], now_ns: int, wall_ms: int | None = None) -> list[Action]:
        """A pushed stream message (``notifications/tradingmcp/stream`` params ``stream`` and ``data``): :meth:`observe`
        it, then :meth:`decide` when it changed the market (``wall_ms``: see :meth:`observe`)."""
        tick = self.observe(key, data, now_ns, wall_ms)
        return self.decide(tick.symbol, tick, now_ns) if tick is not None else []

    def observe(self, key: str, data: dict[str, Any], now_ns: int, wall_ms: int | None = None) -> Tick | None:
        """Apply a pushed stream message to the state without deciding (``now_ns``: when it was received). Returns the
        :class:`Tick` to decide on when it was a book or book ticker that changed its symbol's market (or an alert
        that changed its strategy's target), else None. ``wall_ms``: the shell's wall clock (ms since the epoch) for
        the age check of a ``signals:`` message (None: no age check). A shell that conflates observes every message it
        keeps and decides once per symbol on the latest tick."""
        kind = self._kinds.get(key)
        if kind is None:
            if len(self._kinds) >= 1024:  # only the subscribed streams' keys recur
                self._kinds.clear()
            kind = self._kinds[key] = key.partition(":")[0]
        if kind == "orders":
            self.on_order_event(data)
            return None
        symbol = data.get("symbol", "")
        if type(symbol) is not str:
            symbol = str(symbol)
        market = self.markets.get(symbol)
        if kind == "signals":
            return self._alert(key, symbol, data, now_ns, wall_ms)
        if market is None:
            return None
        self.ticks += 1
        multi = self.multi.get(symbol) if self.multi else None
        if kind == "book_ticker" and multi is not None:
            venue = key.split(":")[1] if key.count(":") >= 2 else self.config.connection.exchange
            changed = multi.on_venue_quote(venue, data, now_ns)
            if venue == self.config.connection.exchange:
                market.on_book_ticker(data)
            tick = Tick(kind, symbol, data.get("update_id"), int(data.get("time_ms") or 0), now_ns)
        elif kind == "book_ticker":
            changed = market.on_book_ticker(data)
            if not changed:  # the same top of book again: nothing to decide on
                self._sample(market.time_ms)
                return None
            tick = Tick(kind, symbol, data.get("update_id"), int(data.get("time_ms") or 0), now_ns)
            self.strategies[symbol].on_quote(market)
        elif kind == "book":
            changed = market.on_book(data)
            tick = Tick(kind, symbol, data.get("last_update_id"), market.time_ms, now_ns)
        elif kind == "trades":
            market.on_trade(data)
            self._sample(market.time_ms)
            time_ms = int(data.get("time_ms") or market.time_ms)
            if self.strategies[symbol].on_trade(float(data["price"]), float(data.get("qty") or 0), time_ms):
                return Tick(kind, symbol, data.get("id"), time_ms, now_ns)  # the trade changed the strategy's mind
            return None
        else:
            return None
        self._sample(market.time_ms)
        return tick if changed else None

    def _alert(self, key: str, symbol: str, data: dict[str, Any], now_ns: int, wall_ms: int | None) -> Tick | None:
        strategy = self.strategies.get(symbol)
        if not isinstance(strategy, AlertConsumer):
            self.alerts_ignored += 1
            return None
        if not strategy.on_alert(key, data, wall_ms):
            return None
        return Tick("signals", symbol, None, self.markets[symbol].time_ms, now_ns)

    def on_order_event(self, data: dict[str, Any]) -> TrackedOrder | None:
        """A pushed order event (``order_event_json``): order state, and the fill it carries (booked once)."""
        if data.get("event") != "order":
            return None
        self.events += 1
        order = data.get("order") or {}
        tracked = self.tracker.apply(order)
        if tracked is None:
            return None
        fill = data.get("fill")
        if fill:
            self.book_fill(fill, tracked)
        return tracked

    def book_fill(self, fill: dict[str, Any], tracked: TrackedOrder) -> bool:
        """Book one fill of a tracked order (deduplicated); checks the loss limit afterwards."""
        if not self.ledger.apply_fill(fill, tracked.side, tracked.client_order_id, tracked.exchange or ""):
            return False
        multi = self.multi.get(tracked.symbol)
        if multi is not None:
            venue = tracked.exchange or self.config.connection.exchange
            multi.on_fill(venue, tracked.side, Decimal(str(fill.get("qty") or 0)))
        self.risk.check_loss(self.ledger.totals(self.marks())["net_pnl"])
        return True

    # ---- decisions ---------------------------------------------------------------------------------------------

    def decide(self, symbol: str, tick: Tick, now_ns: int) -> list[Action]:
        """The actions wanted for ``symbol`` now (none while paused, stopping or halted, except cancels)."""
        if self.paused:
            return []
        if self.stopping or self.risk.halted is not None:
            return self.cancel_all(symbol, tick)
        cfg = self._symbols.get(symbol) or self.config.symbol(symbol)
        rules = self.rules.get(symbol)
        if rules is None:
            return []
        position = self.ledger.position(symbol)
        quotes = self.strategies[symbol].on_market(self.markets[symbol], position, rules, now_ns)
        if quotes is None:
            return []
        self.decisions += 1
        now_ms = now_ns / 1e6
        if quotes.pair and not self._pair_ready(cfg, quotes, position, now_ms):
            return []
        out: list[Action] = []
        orders = self.tracker.orders
        slots = self.slots
        for side, target in (("BUY", quotes.bid), ("SELL", quotes.ask)):
            venue = quotes.bid_venue if side == "BUY" else quotes.ask_venue
            # most decisions: the slot's open order already sits at the target; what _slot_action would conclude
            # (no action, nothing changed) without working through it
            slot = slots[(symbol, side)]
            if slot.busy is not None:
                continue
            cur = orders.get(slot.cid) if slot.cid and target is not None else None
            if (
                cur is not None
                and cur.price == target
                and cur.state == "open"
                and cur.exchange == venue
                and self._unmoved_stays(cfg, rules)
            ):
                continue
            action = self._slot_action(
                cfg, rules, side, target, quotes.qty, quotes.taker, position, tick, now_ns, now_ms, venue
            )
            if action is not None:
                out.append(action)
        if out:
            tick.decide_ns = now_ns
        return out

    @staticmethod
    def _unmoved_stays(cfg: SymbolConfig, rules: SymbolRulesLite) -> bool:
        """An order at exactly its target is left alone (not re-quoted): true unless the requote threshold
        (``requote_ticks`` × tick size) is 0 or below."""
        ticks, size = cfg.strategy.requote_ticks, rules.tick_size
        return bool(ticks and size and (ticks > 0) == (size > 0))

    def _pair_ready(self, cfg: SymbolConfig, quotes: Quotes, position: Decimal, now_ms: float) -> bool:
        """True when both legs of a pair would go out now (see the module docstring); refusals are counted."""
        symbol = cfg.symbol
        if quotes.bid is None or quotes.ask is None:
            return False
        if not all(self._slot_free(self.slots[(symbol, side)]) for side in SIDES):
            return False
        for sign, side in ((1, "BUY"), (-1, "SELL")):
            worst = position + sign * (self.tracker.open_exposure(symbol, side) + quotes.qty)
            if abs(worst) > cfg.max_position_base:
                self.risk.refusals["max_position"] = self.risk.refusals.get("max_position", 0) + 1
                return False
        if self.risk.bucket.available(now_ms) < len(SIDES):
            self.risk.refusals["rate_limit"] = self.risk.refusals.get("rate_limit", 0) + 1
            return False
        return True

    def _slot_free(self, slot: Slot) -> bool:
        """No action in flight and no order that may still trade or whose fills are not all booked."""
        if slot.busy is not None:
            return False
        cur = self.tracker.get(slot.cid) if slot.cid else None
        return cur is None or (not cur.live and (not slot.taker or self._booked(cur)))

    def _slot_action(
        self,
        cfg: SymbolConfig,
        rules: SymbolRulesLite,
        side: str,
        target: Decimal | None,
        qty: Decimal,
        taker: bool,
        position: Decimal,
        tick: Tick,
        now_ns: int,
        now_ms: float,
        venue: str | None = None,
    ) -> Action | None:
        """The action for one side's slot: place, replace, cancel or none (``venue``: where a new order goes; a
        cancel or replace goes to the venue of the order it ends)."""
        symbol = cfg.symbol
        slot = self.slots[(symbol, side)]
        if slot.busy is not None:
            return None
        cur = self.tracker.get(slot.cid) if slot.cid else None
        if cur is not None and not cur.live:
            if slot.taker and not self._booked(cur):
                return None  # its fills are on their way (order events): the position would miss them
            slot.cid, cur = None, None
        if target is None:
            if cur is not None and cur.state == "open" and self.risk.allow_cancel(now_ms):
                cancel = Action("cancel", symbol, side, cur.client_order_id, tick=tick, exchange=cur.exchange)
                return self._start(slot, cancel, now_ns)
            return None
        sign = 1 if side == "BUY" else -1
        if cur is None:
            if self.risk.closed(symbol, now_ms):  # halted or cooling down: no need to work out the exposure
                return None
            worst = position + sign * (self.tracker.open_exposure(symbol, side) + qty)
            if not self.risk.allow_size(now_ms, worst, cfg.max_position_base):
                return None
            action = Action(
                "place", symbol, side, self.tracker.new_client_id(), target, qty, tick=tick, taker=taker, exchange=venue
            )
            self.tracker.add(
                TrackedOrder(action.client_order_id, symbol, side, target, qty, created_ms=now_ms, exchange=venue)
            )
            return self._start(slot, action, now_ns)
        if cur.state != "open" or cur.exchange != venue:
            return None  # an order is replaced on its own venue only
        s = cfg.strategy
        if cur.price == target:  # the target did not move (moved when the threshold is <= 0)
            moved = not self._unmoved_stays(cfg, rules)
        else:
            moved = abs(cur.price - target) >= s.requote_ticks * rules.tick_size
        if not moved or now_ns - slot.last_change_ns < s.min_requote_interval_ms * 1_000_000:
            return None
        if self.risk.closed(symbol, now_ms):
            return None
        worst = position + sign * (self.tracker.open_exposure(symbol, side) - cur.remaining + qty)
        if not self.risk.allow_size(now_ms, worst, cfg.max_position_base):
            return None
        action = Action(
            "replace",
            symbol,
            side,
            self.tracker.new_client_id(),
            target,
            qty,
            cur.client_order_id,
            tick=tick,
            taker=taker,
            exchange=venue,
        )
        self.tracker.add(
            TrackedOrder(
                action.client_order_id,
                symbol,
                side,
                target,
                qty,
                replaces=cur.client_order_id,
                created_ms=now_ms,
                exchange=venue,
            )
        )
        return self._start(slot, action, now_ns)

    def _start(self, slot: Slot, action: Action, now_ns: int) -> Action:
        slot.busy = action
        slot.last_change_ns = now_ns
        if action.kind != "cancel":
            slot.cid = action.client_order_id if action.kind == "place" else slot.cid
            slot.taker = action.taker
        return action

    def _booked(self, order: TrackedOrder) -> bool:
        """True when the ledger holds every fill the order is known to have."""
        if order.order_id is None or order.executed_qty <= 0:
            return True
        return self.ledger.booked_by_order.get((order.symbol, order.order_id), Decimal(0)) >= order.executed_qty

    def cancel_all(self, symbol: str | None = None, tick: Tick | None = None) -> list[Action]:
        """Cancels for every open order of the bot (of ``symbol``) whose slot is not busy."""
        out: list[Action] = []
        for (sym, side), slot in self.slots.items():
            if (symbol is not None and sym != symbol) or slot.busy is not None or slot.cid is None:
                continue
            cur = self.tracker.get(slot.cid)
            if cur is not None and cur.state == "open":
                cancel = Action("cancel", sym, side, cur.client_order_id, tick=tick, exchange=cur.exchange)
                out.append(self._start(slot, cancel, 0))
        return out

    # ---- answers ---------------------------------------------------------------------------------------------

    def on_result(self, action: Action, result: dict[str, Any], now_ns: int) -> None:
        """The ``CallToolResult`` of an action (``isError`` or ``structuredContent``)."""
        slot = self.slots[(action.symbol, action.side)]
        slot.busy = None
        content = result.get("structuredContent") or {}
        if result.get("isError"):
            self._rejected(action, slot, content, now_ns)
            return
        if action.kind == "place":
            if content.get("duplicate"):
                self.tracker.duplicates += 1
            self.tracker.placed += 1
            self.tracker.apply(content.get("order") or {})
        elif action.kind == "replace":
            cancelled = content.get("cancelled")
            if isinstance(cancelled, dict):
                self.tracker.apply({**cancelled, "client_order_id": action.old_client_order_id})
            else:
                self.tracker.mark_done(str(action.old_client_order_id), "CANCELED")
            self.tracker.placed += 1
            self.tracker.apply(content.get("order") or {})
            slot.cid = action.client_order_id
        else:
            order = content.get("order")
            if isinstance(order, dict):
                self.tracker.apply({**order, "client_order_id": action.client_order_id})
            else:
                self.tracker.mark_done(action.client_order_id, "CANCELED")
        if action.kind != "cancel" and action.tick is not None:
            t = action.tick
            self.latencies.append(
                LatencySample(
                    action.kind,
                    action.symbol,
                    t.update_id,
                    t.recv_ns,
                    t.decide_ns,
                    action.sent_ns,
                    now_ns,
                    action.client_order_id,
                    t.kind,
                )
            )

    def _rejected(self, action: Action, slot: Slot, content: dict[str, Any], now_ns: int) -> None:
        error = content.get("error") if isinstance(content.get("error"), dict) else content
        code = str((error or {}).get("code") or "error")
        self.errors[code] = self.errors.get(code, 0) + 1
        self.error_samples.setdefault(code, f"{action.kind}: {(error or {}).get('message', '')}"[:300])
        self.risk.on_reject(action.symbol, now_ns / 1e6)
        if action.kind == "place":
            self.tracker.rejected += 1
            self.tracker.mark_done(action.client_order_id, "REJECTED")
            slot.cid = None
        elif action.kind == "replace":
            self.tracker.rejected += 1
            self.tracker.mark_done(action.client_order_id, "REJECTED")
            cancelled = (error or {}).get("cancelled")
            if isinstance(cancelled, dict) and self._fills_booked(cancelled):
                # ``replace_failed``: the cancel went through, the new order did not (MEXC's replace is a cancel then a
                # place, so this happens there whenever the placement is refused): the old order is gone now
                self.tracker.apply({**cancelled, "client_order_id": action.old_client_order_id})
            # otherwise the old order's fate (and any fill) comes with its pushed events
        # a failed cancel: the order most likely finished already; its events say how

    def _fills_booked(self, order: dict[str, Any]) -> bool:
        """True when the ledger already holds every fill of ``order`` (an ``order_json`` dict), so marking it final
        now cannot hide a fill from the position limit until its pushed event arrives."""
        executed = Decimal(order.get("executed_qty") or 0)
        return self.ledger.booked_by_order.get((order.get("symbol", ""), order.get("order_id")), Decimal(0)) >= executed

    def on_failure(self, action: Action, kind: str) -> None:
        """The action's answer was lost (``kind``: ``lost`` connection, ``timeout``): its outcome is unknown until the
        reconcile. The slot stays busy so nothing else is sent for it meanwhile."""
        self.errors[kind] = self.errors.get(kind, 0) + 1
        order = self.tracker.get(action.client_order_id)
        if action.kind != "cancel" and order is not None and order.state == "pending":
            order.state = "unknown"

    def busy_actions(self) -> list[Action]:
        """Actions still waiting for an answer or a reconcile."""
        return [s.busy for s in self.slots.values() if s.busy is not None]

    def release(self, action: Action) -> None:
        """Free the slot of ``action`` (after the reconcile settled its outcome)."""
        slot = self.slots[(action.symbol, action.side)]
        if slot.busy is action:
            slot.busy = None
        if action.kind == "replace":
            new = self.tracker.get(action.client_order_id)
            if new is not None and new.live:
                slot.cid = action.client_order_id
            else:
                old = self.tracker.get(str(action.old_client_order_id))
                slot.cid = old.client_order_id if old is not None and old.live else None
        elif action.kind == "place":
            new = self.tracker.get(action.client_order_id)
            slot.cid = action.client_order_id if new is not None and new.live else None

    # ---- P&L samples ---------------------------------------------------------------------------------------------

    def marks(self) -> dict[str, Decimal | None]:
        return {s: m.mark() for s, m in self.markets.items()}

    def _sample(self, time_ms: int) -> None:
        step = self.config.report.equity_sample_ms
        if time_ms <= 0 or (self.equity and time_ms - self.equity[-1].time_ms < step):
            return
        self.sample(time_ms)

    def sample(self, time_ms: int) -> EquityPoint:
        """Record an equity point now (also checks the loss limit)."""
        marks = self.marks()
        t = self.ledger.totals(marks)
        point = EquityPoint(
            time_ms,
            t["net_pnl"],
            t["realized_pnl"],
            t["unrealized_pnl"],
            t["fees"],
            marks,
            {s: p.position for s, p in self.ledger.positions.items()},
        )
        self.equity.append(point)
        self.risk.check_loss(t["net_pnl"])
        return point
