"""One venue's loss, drawdown and exposure state for the day (sans-I/O: fills, balances and marks in; usage and
breaches out). The limits are :class:`~.safety.SafetyConfig`'s ``max_daily_loss``, ``max_drawdown``,
``max_asset_exposure`` and ``max_total_exposure``; the refusals are in :mod:`.safety`, run by :mod:`.pretrade`.

Day P&L (quote asset, realized + unrealized): the P&L of the account's fills of the current UTC day, each fill turned
into its cash flows by :func:`~tradingmcp.server.portfolio.ledger.cash_flows` (the ledger's method, fees included):
``Σ quote_delta + Σ base_delta × mark`` per symbol, ``mark`` the mid of the venue's live best bid/ask (:data:`MARK_MAX_AGE_MS`),
else the symbol's last fill price. Holdings from before the day do not count: the limit is on what today's trading
lost. The day's equity moves with the day P&L, so the drawdown is ``peak − day P&L``, the peak (≥ 0, the day's start)
taken after every fill and every check.

A loss limit *trips* when the day P&L reaches ``−max_daily_loss`` or the drawdown reaches ``max_drawdown``; a tripped
limit stays tripped (latched) until the UTC day ends, even if prices recover. While one is tripped only
risk-reducing orders pass (:func:`is_reducing`).

Exposure: each asset's holding (free + locked, from the balances) × its price in the quote asset, plus the quote the
open BUY orders commit to buying it (:func:`open_buys`: a resting bid adds exposure when it fills, so bids stacked
below the market cannot pass a cap one by one); an order that increases exposure is checked with its notional added
(the per-asset cap on its base asset, the total cap on the sum). A BUY the venue answered as filled counts at once
(:meth:`DayRails.settling_buy`): the balance update that moves the holding can arrive after the answer (a different
stream, or REST), and until it does the bought quantity is added to the holding, for at most :data:`SETTLE_MS`.

A restart rebuilds the day from the exchange's fills of the symbols the journal says were traded today
(``myTrades``) and the latched breaches from the journal (:meth:`~.deskrails.DeskRails.restore`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import Fill, Order, Side
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.portfolio.ledger import FillKey, LedgerFill, cash_flows

ZERO = Decimal(0)
MS_PER_DAY = 86_400_000
MARK_MAX_AGE_MS = 60_000
"""Oldest live best bid/ask used as a mark (ms); older, the symbol's last fill price is used."""
SETTLE_MS = 10_000
"""Longest a filled BUY counts on its own while waiting for the balance update that moves the holding (ms)."""
LOSS_RULES = ("max_daily_loss", "max_drawdown")
"""The limits that latch when they trip."""


@dataclass(frozen=True, slots=True)
class Breach:
    """A loss limit that tripped: ``rule`` (``max_daily_loss`` | ``max_drawdown``), its ``limit`` and the ``value``
    that reached it (quote asset), the day P&L and the peak then, and when (ms since the epoch)."""

    rule: str
    limit: Decimal
    value: Decimal
    day_pnl: Decimal
    peak: Decimal
    time_ms: int

    def json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "limit": plain(self.limit),
            "value": plain(self.value),
            "day_pnl": plain(self.day_pnl),
            "peak": plain(self.peak),
            "time_ms": self.time_ms,
        }


@dataclass
class SymbolDay:
    """A symbol's fills of the day as cash flows: ``base`` and ``quote`` are the sums of the fills' base and quote
    deltas; ``last_price`` the last fill's price."""

    base_asset: str
    quote_asset: str
    base: Decimal = ZERO
    quote: Decimal = ZERO
    last_price: Decimal = ZERO

    def pnl(self, mark: Decimal | None) -> Decimal:
        return self.quote + self.base * (mark if mark is not None and mark > 0 else self.last_price)


