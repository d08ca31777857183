"""Merge MEXC's separate private pushes into exchange-neutral order events (sans-I/O).

MEXC sends one fill of one of our orders as TWO pushes on two topics, in no guaranteed order:
``spot@private.orders.v3.api.pb`` (the order's new state: status 2 filled / 3 partially filled) and
``spot@private.deals.v3.api.pb`` (the fill: price, quantity, fee, trade id). Binance's ``executionReport`` carries
both at once, and so does the neutral ``OrderEvent`` (``last_fill``). ``FillMerger`` pairs them per order id,
first-in first-out, and releases:

* a TRADE order event with its deal as ``last_fill`` as soon as both halves are in;
* a TRADE order event alone (``last_fill`` None) when its deal did not come within ``window_ms``;
* a deal alone, after ``window_ms``, as an OrderEvent built from the last known state of its order advanced by the
  fill (``executed_qty``/``cumulative_quote_qty`` increased; ``orig_qty`` 0 when the order was never seen);
* NEW / CANCELED events at once, unless an earlier event of the same order is still waiting (order is kept).

The caller passes the time (``now_ms``) and calls ``expire`` at ``next_deadline_ms``.
API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-user-data-streams
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from tradingmcp.server.exchanges.models import (
    ExecutionType,
    Fill,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
)

_ZERO = Decimal(0)


@dataclass(slots=True)
class _Waiting:
    event: OrderEvent
    deadline_ms: int
    fill: Fill | None = None

    @property
    def ready(self) -> bool:
        return self.event.execution_type is not ExecutionType.TRADE or self.fill is not None


@dataclass(frozen=True, slots=True)
class _Deal:
    fill: Fill
    client_order_id: str
    deadline_ms: int


class FillMerger:
    """Pairs order pushes with deal pushes into ``OrderEvent(last_fill=...)``.

    Args:
        window_ms: how long one half waits for the other, in ms.

    Attributes:
        merged: events released with both halves; ``unpaired_orders``/``unpaired_deals``: halves released alone.
    """

    def __init__(self, window_ms: int = 500) -> None:
        self.window_ms = window_ms
        self.merged = 0
        self.unpaired_orders = 0
        self.unpaired_deals = 0
        self._orders: dict[str, Order] = {}
        self._events: dict[str, deque[_Waiting]] = {}
        self._deals: dict[str, deque[_Deal]] = {}
        self._early_fills: dict[str, int] = {}

    def __repr__(self) -> str:
        waiting = sum(len(q) for q in self._events.values()) + sum(len(q) for q in self._deals.values())
        return f"FillMerger(waiting={waiting}, merged={self.merged})"

    def remember(self, order: Order) -> None:
        """Record an order's state learnt elsewhere (a REST placement) to build events for lone deals."""
        self._orders[str(order.order_id)] = order

    @property
    def next_deadline_ms(self) -> int | None:
        """The earliest time ``expire`` has something to release, None when nothing waits."""
        times = [q[0].deadline_ms for q in self._events.values() if q]
        times += [q[0].deadline_ms for q in self._deals.values() if q]
        return min(times) if times else None

    def on_order(self, event: OrderEvent, now_ms: int) -> list[OrderEvent]:
        """An order push arrived; returns the events now releasable, in order."""
        oid = str(event.order.order_id)
        self._orders[oid] = event.order
        queue = self._events.setdefault(oid, deque())
        waiting = _Waiting(event, now_ms + self.window_ms)
        late = False
        if event.execution_type is ExecutionType.TRADE:
            deals = self._deals.get(oid)
            if deals:
                waiting.fill = deals.popleft().fill
            elif self._early_fills.get(oid):
                self._early_fills[oid] -= 1  # its deal already went out alone: do not wait for it
                late = True
        queue.append(waiting)
        return self._release(oid, now_ms, force_head=late and len(queue) == 1)

    def on_deal(self, fill: Fill, now_ms: int, client_order_id: str = "") -> list[OrderEvent]:
        """A deal push arrived (``client_order_id`` from the push); returns the events now releasable."""
        oid = str(fill.order_id)
        for waiting in self._events.get(oid, ()):
            if waiting.event.execution_type is ExecutionType.TRADE and waiting.fill is None:
                waiting.fill = fill
                return self._release(oid, now_ms)
        self._deals.setdefault(oid, deque()).append(_Deal(fill, client_order_id, now_ms + self.window_ms))
        return []

    def expire(self, now_ms: int) -> list[OrderEvent]:
        """Release every half that waited ``window_ms`` or longer."""
        out: list[OrderEvent] = []
        for oid in list(self._events):
            queue = self._events[oid]
            while queue and queue[0].deadline_ms <= now_ms:
                out += self._release(oid, now_ms, force_head=True)
        for oid in list(self._deals):
            deals = self._deals[oid]
            while deals and deals[0].deadline_ms <= now_ms:
                out.append(self._lone_deal(deals.popleft()))
            if not deals:
                del self._deals[oid]
        return out

    def _release(self, oid: str, now_ms: int, force_head: bool = False) -> list[OrderEvent]:
        queue = self._events.get(oid)
        out: list[OrderEvent] = []
        while queue and (queue[0].ready or force_head):
            head = queue.popleft()
            force_head = False
            if head.event.execution_type is ExecutionType.TRADE:
                if head.fill is not None:
                    self.merged += 1
                else:
                    self.unpaired_orders += 1
            out.append(dataclasses.replace(head.event, last_fill=head.fill) if head.fill else head.event)
        if queue is not None and not queue:
            del self._events[oid]
            if out and not out[-1].order.status.is_open:
                self._forget(oid)
        return out

    def _forget(self, oid: str) -> None:
        if oid not in self._deals:
            self._orders.pop(oid, None)
            self._early_fills.pop(oid, None)

    def _lone_deal(self, deal: _Deal) -> OrderEvent:
        """An OrderEvent for a deal whose order push never came (state advanced from the last one known)."""
        fill = deal.fill
        oid = str(fill.order_id)
        self.unpaired_deals += 1
        self._early_fills[oid] = self._early_fills.get(oid, 0) + 1
        known = self._orders.get(oid)
        if known is None:
            side = Side.BUY if fill.is_buyer else Side.SELL
            known = Order(oid, deal.client_order_id, fill.symbol, side, OrderType.LIMIT, None, fill.price, _ZERO,
                          _ZERO, _ZERO, _ZERO, OrderStatus.NEW, fill.time_ms, fill.time_ms)  # fmt: skip
        executed = known.executed_qty + fill.qty
        filled = known.orig_qty > 0 and executed >= known.orig_qty
        order = dataclasses.replace(
            known,
            executed_qty=executed,
            cumulative_quote_qty=known.cumulative_quote_qty + fill.quote_qty,
            status=OrderStatus.FILLED if filled else OrderStatus.PARTIALLY_FILLED,
            update_time_ms=fill.time_ms,
        )
        self._orders[oid] = order
        return OrderEvent(order, ExecutionType.TRADE, fill.time_ms, last_fill=fill)
