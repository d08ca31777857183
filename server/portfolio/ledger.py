"""The fills ledger (sans-I/O): our executions in, positions and P&L out.

P&L method — average cost, fees included, realized on reductions:

* Each fill is first turned into the account's two cash flows in the symbol: the signed change of the base asset
  (``base_delta``: +qty on a BUY, −qty on a SELL, minus a commission charged in the base asset) and of the quote asset
  (``quote_delta``: −price×qty on a BUY, +price×qty on a SELL, minus a commission charged in the quote asset). This is
  exactly what the fill does to the balances, so P&L always reconciles with them.
* A fill that opens or adds to the position (same sign as the net quantity, or from flat) adds its cash to the
  *cost basis*: ``cost_basis -= quote_delta``. Buy fees are therefore capitalized: ``avg_entry_price = cost_basis /
  qty`` is the fee-inclusive break-even price. A short (``qty < 0``, selling more than was bought through the ledger,
  e.g. coins held before) has a negative cost basis (the net proceeds) and a positive average entry price.
* A fill that reduces the position realizes P&L on the closed part ``r = min(|base_delta|, |qty|)``: ``realized =
  quote_delta × r/|base_delta| − cost_basis × r/|qty|``, and removes ``cost_basis × r/|qty|`` from the basis; the rest
  of the fill (if it flips the sign) opens a new position at its own price. Sell fees thus reduce realized P&L at once.
* A commission in a third asset (e.g. BNB) does not touch the symbol's balances: it is valued at that asset's price
  in the quote asset when one is known (and subtracted from realized P&L of the fill), else reported unvalued in
  ``fees_other``.
* ``unrealized_pnl(mark) = qty × mark − cost_basis``. So, invariant: ``Σ realized + unrealized = Σ quote_delta +
  (Σ base_delta) × mark`` = the change in (quote + base × mark) caused by the fills (third-asset fees aside).
* ``fees`` reports every commission valued in the quote asset (base × fill price, quote as is, third asset × its
  price). It is informational: the fees are already inside realized/unrealized P&L.

Quantities are in the base asset, everything else in the symbol's quote asset. Times are ms since the epoch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradingmcp.server.exchanges.models import Fill, Side

ZERO = Decimal(0)
FillKey = tuple[str, int | str | tuple[int | str, int, str, str]]


@dataclass(frozen=True, slots=True)
class LedgerFill:
    """One of our fills with its side (a ``myTrades`` row or an executionReport TRADE)."""

    fill: Fill
    side: Side

    @property
    def key(self) -> FillKey:
        """Dedupe key: (symbol, trade_id); when the source gave no trade id, (order id, time, price, qty)."""
        f = self.fill
        if f.trade_id == -1:
            return f.symbol, (f.order_id, f.time_ms, str(f.price), str(f.qty))
        return f.symbol, f.trade_id

    @property
    def sort_key(self) -> tuple[int, int, int | str]:
        """Execution order: time, then trade id (ints before strings so mixed ids still compare)."""
        tid = self.fill.trade_id
        return (self.fill.time_ms, 0, tid) if isinstance(tid, int) else (self.fill.time_ms, 1, tid)


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What one fill did: its cash flows, fee, realized P&L, and the position after it.

    ``fee_quote`` is the commission valued in the quote asset (0 when in a third asset with no known price; then
    ``fee_other`` = (asset, amount)). ``realized_pnl`` is in the quote asset and includes the fees of the closed part.
    """

    fill: Fill
    side: Side
    base_delta: Decimal
    quote_delta: Decimal
    fee_quote: Decimal
    fee_other: tuple[str, Decimal] | None
    realized_pnl: Decimal
    qty_after: Decimal
    cost_basis_after: Decimal

    @property
    def avg_entry_after(self) -> Decimal:
        """Average entry price after this fill (0 when flat)."""
        return abs(self.cost_basis_after / self.qty_after) if self.qty_after else ZERO


@dataclass(frozen=True, slots=True)
class PositionState:
    """A symbol's position after replaying its fills (see the module docstring for the method).

    ``qty`` is the net base quantity (signed: < 0 is short relative to the ledger's start), ``cost_basis`` the quote
    amount invested in it (negative for a short), ``realized_pnl``/``fees`` totals in the quote asset,
    ``fees_other`` unvalued third-asset commissions by asset, ``effects`` every fill in execution order.
    """

    symbol: str
    base_asset: str
    quote_asset: str
    qty: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    fees_other: dict[str, Decimal] = field(default_factory=dict)
    effects: tuple[FillEffect, ...] = ()

    @property
    def avg_entry_price(self) -> Decimal:
        """Fee-inclusive average entry (break-even) price; 0 when flat."""
        return abs(self.cost_basis / self.qty) if self.qty else ZERO

    @property
    def trade_count(self) -> int:
        return len(self.effects)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """P&L of the open quantity at ``mark`` (quote per base): ``qty × mark − cost_basis``."""
        return self.qty * mark - self.cost_basis


