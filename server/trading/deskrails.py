"""The trading desk's loss-limit rails: each venue's day (:class:`~.losslimits.DayRails`) fed, shown, acted on and
rebuilt (:class:`DeskRails`, owned by :class:`~.desk.TradingDesk`).

Fed: with any loss limit or exposure cap configured (``SafetyConfig.rails_on``), each venue's user data stream brings
today's fills and the balances into its day, marked at the mid of the venue's live best bid/ask; nothing is followed
otherwise (no cost on the order path).

Shown: :meth:`DeskRails.describe` (what a venue's orders are subject to, as ``get_trading_limits`` answers) and
:meth:`DeskRails.usage` (each loss, drawdown and exposure limit with its use and state).

Acted on: a loss limit that trips (on a fill, or found tripped by a check in :mod:`.pretrade`) is journaled (it stays
tripped across a restart), told to the rail listeners (the audit log, the ``orders:<exchange>`` stream), logged, and
with ``on_breach = "kill"`` engages the venue's kill switch and cancels its open orders.

Rebuilt: after a start, :meth:`DeskRails.restore` brings back the balances, the limits latched today (journal) and
today's fills (``GET /api/v3/myTrades``), replayed in order.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError, NotSupported
from tradingmcp.server.exchanges.models import BalanceEvent, ExecutionType, Fill, OrderEvent, Side, UserEvent
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.journal import IntentJournal
from tradingmcp.server.trading.losslimits import MARK_MAX_AGE_MS, Breach, DayRails, open_buys, with_open_buys
from tradingmcp.server.trading.pretrade import VenueDesk
from tradingmcp.server.trading.safety import SafetyConfig
from tradingmcp.server.venues import Venue

FILLS_PAGE = 1000
"""Fills asked for per ``myTrades`` page when the day is rebuilt (Binance's most)."""
log = logging.getLogger("tradingmcp.server.trading")


class DeskRails:
    """The loss-limit rails of a desk's venues (see the module docstring).

    Args:
        config: the desk's safety configuration (the limits, ``on_breach``).
        journal: where breaches are written and today's orders read from (None: no journal).
        desks: the desk's per-venue state by venue name (each venue's day is its ``rails``).
        tell: tells the desk's rail listeners of a rail event (``(venue, event)``, see
            :data:`~.desk.RailListener`).
        kill: the desk's kill switch (``(venue, reason)``; cancels the venue's open orders).
    """

    def __init__(
        self,
        config: SafetyConfig,
        journal: IntentJournal | None,
        desks: Mapping[str, VenueDesk],
        tell: Callable[[Venue, dict[str, Any]], None],
        kill: Callable[[Venue, str], Coroutine[Any, Any, object]],
    ) -> None:
        self.config = config
        self.journal = journal
        self._desks = desks
        self._tell = tell
        self._kill = kill
        self._kills: set[asyncio.Task[Any]] = set()

    def follow(self, desk: VenueDesk) -> None:
        """Give ``desk`` its day and follow its venue's fills and balances, when any loss limit or exposure cap is
        configured (``rails_on``); nothing otherwise."""
        if not self.config.rails_on:  # only then are fills and balances followed (no cost on the order path otherwise)
            return
        venue = desk.venue
        desk.rails = DayRails(venue.name, _marks(venue))
        desk.rails.limits = {"max_daily_loss": self.config.max_daily_loss, "max_drawdown": self.config.max_drawdown}
        desk.on_breach = functools.partial(self.breached, venue)
        venue.user.add_listener(self._listener(venue, desk.rails))

    def describe(self, venue: Venue) -> dict[str, Any]:
        """Where ``venue`` trades and what applies to its orders (JSON): :meth:`Venue.describe` (exchange, mode,
        environment, real_money, account) with :func:`safety.limits_in_force` (limits, kill switch, whether trading
        is allowed, today's notional), ``open_orders_tracked`` (None until the count is seeded) and ``rails``
        (:meth:`usage`)."""
        desk = self._desks[venue.name]
        return {
            **venue.describe(),
            **safety.limits_in_force(self.config, desk.safety, venue.mode),
            "open_orders_tracked": desk.open_orders.count if desk.open_orders.seeded else None,
            "rails": self.usage(venue),
        }

    def usage(self, venue: Venue) -> dict[str, Any]:
        """Each loss, drawdown and exposure limit of ``venue`` with its use and state (JSON, quote asset):
        ``{on_breach, day_pnl, peak, limits: {max_daily_loss|max_drawdown|max_asset_exposure|max_total_exposure:
        {limit, used, state}}}``; ``state`` is ``off``, ``ok`` or ``tripped`` (loss limits, latched for the UTC
        day; an exposure cap is never latched: it refuses each order that would pass it). Exposure is valued in
        USDT: what is held plus what the open BUY orders commit."""
        desk = self._desks[venue.name]
        rails = desk.rails
        config = self.config
        if rails is None:
            off = {"limit": None, "used": None, "state": "off"}
            names = ("max_daily_loss", "max_drawdown", "max_asset_exposure", "max_total_exposure")
            return {"on_breach": config.on_breach, "limits": {n: dict(off) for n in names}}
        now = safety.now_ms()
        rails.roll(now)
        rails.expire_settling(now)
        usage = rails.usage()
        exposures = with_open_buys(rails.exposures("USDT"), open_buys(desk.open_orders.orders(), rails.assets, "USDT"))
        total = sum(exposures.values(), Decimal(0))
        largest = max(exposures.items(), key=lambda kv: kv[1], default=None)

        def entry(limit: Decimal | None, used: Any, tripped: bool | None = None) -> dict[str, Any]:
            state = "off" if limit is None else ("tripped" if tripped else "ok")
            return {"limit": None if limit is None else plain(limit), "used": used, "state": state}

        loss = -Decimal(usage["day_pnl"])
        return {
            "on_breach": config.on_breach,
            "day_pnl": usage["day_pnl"],
            "peak": usage["peak"],
            "limits": {
                "max_daily_loss": entry(
                    config.max_daily_loss, plain(max(loss, Decimal(0))), "max_daily_loss" in rails.tripped
                ),
                "max_drawdown": entry(config.max_drawdown, usage["drawdown"], "max_drawdown" in rails.tripped),
                "max_asset_exposure": entry(
                    config.max_asset_exposure,
                    {a: plain(v) for a, v in sorted(exposures.items())},
                    config.max_asset_exposure is not None
                    and largest is not None
                    and largest[1] >= config.max_asset_exposure,
                ),
                "max_total_exposure": entry(
                    config.max_total_exposure,
                    plain(total),
                    config.max_total_exposure is not None and total >= config.max_total_exposure,
                ),
            },
            "tripped": usage["tripped"],
        }

    def _listener(self, venue: Venue, rails: DayRails) -> Callable[[UserEvent], None]:
        """User-bus listener: today's fills and the balances into ``rails``; a loss limit a fill trips is handled at
        once (:meth:`breached`)."""
        handle = functools.partial(self.breached, venue)

        def on_event(ev: UserEvent) -> None:
            if isinstance(ev, OrderEvent):
                fill = ev.last_fill
                if ev.execution_type is not ExecutionType.TRADE or fill is None:
                    return
                now = safety.now_ms()
                rails.roll(now)
                if rails.add_fill(fill, ev.order.side):
                    breach = rails.evaluate(now)
                    if breach is not None:
                        handle(breach)
            elif isinstance(ev, BalanceEvent):
                for b in ev.balances:
                    rails.set_balance(b.asset, b.total)

        return on_event

    def breached(self, venue: Venue, breach: Breach) -> None:
        """What a tripped loss limit does: journal it (it stays tripped across a restart), tell the rail listeners
        (audit, ``orders:<exchange>``), log it, and with ``on_breach = "kill"`` engage the kill switch."""
        desk = self._desks[venue.name]
        rails = desk.rails
        assert rails is not None
        if self.journal is not None:
            self.journal.add_rail_event(venue.name, rails.day, breach.rule, breach.time_ms, breach.json())
        kill = self.config.on_breach == "kill"
        message = (
            f"{breach.rule} {plain(breach.limit)} tripped on {venue.name}: "
            f"{'loss' if breach.rule == 'max_daily_loss' else 'drawdown'} {plain(breach.value)} "
            f"(day P&L {plain(breach.day_pnl)}, peak {plain(breach.peak)}); only risk-reducing orders "
            f"until the UTC day ends" + ("; kill switch engaged, open orders cancelled" if kill else "")
        )
        log.warning("%s", message)
        self._tell(
            venue,
            {
                "event": "safety",
                "kind": "limit_breach",
                "exchange": venue.name,
                "mode": venue.mode,
                "code": f"safety_{breach.rule}",
                "state": "tripped",
                "on_breach": self.config.on_breach,
                "message": message,
                **breach.json(),
            },
        )
        if kill and not desk.safety.killed:
            desk.safety.killed = True  # at once: no order passes while the cancels are under way
            task = asyncio.ensure_future(self._kill(venue, f"{breach.rule} tripped"))
            self._kills.add(task)
            task.add_done_callback(self._kill_done)

    def _kill_done(self, task: asyncio.Task[Any]) -> None:
        self._kills.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("kill switch after a loss limit: cancelling failed: %s", task.exception())

    async def restore(self) -> None:
        """Rebuild each venue's day (:mod:`.losslimits`) after a start: the balances (``GET /api/v3/account``), the
        loss limits latched today (from the journal), and today's fills (``GET /api/v3/myTrades`` from the day's
        start, paged by trade id or by time: every fill, however many) of every symbol the journal has an order of
        today, replayed in order (the day's peak as it was). A limit the replay trips that was not journaled yet is
        handled as a new breach. A venue whose exchange fails is logged and starts from what it has."""
        for desk in self._desks.values():
            venue = desk.venue
            rails = desk.rails
            if rails is None:
                continue
            now = safety.now_ms()
            rails.roll(now)
            try:
                for b in await venue.adapter.balances(non_zero=False):
                    rails.set_balance(b.asset, b.total)
                journal = self.journal
                if journal is None:
                    continue
                for rule, _, detail in journal.rail_events(venue.name, rails.day):
                    rails.latch(rule, detail)
                fills = []
                for symbol in journal.symbols_since(venue.name, rails.day_start_ms):
                    rules = await venue.adapter.symbol_rules(symbol)
                    rails.know(symbol, rules.base_asset, rules.quote_asset)
                    fills += [
                        (f, Side.BUY if f.is_buyer else Side.SELL)
                        for f in await _fills_since(venue, symbol, rails.day_start_ms)
                        if f.is_buyer is not None
                    ]
                breach = rails.replay(fills, now)
                breach = rails.evaluate(now) or breach
            except ExchangeError as exc:
                log.warning("%s: restoring the day's loss limits failed (%s); they count from now", venue.name, exc)
                continue
            if breach is not None:
                self.breached(venue, breach)


async def _fills_since(venue: Venue, symbol: str, since_ms: int) -> list[Fill]:
    """Every fill of ``symbol`` from ``since_ms`` on, oldest first: ``GET /api/v3/myTrades`` from ``startTime``, then
    while a page comes back full the next one from the last trade id + 1 (``fromId``), or where the venue selects by
    time only, from the last fill's time (fills already read dropped). A venue that selects neither way
    (``NotSupported``) gives its newest :data:`FILLS_PAGE` fills (logged when that may be short of the day).

    Raises:
        ExchangeError: the exchange failed.
    """
    adapter = venue.adapter
    try:
        page = await adapter.my_trades(symbol, limit=FILLS_PAGE, start_time_ms=since_ms)
    except NotSupported:
        newest = await adapter.my_trades(symbol, limit=FILLS_PAGE)
        if len(newest) >= FILLS_PAGE:
            log.warning("%s: %s: the day is rebuilt from the newest %d fills only", venue.name, symbol, len(newest))
        return newest
    fills = list(page)
    seen = {f.trade_id for f in fills}
    while len(page) >= FILLS_PAGE:
        last = page[-1]
        try:
            if not str(last.trade_id).isdigit():
                raise NotSupported("not a numeric trade id")
            page = await adapter.my_trades(symbol, limit=FILLS_PAGE, from_id=int(str(last.trade_id)) + 1)
        except NotSupported:
            page = await adapter.my_trades(symbol, limit=FILLS_PAGE, start_time_ms=last.time_ms)
        new = [f for f in page if f.trade_id not in seen]
        if not new:
            break
        fills += new
        seen.update(f.trade_id for f in new)
    return fills


def _marks(venue: Venue) -> Callable[[str], Decimal | None]:
    """The mid of ``venue``'s live best bid/ask of a symbol (at most :data:`MARK_MAX_AGE_MS` old), else None."""

    def mark(symbol: str) -> Decimal | None:
        t = venue.tickers.get(symbol, MARK_MAX_AGE_MS)
        if t is None or t.bid <= 0 or t.ask <= 0:
            return None
        return (t.bid + t.ask) / 2

    return mark
