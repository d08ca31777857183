"""The account's balances and open orders, kept current from a snapshot plus the account events since (sans-I/O).

Seeding: :meth:`AccountState.begin_seed` before requesting the snapshot (``GET /api/v3/account`` and
``GET /api/v3/openOrders``), :meth:`AccountState.finish_seed` with what came back. Events that arrived while the
snapshot was in flight are replayed on top of it in arrival order: each event carries an absolute state (an order's
new status, an asset's new free/locked), so the last one wins whether or not the snapshot already contained it.

A balance *delta* (Binance ``balanceUpdate``: deposit, withdrawal, transfer) carries no absolute balance: the state
asks for a re-seed instead of guessing (:attr:`AccountState.needs_seed`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tradingmcp.server.exchanges.models import Balance, BalanceEvent, Order, OrderEvent, UserEvent


class AccountState:
    """Balances by asset and open orders by order id of one account.

    Attributes:
        balances: ``{asset: Balance}`` (free/locked in asset units), assets with a zero total omitted.
        open_orders: ``{str(order_id): Order}`` of the orders still open (NEW, PARTIALLY_FILLED...).
        seeded: a snapshot has been applied (before that the state only holds what events said).
        needs_seed: the state may be wrong (never seeded, a balance delta, a user stream reconnect): re-seed.
        version: +1 on every change (readers compare it to know whether anything moved).
        updated_ms: event time (ms) of the last applied event, 0 before any.
    """

    def __init__(self) -> None:
        self.balances: dict[str, Balance] = {}
        self.open_orders: dict[str, Order] = {}
        self.seeded = False
        self.needs_seed = True
        self.version = 0
        self.updated_ms = 0
        self._buffer: list[UserEvent] | None = None

    @property
    def seeding(self) -> bool:
        """A snapshot request is in flight (between :meth:`begin_seed` and :meth:`finish_seed`/:meth:`abort_seed`)."""
        return self._buffer is not None

    def begin_seed(self) -> None:
        """Call just before requesting the snapshot: events from now on are replayed on top of it."""
        self._buffer = []
        self.needs_seed = False

    def finish_seed(self, balances: Iterable[Balance], orders: Iterable[Order]) -> None:
        """Replace the state with the snapshot, then replay the events that arrived since :meth:`begin_seed`."""
        buffered = self._buffer or []
        self._buffer = None
        self.balances = {b.asset: b for b in balances if b.total > 0}
        self.open_orders = {str(o.order_id): o for o in orders if o.status.is_open}
        self.seeded = True
        for ev in buffered:
            self._apply(ev)
        self.version += 1

    def abort_seed(self) -> None:
        """The snapshot request failed: keep the event-built state and ask for a re-seed."""
        self._buffer = None
        self.needs_seed = True

    def apply(self, ev: UserEvent) -> bool:
        """Apply one account event; True when the balances or open orders changed."""
        if self._buffer is not None:
            self._buffer.append(ev)
        changed = self._apply(ev)
        if changed:
            self.version += 1
        return changed

    def _apply(self, ev: UserEvent) -> bool:
        if isinstance(ev, OrderEvent):
            order = ev.order
            key = str(order.order_id)
            self.updated_ms = max(self.updated_ms, ev.event_time_ms)
            if order.status.is_open:
                self.open_orders[key] = order
            elif self.open_orders.pop(key, None) is None:
                return False  # a final state of an order we never saw open (e.g. an immediate MARKET fill)
            return True
        if isinstance(ev, BalanceEvent):
            self.updated_ms = max(self.updated_ms, ev.event_time_ms)
            if ev.delta_asset is not None and not ev.balances:
                self.needs_seed = True
                return False
            for b in ev.balances:
                if b.total > 0:
                    self.balances[b.asset] = b
                else:
                    self.balances.pop(b.asset, None)
            return bool(ev.balances)
        return False  # StreamStatus: the owner decides whether to re-seed
