"""How many orders a venue has open, kept from the account's order events (sans-I/O), for ``max_open_orders``.

Seeded once from ``GET /api/v3/openOrders`` (all symbols, weight 80) and then kept current by every order the
server places or cancels and every ``OrderEvent`` of the venue's user data stream, so the check costs no request.
A lost close event can only over-count (the safe side); :meth:`OpenOrderTracker.needs_seed` asks for a fresh seed
whenever the count reaches the limit, so a stale count never refuses an order for long.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradingmcp.server.exchanges.models import Order, OrderEvent, UserEvent


class OpenOrderTracker:
    """Open orders of one venue by ``(symbol, order_id)``; :attr:`seeded` False until :meth:`seed` ran."""

    def __init__(self) -> None:
        self._open: set[tuple[str, int | str]] = set()
        self._closed: set[tuple[str, int | str]] = set()
        self.seeded = False
        self.stale = False

    @property
    def count(self) -> int:
        return len(self._open)

    def needs_seed(self, limit: int) -> bool:
        """True before the first seed, and when the count reached ``limit`` (re-check before refusing)."""
        return not self.seeded or self.stale or self.count >= limit

    def seed(self, orders: Iterable[Order]) -> None:
        """Replace the set with the exchange's open orders (events seen meanwhile for closed orders still apply)."""
        self._open = {(o.symbol, o.order_id) for o in orders if o.status.is_open} - self._closed
        self._closed.clear()
        self.seeded = True
        self.stale = False

    def on_order(self, order: Order) -> None:
        """Apply an order's current state (placement result, cancel result, event)."""
        key = (order.symbol, order.order_id)
        if order.status.is_open:
            self._open.add(key)
        else:
            self._open.discard(key)
            if len(self._closed) < 10_000:
                self._closed.add(key)

    def on_event(self, event: UserEvent) -> None:
        """A :class:`UserEventBus` listener: order events update the set; other events are ignored."""
        if isinstance(event, OrderEvent):
            self.on_order(event.order)
