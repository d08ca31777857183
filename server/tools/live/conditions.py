"""The conditions ``wait_for_event`` waits for, as pure state machines fed JSON data (sans-I/O).

Market conditions (levels and values in the quote asset, comparisons inclusive):

* ``price_above`` / ``price_below``: the last trade price is ≥ / ≤ ``level`` (a trade from ``trades:`` or the current
  price at the start);
* ``spread_below``: best ask − best bid ≤ ``level`` (``book_ticker:``).

Order conditions (one order by ``order_id`` or ``client_order_id``):

* ``order_filled``: its status reaches FILLED (met); any other final status (CANCELED, EXPIRED, REJECTED...) ends the
  wait unmet, since it can never fill;
* ``order_done``: it reaches any final status (met).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MARKET_CONDITIONS = ("price_above", "price_below", "spread_below")
ORDER_CONDITIONS = ("order_filled", "order_done")
CONDITIONS = MARKET_CONDITIONS + ORDER_CONDITIONS
FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "EXPIRED_IN_MATCH"})


@dataclass
class Outcome:
    """How a wait ended: ``met``; ``value`` (the price, spread or order status that decided); ``event`` (the trade,
    book ticker, order event or order that decided, as JSON); ``source`` (``stream`` or ``current``)."""

    met: bool
    value: str | None
    event: dict[str, Any] | None
    source: str


class Condition:
    """One condition; feed it data, it answers an :class:`Outcome` once decided (None while still waiting).

    Args:
        name: one of :data:`CONDITIONS`.
        level: the price or spread level (market conditions).
        order_id / client_order_id: the order (order conditions; either one).
    """

    def __init__(
        self,
        name: str,
        level: Decimal | None = None,
        order_id: int | str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        if name not in CONDITIONS:
            raise ValueError(f"unknown condition {name!r}")
        self.name = name
        self.level = level
        self.order_id = None if order_id is None else str(order_id)
        self.client_order_id = client_order_id
        self.last_value: str | None = None
        self.updates = 0

    @property
    def stream_kind(self) -> str | None:
        """The market stream kind it needs (``trades``/``book_ticker``), None for order conditions."""
        if self.name in ("price_above", "price_below"):
            return "trades"
        if self.name == "spread_below":
            return "book_ticker"
        return None

    def on_price(self, price: Decimal, event: dict[str, Any] | None, source: str = "stream") -> Outcome | None:
        """A trade price (``price_above``/``price_below``)."""
        assert self.level is not None
        self.updates += 1
        self.last_value = str(price)
        above = self.name == "price_above"
        if (above and price >= self.level) or (not above and price <= self.level):
            return Outcome(True, self.last_value, event, source)
        return None

    def on_book_ticker(
        self, bid: Decimal, ask: Decimal, event: dict[str, Any] | None, source: str = "stream"
    ) -> Outcome | None:
        """Best bid/ask (``spread_below``)."""
        assert self.level is not None
        self.updates += 1
        spread = ask - bid
        self.last_value = format(spread.normalize(), "f")
        if spread <= self.level:
            return Outcome(True, self.last_value, event, source)
        return None

    def matches(self, order: dict[str, Any]) -> bool:
        """Whether ``order`` (:func:`~tradingmcp.server.tools.shapes.order_json`) is the awaited order."""
        if self.order_id is not None and str(order.get("order_id")) == self.order_id:
            return True
        return self.client_order_id is not None and order.get("client_order_id") == self.client_order_id

    def on_order(self, order: dict[str, Any], event: dict[str, Any] | None, source: str = "stream") -> Outcome | None:
        """A state of the awaited order (order conditions); ``event`` is the order event when from the stream."""
        self.updates += 1
        status = str(order["status"])
        self.last_value = status
        if status not in FINAL_STATUSES:
            return None
        decided = event if event is not None else {"order": order}
        if self.name == "order_done":
            return Outcome(True, status, decided, source)
        return Outcome(status == "FILLED", status, decided, source)
