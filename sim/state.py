"""The engine's records: orders, order lists, account trades and balances (plain mutable data, no logic beyond
balance bookkeeping).

Amounts are Decimal in the asset's own unit (base asset for quantities, quote asset per base unit for prices, quote asset
for notionals); times are epoch ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradingmcp.sim.errors import insufficient_balance
from tradingmcp.sim.exchange_info import SymbolInfo

ZERO = Decimal(0)

OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
STOP_TYPES = frozenset({"STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})


@dataclass(slots=True)
class Order:
    """One order as the exchange keeps it (fields named after Binance's order query response).

    Attributes:
        info: the symbol's exchangeInfo entry (static: assets, precisions, filters), so the engine looks it up once
            per order instead of once per move.
        locked: how much of the order's lock asset (quote for a BUY, base for a SELL) it holds right now.
        triggered: for stop types, whether the stop price was reached (it then works as a limit order).
        seq: global placement sequence number (time priority across symbols).
    """

    api_key: str
    info: SymbolInfo = field(repr=False, compare=False)
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_order_qty: Decimal
    stop_price: Decimal
    stp_mode: str
    time: int
    seq: int
    update_time: int = 0
    working_time: int = -1
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cumm_quote_qty: Decimal = ZERO
    order_list_id: int = -1
    locked: Decimal = ZERO
    triggered: bool = False

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in OPEN_STATUSES

    @property
    def is_stop(self) -> bool:
        """A stop-loss / take-profit type."""
        return self.type in STOP_TYPES

    @property
    def is_working(self) -> bool:
        """On the book: open and not waiting for its stop price."""
        return self.is_open and (not self.is_stop or self.triggered)

    @property
    def lock_asset(self) -> str:
        """The asset its lock is held in: the quote asset for a BUY, the base asset for a SELL."""
        return self.info.quote_asset if self.side == "BUY" else self.info.base_asset

    @property
    def remaining(self) -> Decimal:
        """``origQty - executedQty`` (base asset)."""
        return self.orig_qty - self.executed_qty

    def lock_needed(self) -> Decimal:
        """What a resting order must hold locked: remaining base for a SELL, ``price × remaining`` quote for a BUY."""
        return self.price * self.remaining if self.side == "BUY" else self.remaining


@dataclass
class OrderList:
    """An OCO order list (``orderList/oco``)."""

    api_key: str
    symbol: str
    order_list_id: int
    list_client_order_id: str
    transaction_time: int
    orders: list[Order]
    contingency_type: str = "OCO"
    list_status_type: str = "EXEC_STARTED"
    list_order_status: str = "EXECUTING"


@dataclass(frozen=True)
class Trade:
    """One fill of an account's order (a ``myTrades`` row)."""

    symbol: str
    id: int
    order_id: int
    order_list_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass
class Account:
    """A simulated account: balances, its orders and trades.

    Attributes:
        free / locked: per asset.
        fees_paid: commission taken per asset (kept so balances can be audited).
        orders: every order ever registered, oldest first.
        open_orders: the open ones, ``(symbol, orderId) -> Order`` in placement order (an index kept by the engine
            so per-request checks do not scan the whole history).
        newest_by_client_id: ``(symbol, clientOrderId) -> Order``: the newest order carrying that id.
        changed: assets changed since the last ``outboundAccountPosition``.
    """

    api_key: str
    uid: int
    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    fees_paid: dict[str, Decimal] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    open_orders: dict[tuple[str, int], Order] = field(default_factory=dict)
    newest_by_client_id: dict[tuple[str, str], Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    update_time: int = 0

    @classmethod
    def with_balances(cls, api_key: str, uid: int, balances: Mapping[str, Decimal]) -> Account:
        """A fresh account holding ``balances`` free."""
        return cls(api_key, uid, free={a: Decimal(v) for a, v in balances.items()})

    def free_of(self, asset: str) -> Decimal:
        """Free balance of ``asset`` (0 when never held)."""
        return self.free.get(asset, ZERO)

    def locked_of(self, asset: str) -> Decimal:
        """Locked balance of ``asset``."""
        return self.locked.get(asset, ZERO)

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked.

        Raises:
            BinanceError: -2010 insufficient balance (nothing changes).
        """
        if amount <= ZERO:
            return
        free = self.free.get(asset, ZERO)
        if free < amount:
            raise insufficient_balance()
        self.free[asset] = free - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount
        self.changed.add(asset)

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from locked back to free."""
        if amount <= ZERO:
            return
        self.locked[asset] = self.locked.get(asset, ZERO) - amount
        self.free[asset] = self.free.get(asset, ZERO) + amount
        self.changed.add(asset)

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        """Remove ``amount`` of ``asset`` from locked (paid to the market)."""
        self.locked[asset] = self.locked_of(asset) - amount
        self.changed.add(asset)

    def credit(self, asset: str, amount: Decimal) -> None:
        """Add ``amount`` of ``asset`` to free (received from the market, deposits)."""
        self.free[asset] = self.free_of(asset) + amount
        self.changed.add(asset)

    def pay_fee(self, asset: str, amount: Decimal) -> None:
        """Record a commission of ``amount`` (already withheld from what was received)."""
        self.fees_paid[asset] = self.fees_paid.get(asset, ZERO) + amount

    def take_changed(self) -> list[str]:
        """Assets changed since the last call, sorted (then forgotten)."""
        out = sorted(self.changed)
        self.changed.clear()
        return out