@dataclass
class DayRails:
    """The day state of one venue (see the module docstring). ``marks(symbol)`` gives a live mark or None.

    Feed it :meth:`add_fill` (fills of today, any order, deduplicated by trade), :meth:`set_balance`, and call
    :meth:`evaluate` to update the peak and get a newly tripped limit.
    """

    venue: str
    marks: Callable[[str], Decimal | None]
    day: int = -1
    symbols: dict[str, SymbolDay] = field(default_factory=dict)
    seen: set[FillKey] = field(default_factory=set)
    pending: list[LedgerFill] = field(default_factory=list)
    """Fills of symbols whose assets are not known yet (added once :meth:`know` names them)."""
    assets: dict[str, tuple[str, str]] = field(default_factory=dict)
    peak: Decimal = ZERO
    tripped: dict[str, Breach] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    balances_known: bool = False
    settling: dict[str, list[tuple[Decimal, int]]] = field(default_factory=dict)
    """Base asset → ``(quantity, until_ms)`` of answered BUY fills its balance does not show yet
    (:meth:`settling_buy`)."""
    limits: dict[str, Decimal | None] = field(default_factory=dict)
    """``max_daily_loss`` and ``max_drawdown`` (set by the desk from the config; None = off)."""

    def roll(self, now_ms: int) -> bool:
        """Start a new day when ``now_ms`` is past the current one (P&L, peak and breaches reset); True when it did."""
        today = now_ms // MS_PER_DAY
        if today == self.day:
            return False
        self.day = today
        self.symbols.clear()
        self.seen.clear()
        self.pending.clear()
        self.peak = ZERO
        self.tripped.clear()
        return True

    @property
    def day_start_ms(self) -> int:
        return self.day * MS_PER_DAY

    def know(self, symbol: str, base: str, quote: str) -> None:
        """Record ``symbol``'s assets; its waiting fills are added."""
        self.assets[symbol] = (base, quote)
        if self.pending:
            waiting = [lf for lf in self.pending if lf.fill.symbol == symbol]
            self.pending = [lf for lf in self.pending if lf.fill.symbol != symbol]
            for lf in waiting:
                self._book(lf, base, quote)

    def add_fill(self, fill: Fill, side: Side) -> bool:
        """Count one of today's fills (False: from another day, or already counted)."""
        if fill.time_ms < self.day_start_ms or fill.time_ms >= self.day_start_ms + MS_PER_DAY:
            return False
        lf = LedgerFill(fill, side)
        if lf.key in self.seen:
            return False
        self.seen.add(lf.key)
        known = self.assets.get(fill.symbol)
        if known is None:
            self.pending.append(lf)
        else:
            self._book(lf, *known)
        return True

    def _book(self, lf: LedgerFill, base: str, quote: str) -> None:
        base_delta, quote_delta, _, _, other_value = cash_flows(lf, base, quote, {})
        day = self.symbols.get(lf.fill.symbol)
        if day is None:
            day = self.symbols[lf.fill.symbol] = SymbolDay(base, quote)
        day.base += base_delta
        day.quote += quote_delta - other_value
        day.last_price = lf.fill.price

    def replay(self, fills: Iterable[tuple[Fill, Side]], now_ms: int) -> Breach | None:
        """Add ``fills`` in execution order, evaluating after each at its own price (the peak of the day as it was
        lived); returns the first limit this trips (None when none)."""
        first: Breach | None = None
        for fill, side in sorted(fills, key=lambda fs: LedgerFill(fs[0], fs[1]).sort_key):
            if self.add_fill(fill, side):
                breach = self.evaluate(fill.time_ms, live=False)
                first = first or breach
        return first

    def set_balance(self, asset: str, total: Decimal) -> None:
        """``asset``'s new free + locked total from a balance update; the BUY fills it was waiting for are in it."""
        self.balances[asset] = total
        self.balances_known = True
        self.settling.pop(asset, None)

    def settling_buy(self, asset: str, quantity: Decimal, now_ms: int) -> None:
        """Count ``quantity`` of ``asset`` (base asset) a BUY filled, as the venue's answer says, as held until the next
        balance update of ``asset`` (:meth:`set_balance`) or for :data:`SETTLE_MS`. A balance update that raced ahead
        of the answer already holds it: then it counts twice until the next update, the safe side for a cap."""
        if quantity > 0:
            self.settling.setdefault(asset, []).append((quantity, now_ms + SETTLE_MS))

    def holding(self, asset: str, now_ms: int | None = None) -> Decimal:
        """``asset``'s balance plus its settling BUY fills that have not expired at ``now_ms`` (all when None)."""
        held = self.balances.get(asset, ZERO)
        for qty, until in self.settling.get(asset, ()):
            if now_ms is None or until > now_ms:
                held += qty
        return held

    def expire_settling(self, now_ms: int) -> None:
        """Forget the settling BUY fills older than :data:`SETTLE_MS` at ``now_ms``."""
        for asset in list(self.settling):
            left = [(q, until) for q, until in self.settling[asset] if until > now_ms]
            if left:
                self.settling[asset] = left
            else:
                del self.settling[asset]

    def day_pnl(self, live: bool = True) -> Decimal:
        """Realized + unrealized P&L of today's fills (quote asset; the sum over symbols, whatever their quote)."""
        return sum(
            (d.pnl(self.marks(s) if live else None) for s, d in self.symbols.items()),
            ZERO,
        )

    def evaluate(self, now_ms: int, live: bool = True) -> Breach | None:
        """Update the peak with the day P&L now; latch and return a loss limit this trips (None otherwise).

        ``live`` False marks each symbol at its last fill price (a replay)."""
        daily = self.limits.get("max_daily_loss")
        drawdown_limit = self.limits.get("max_drawdown")
        pnl = self.day_pnl(live)
        self.peak = max(self.peak, pnl)
        drawdown = self.peak - pnl
        new: Breach | None = None
        if daily is not None and "max_daily_loss" not in self.tripped and -pnl >= daily:
            new = self.tripped["max_daily_loss"] = Breach("max_daily_loss", daily, -pnl, pnl, self.peak, now_ms)
        if drawdown_limit is not None and "max_drawdown" not in self.tripped and drawdown >= drawdown_limit:
            breach = Breach("max_drawdown", drawdown_limit, drawdown, pnl, self.peak, now_ms)
            self.tripped["max_drawdown"] = breach
            new = new or breach
        return new

    def latch(self, rule: str, detail: dict[str, Any]) -> None:
        """Restore a breach of today from its journaled ``detail`` (:meth:`Breach.json`)."""
        if rule in self.tripped:
            return
        self.tripped[rule] = Breach(
            rule,
            Decimal(str(detail.get("limit", "0"))),
            Decimal(str(detail.get("value", "0"))),
            Decimal(str(detail.get("day_pnl", "0"))),
            Decimal(str(detail.get("peak", "0"))),
            int(detail.get("time_ms", 0)),
        )

    def price_of(self, asset: str, quote: str) -> Decimal | None:
        """``asset``'s price in ``quote`` (1 for the quote itself): the live mark of ``<asset><quote>``, else its last
        fill price today; None when neither is known."""
        if asset == quote:
            return Decimal(1)
        symbol = asset + quote
        mark = self.marks(symbol)
        if mark is not None and mark > 0:
            return mark
        day = self.symbols.get(symbol)
        return day.last_price if day is not None and day.last_price > 0 else None

    def exposures(self, quote: str, prices: dict[str, Decimal] | None = None) -> dict[str, Decimal]:
        """Each held asset other than ``quote`` valued in ``quote`` (:meth:`price_of`, or ``prices`` first); assets
        with no known price are left out."""
        out: dict[str, Decimal] = {}
        for asset in self.balances.keys() | self.settling.keys():
            held = self.holding(asset)
            if asset == quote or not held:
                continue
            price = (prices or {}).get(asset) or self.price_of(asset, quote)
            if price is not None:
                out[asset] = held * price
        return out

    def exposure(self, asset: str, price: Decimal) -> Decimal:
        """``asset``'s holding × ``price`` (quote value; 0 when not held)."""
        return self.holding(asset) * price

    def usage(self) -> dict[str, Any]:
        """``{day_pnl, peak, drawdown, tripped: {rule: breach}}`` (quote asset) for ``get_trading_limits``."""
        pnl = self.day_pnl()
        peak = max(self.peak, pnl)
        return {
            "day_pnl": plain(pnl),
            "peak": plain(peak),
            "drawdown": plain(peak - pnl),
            "tripped": {rule: b.json() for rule, b in self.tripped.items()},
        }


