"""The bot's own P&L from its fills (sans-I/O): average cost, fees in the quote asset, realized on reductions.

Per symbol (all amounts Decimal; prices in quote per base unit, ``qty``/``position`` in base, money in quote):

- a fill of signed size ``s`` (+qty BUY, −qty SELL) at price ``p`` adds ``−s × p`` to ``cash`` and ``s`` to
  ``position``; ``cost`` (the signed cost basis of the position, ``position × avg_entry_price``) grows on increases and
  shrinks pro rata on reductions, flipping sides resets it at ``p``;
- a commission in the quote asset is a fee as is; one in the base asset (Binance takes a BUY's fee from the base
  received) lowers ``position`` by that amount and is valued at the fill price (booked as a zero-proceeds sale of the
  fee quantity plus a fee of ``commission × p``), so the position always equals the change in the base balance;
- ``realized_pnl = cash + cost`` (gross of fees), ``unrealized_pnl = position × mark − cost``,
  ``net_pnl = realized + unrealized − fees``.

Hence ``net_pnl == Δquote balance + Δbase balance × mark`` exactly: the P&L reconciles with the account's balances.
Fills are deduplicated by ``(venue, symbol, trade_id)`` (a fill seen on the push stream and again while reconciling
counts once; two venues may use the same trade ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass
class Position:
    """One symbol's position and P&L components (see the module docstring)."""

    symbol: str
    base_asset: str
    quote_asset: str
    position: Decimal = ZERO
    cost: Decimal = ZERO
    cash: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0
    buy_qty: Decimal = ZERO
    sell_qty: Decimal = ZERO
    volume_quote: Decimal = ZERO
    other_fees: dict[str, Decimal] = field(default_factory=dict)

    def _trade(self, signed_qty: Decimal, price: Decimal) -> None:
        pos = self.position
        new = pos + signed_qty
        if pos == 0 or (pos > 0) == (signed_qty > 0):
            self.cost += signed_qty * price
        elif (new > 0) == (pos > 0) or new == 0:  # a reduction that does not flip
            self.cost -= self.cost * (-signed_qty) / pos
        else:  # flip: close all, open the rest at price
            self.cost = new * price
        self.position = new
        self.cash -= signed_qty * price

    def apply_fill(self, side: str, price: Decimal, qty: Decimal, commission: Decimal, commission_asset: str) -> None:
        """Book one fill (``side`` BUY/SELL of ``qty`` base at ``price``, commission in ``commission_asset``)."""
        signed = qty if side == "BUY" else -qty
        self._trade(signed, price)
        self.fills += 1
        self.volume_quote += qty * price
        if side == "BUY":
            self.buy_qty += qty
        else:
            self.sell_qty += qty
        if commission:
            if commission_asset == self.base_asset:
                self._trade(-commission, price)
                self.fees += commission * price
            elif commission_asset == self.quote_asset:
                self.fees += commission
            else:  # e.g. BNB: not valued here, reported apart (outside the balance identity)
                self.other_fees[commission_asset] = self.other_fees.get(commission_asset, ZERO) + commission

    @property
    def realized_pnl(self) -> Decimal:
        """Gross realized P&L (quote)."""
        return self.cash + self.cost

    def avg_entry_price(self) -> Decimal | None:
        """``cost / position`` (None when flat)."""
        return self.cost / self.position if self.position else None

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        """``position × mark − cost`` (0 without a mark or when flat)."""
        if mark is None or not self.position:
            return ZERO
        return self.position * mark - self.cost

    def net_pnl(self, mark: Decimal | None) -> Decimal:
        """Realized + unrealized − fees (quote)."""
        return self.realized_pnl + self.unrealized_pnl(mark) - self.fees


@dataclass
class Ledger:
    """Positions of every traded symbol, and the set of fills already booked."""

    quote_asset: str = "USDT"
    positions: dict[str, Position] = field(default_factory=dict)
    seen: set[tuple[str, str, Any]] = field(default_factory=set)
    fills: list[dict[str, Any]] = field(default_factory=list)
    booked_by_order: dict[tuple[str, Any], Decimal] = field(default_factory=dict)

    def add_symbol(self, symbol: str, base_asset: str | None = None) -> Position:
        """Track ``symbol`` (base asset inferred from the quote-asset suffix when not given)."""
        if symbol not in self.positions:
            base = base_asset or symbol.removesuffix(self.quote_asset)
            self.positions[symbol] = Position(symbol, base, self.quote_asset)
        return self.positions[symbol]

    def apply_fill(self, fill: dict[str, Any], side: str, client_order_id: str = "", venue: str = "") -> bool:
        """Book a fill in the ``fill_json`` shape (``symbol, trade_id, order_id, price, qty, commission,
        commission_asset, is_maker, time_ms``) of an order on ``venue`` (empty: the bot's one venue); False (and
        nothing booked) when already seen."""
        key = (venue, fill["symbol"], fill["trade_id"])
        if key in self.seen:
            return False
        self.seen.add(key)
        pos = self.add_symbol(fill["symbol"])
        pos.apply_fill(
            side,
            Decimal(fill["price"]),
            Decimal(fill["qty"]),
            Decimal(fill.get("commission") or 0),
            str(fill.get("commission_asset") or ""),
        )
        self.fills.append(
            {**fill, "side": side, "client_order_id": client_order_id, **({"exchange": venue} if venue else {})}
        )
        okey = (fill["symbol"], fill.get("order_id"))
        self.booked_by_order[okey] = self.booked_by_order.get(okey, ZERO) + Decimal(fill["qty"])
        return True

    def position(self, symbol: str) -> Decimal:
        """Net position of ``symbol`` (base, 0 when unknown)."""
        pos = self.positions.get(symbol)
        return pos.position if pos is not None else ZERO

    def totals(self, marks: dict[str, Decimal | None]) -> dict[str, Decimal]:
        """``{realized_pnl, unrealized_pnl, fees, net_pnl}`` over every symbol (quote), marking at ``marks``."""
        realized = sum((p.realized_pnl for p in self.positions.values()), ZERO)
        unrealized = sum((p.unrealized_pnl(marks.get(s)) for s, p in self.positions.items()), ZERO)
        fees = sum((p.fees for p in self.positions.values()), ZERO)
        return {"realized_pnl": realized, "unrealized_pnl": unrealized, "fees": fees,
                "net_pnl": realized + unrealized - fees}  # fmt: skip
