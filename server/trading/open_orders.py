"""The venue's open orders as the server last saw them, kept from the account's order events (sans-I/O).

Used for ``max_open_orders`` (the count), the exposure caps (the quote open BUY orders commit) and by ``replace_order`` (the order to replace, so it needs no
``GET /api/v3/order`` round trip).

Seeded once from ``GET /api/v3/openOrders`` (all symbols, weight 80) and then kept current by every order the
server places, replaces or cancels (the exchange's reply, applied as soon as it returns) and every ``OrderEvent`` of
the venue's user data stream (Binance ``executionReport``), so neither use costs a request. The two sources race
(a reply and the stream's event for the same order arrive in either order), so an update never moves an order
backwards: a closed order (FILLED, CANCELED, EXPIRED, REJECTED...) never reopens, and an open state with less
executed quantity than the one held is ignored.

A lost close event can only over-count (the safe side) or leave an order looking open that is not: the count asks
for a fresh seed (:meth:`OpenOrderTracker.needs_seed`) whenever it reaches the limit, and ``replace_order`` on such
an order fails on the exchange without placing anything (``STOP_ON_FAILURE``) and then asks the exchange.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradingmcp.server.exchanges.models import Order, OrderEvent, UserEvent

MAX_CLOSED = 10_000
"""How many closed orders are remembered (so that a late open state of one is ignored); oldest forgotten first."""

OrderKey = tuple[str, int | str]
"""``(SYMBOL, exchange order id)``."""


class OpenOrderTracker:
    """Open orders of one venue by ``(symbol, order_id)``, findable by client order id; :attr:`seeded` False until
    :meth:`seed` ran; :attr:`stale` when the count may be wrong (after a kill switch cancelled everything)."""

    def __init__(self) -> None:
        self._open: dict[OrderKey, Order] = {}
        self._by_cid: dict[tuple[str, str], OrderKey] = {}
        self._closed: dict[OrderKey, None] = {}
        self.seeded = False
        self.stale = False

    @property
    def count(self) -> int:
        return len(self._open)

    def orders(self) -> list[Order]:
        """The orders held open, as last seen."""
        return list(self._open.values())

    def needs_seed(self, limit: int) -> bool:
        """True before the first seed, and when the count reached ``limit`` (re-check before refusing)."""
        return not self.seeded or self.stale or len(self._open) >= limit

    def seed(self, orders: Iterable[Order]) -> None:
        """Replace the set with the exchange's open orders (orders seen closed, even while the request was in flight,
        stay closed)."""
        self._open.clear()
        self._by_cid.clear()
        for o in orders:
            key = (o.symbol, o.order_id)
            if o.status.is_open and key not in self._closed:
                self._put(key, o)
        self.seeded = True
        self.stale = False

    def find(self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None) -> Order | None:
        """The open order of ``symbol`` with this exchange id (or, when ``order_id`` is None, this client order id)
        as last seen; None when the tracker does not hold it open (ask the exchange)."""
        if order_id is not None:
            order = self._open.get((symbol, order_id))
            if order is None and isinstance(order_id, int):  # MEXC ids are strings; an int given for one
                order = self._open.get((symbol, str(order_id)))
            if order is not None and client_order_id is not None and order.client_order_id != client_order_id:
                return None
            return order
        if client_order_id is None:
            return None
        key = self._by_cid.get((symbol, client_order_id))
        return self._open.get(key) if key is not None else None

    def on_order(self, order: Order) -> None:
        """Apply an order's current state (placement result, cancel result, event); never moves an order back."""
        key = (order.symbol, order.order_id)
        if key in self._closed:
            return
        if order.status.is_open:
            held = self._open.get(key)
            if held is not None and order.executed_qty < held.executed_qty:
                return
            self._put(key, order)
            return
        held = self._open.pop(key, None)
        if held is not None and self._by_cid.get(cid := (held.symbol, held.client_order_id)) == key:
            del self._by_cid[cid]
        self._closed[key] = None
        if len(self._closed) > MAX_CLOSED:
            del self._closed[next(iter(self._closed))]

    def on_event(self, event: UserEvent) -> None:
        """A :class:`UserEventBus` listener: order events update the set; other events are ignored."""
        if isinstance(event, OrderEvent):
            self.on_order(event.order)

    def _put(self, key: OrderKey, order: Order) -> None:
        self._open[key] = order
        self._by_cid[(order.symbol, order.client_order_id)] = key