def open_buys(orders: Iterable[Order], assets: dict[str, tuple[str, str]], quote: str) -> dict[str, Decimal]:
    """The quote committed by open BUY orders, by base asset: the unfilled quantity × the limit price (the stop price
    of a stop order without one) of each open BUY whose symbol's assets are in ``assets`` (``symbol → (base,
    quote)``) and quoted in ``quote``; orders on other symbols are left out."""
    out: dict[str, Decimal] = {}
    for order in orders:
        known = assets.get(order.symbol)
        if order.side is not Side.BUY or not order.status.is_open or known is None or known[1] != quote:
            continue
        price = order.price if order.price > 0 else order.stop_price
        left = order.orig_qty - order.executed_qty
        if price > 0 and left > 0:
            out[known[0]] = out.get(known[0], ZERO) + left * price
    return out


def with_open_buys(exposures: dict[str, Decimal], buys: dict[str, Decimal]) -> dict[str, Decimal]:
    """``exposures`` (held value by asset) with the open BUY orders' committed quote (:func:`open_buys`) added."""
    out = dict(exposures)
    for asset, value in buys.items():
        out[asset] = out.get(asset, ZERO) + value
    return out


def is_reducing(side: Side, quantity: Decimal | None, held: Decimal | None) -> bool:
    """True when an order only reduces risk: a SELL of no more of the base asset than is held (``held`` its free +
    locked balance; unknown counts as nothing held). A BUY always adds exposure."""
    return side is Side.SELL and quantity is not None and held is not None and quantity <= held