def cash_flows(
    lf: LedgerFill, base: str, quote: str, prices: Mapping[str, Decimal]
) -> tuple[Decimal, Decimal, Decimal, tuple[str, Decimal] | None, Decimal]:
    """A fill's (base_delta, quote_delta, fee_quote, unvalued fee, third-asset fee value) in its symbol's assets.

    ``prices`` maps a third asset to its price in ``quote`` (e.g. ``{"BNB": Decimal("600")}``).
    """
    f = lf.fill
    sign = 1 if lf.side is Side.BUY else -1
    base_delta, quote_delta = sign * f.qty, -sign * f.price * f.qty
    fee_quote, other, other_value = ZERO, None, ZERO
    if f.commission:
        asset = f.commission_asset
        if asset == base:
            base_delta -= f.commission
            fee_quote = f.commission * f.price
        elif asset == quote:
            quote_delta -= f.commission
            fee_quote = f.commission
        elif asset in prices:
            other_value = f.commission * prices[asset]
            fee_quote = other_value
        else:
            other = (asset, f.commission)
    return base_delta, quote_delta, fee_quote, other, other_value


def replay(
    fills: Iterable[LedgerFill], symbol: str, base: str, quote: str, prices: Mapping[str, Decimal] | None = None
) -> PositionState:
    """Replay ``fills`` (any order; sorted here by execution) into a :class:`PositionState`.

    Args:
        fills: the symbol's fills (others are ignored).
        symbol, base, quote: the symbol and its base/quote assets (``BTCUSDT``, ``BTC``, ``USDT``).
        prices: third-asset prices in ``quote`` for commissions paid in them (e.g. BNB); missing → unvalued.
    """
    prices = prices or {}
    qty = cost = realized = fees = ZERO
    fees_other: dict[str, Decimal] = {}
    effects: list[FillEffect] = []
    for lf in sorted((lf for lf in fills if lf.fill.symbol == symbol), key=lambda lf: lf.sort_key):
        base_delta, quote_delta, fee_quote, other, other_value = cash_flows(lf, base, quote, prices)
        fill_realized = -other_value
        if other is not None:
            fees_other[other[0]] = fees_other.get(other[0], ZERO) + other[1]
        if base_delta and qty and (base_delta > 0) != (qty > 0):
            closed = min(abs(base_delta), abs(qty))
            basis_out = cost * closed / abs(qty)
            fill_realized += quote_delta * closed / abs(base_delta) - basis_out
            cost -= basis_out
            rest = abs(base_delta) - closed
            qty += closed if base_delta > 0 else -closed
            if rest:  # the fill flips the position: the remainder opens at its own price
                qty += rest if base_delta > 0 else -rest
                cost = -quote_delta * rest / abs(base_delta)
            if not qty:
                cost = ZERO
        else:
            qty += base_delta
            cost -= quote_delta
        realized += fill_realized
        fees += fee_quote
        effects.append(
            FillEffect(lf.fill, lf.side, base_delta, quote_delta, fee_quote, other, fill_realized, qty, cost)
        )
    return PositionState(symbol, base, quote, qty, cost, realized, fees, fees_other, tuple(effects))


class Ledger:
    """Every fill of one account, deduplicated by (symbol, trade_id), by symbol. Not thread-safe (event-loop use)."""

    def __init__(self) -> None:
        self._fills: dict[str, dict[FillKey, LedgerFill]] = {}
        self.unknown_side = 0

    def add(self, fill: Fill, side: Side | None = None) -> bool:
        """Record ``fill`` (side from ``side`` or ``fill.is_buyer``); False when already known or its side unknown."""
        if side is None:
            if fill.is_buyer is None:
                self.unknown_side += 1
                return False
            side = Side.BUY if fill.is_buyer else Side.SELL
        lf = LedgerFill(fill, side)
        book = self._fills.setdefault(fill.symbol, {})
        if lf.key in book:
            return False
        book[lf.key] = lf
        return True

    def add_many(self, fills: Iterable[Fill]) -> int:
        """Record several fills; returns how many were new."""
        return sum(self.add(f) for f in fills)

    def symbols(self) -> list[str]:
        """Symbols with at least one fill, sorted."""
        return sorted(s for s, book in self._fills.items() if book)

    def fills(
        self, symbol: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[LedgerFill]:
        """Fills of ``symbol`` (all symbols when None) with ``start_ms ≤ time_ms ≤ end_ms``, in execution order."""
        books = [self._fills.get(symbol, {})] if symbol else list(self._fills.values())
        out = [
            lf
            for book in books
            for lf in book.values()
            if (start_ms is None or lf.fill.time_ms >= start_ms) and (end_ms is None or lf.fill.time_ms <= end_ms)
        ]
        out.sort(key=lambda lf: (lf.sort_key, lf.fill.symbol))
        return out

    def count(self, symbol: str | None = None) -> int:
        """How many fills are recorded (of ``symbol``, or in total)."""
        if symbol:
            return len(self._fills.get(symbol, {}))
        return sum(len(b) for b in self._fills.values())

    def position(
        self, symbol: str, base: str, quote: str, prices: Mapping[str, Decimal] | None = None
    ) -> PositionState:
        """The position of ``symbol`` from every recorded fill (see :func:`replay`)."""
        return replay(self._fills.get(symbol, {}).values(), symbol, base, quote, prices)
