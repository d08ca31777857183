"""The bot's own orders, tracked from tool results and pushed order events (sans-I/O).

Every order gets a client order id the bot makes itself, ``<prefix><run>x<n>`` (letters and digits only, at most
:data:`MAX_CLIENT_ID_LENGTH` = 32 characters: MEXC's limit, Binance allows 36; the prefix is ≤ 8 characters, the run id
≤ 8 hex digits): a retry of the same action after a reconnect reuses it, so the server returns the existing order
instead of placing a second one. Pushed order events (``orders:<exchange>``,
:func:`tradingmcp.server.tools.shapes.order_event_json` shape) are matched by ``client_order_id`` (the original id,
also on cancels) or by ``order_id``.

Lifecycle of a :class:`TrackedOrder`: ``pending`` (sent, no answer yet) → ``open`` (NEW / PARTIALLY_FILLED) → ``done``
(FILLED, CANCELED, EXPIRED, REJECTED...). ``unknown`` marks a send whose answer was lost with the connection; it is
resolved by the reconcile after the reconnect.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

State = Literal["pending", "open", "done", "unknown"]
MAX_CLIENT_ID_LENGTH = 32
"""Longest client order id the bot makes (``newClientOrderId``: MEXC takes up to 32 characters, Binance 36)."""
DONE_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


@dataclass(slots=True)
class TrackedOrder:
    """One of the bot's orders. ``price``/``qty`` Decimal (quote per base / base); ``executed_qty`` base;
    ``exchange``: its venue (None: the bot's ``[connection] exchange``)."""

    client_order_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    state: State = "pending"
    order_id: int | str | None = None
    status: str = "PENDING"
    executed_qty: Decimal = Decimal(0)
    replaces: str | None = None
    created_ms: float = 0.0
    exchange: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed_qty

    @property
    def live(self) -> bool:
        """Could still trade: pending, open, or of unknown outcome."""
        return self.state != "done"


@dataclass
class OrderTracker:
    """Orders by client id; counters for the report."""

    prefix: str = "bot"
    run_id: str = field(default_factory=lambda: format(int(time.time() * 1000) % 36**6, "x"))
    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    by_order_id: dict[tuple[str, Any], str] = field(default_factory=dict)
    placed: int = 0
    rejected: int = 0
    duplicates: int = 0
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _live: dict[str, TrackedOrder] = field(default_factory=dict)
    """The orders that may still trade, by client id (a handful, while ``orders`` keeps every order of the run): the
    per-tick exposure check reads only these."""

    def new_client_id(self) -> str:
        """A fresh client order id ``<prefix><run>x<n>`` (alphanumeric, ≤ :data:`MAX_CLIENT_ID_LENGTH` characters).

        Raises:
            ValueError: the id would be too long for the exchanges (a prefix longer than the config allows).
        """
        cid = f"{self.prefix}{self.run_id}x{next(self._seq)}"
        if len(cid) > MAX_CLIENT_ID_LENGTH:
            raise ValueError(f"client order id {cid!r} is longer than {MAX_CLIENT_ID_LENGTH} characters")
        return cid

    def owns(self, client_order_id: str) -> bool:
        """True for ids made by this run of the bot."""
        return client_order_id.startswith(f"{self.prefix}{self.run_id}x")

    def add(self, order: TrackedOrder) -> TrackedOrder:
        self.orders[order.client_order_id] = order
        if order.live:
            self._live[order.client_order_id] = order
        else:
            self._live.pop(order.client_order_id, None)
        return order

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self.orders.get(client_order_id)

    def find(self, order: dict[str, Any]) -> TrackedOrder | None:
        """The tracked order an ``order_json`` dict is about (by client id, else by order id)."""
        tracked = self.orders.get(str(order.get("client_order_id") or ""))
        if tracked is None:
            cid = self.by_order_id.get((order.get("symbol", ""), order.get("order_id")))
            tracked = self.orders.get(cid) if cid else None
        return tracked

    def apply(self, order: dict[str, Any]) -> TrackedOrder | None:
        """Update a tracked order from an ``order_json`` dict (tool result or event); None when not ours."""
        tracked = self.find(order)
        if tracked is None:
            return None
        if order.get("order_id") is not None:
            tracked.order_id = order["order_id"]
            self.by_order_id[(tracked.symbol, tracked.order_id)] = tracked.client_order_id
        status = str(order.get("status", tracked.status))
        executed = Decimal(order.get("executed_qty") or 0)
        if tracked.state == "done" and status not in DONE_STATUSES:
            return tracked  # a late NEW after the final state: keep the final state
        tracked.executed_qty = max(tracked.executed_qty, executed)
        tracked.status = status
        if order.get("price") and Decimal(order["price"]) > 0:
            tracked.price = Decimal(order["price"])
        if order.get("orig_qty") and Decimal(order["orig_qty"]) > 0:
            tracked.qty = Decimal(order["orig_qty"])
        if status in DONE_STATUSES:
            tracked.state = "done"
            self._live.pop(tracked.client_order_id, None)
        else:
            tracked.state = "open"
        return tracked

    def mark_done(self, client_order_id: str, status: str) -> None:
        tracked = self.orders.get(client_order_id)
        if tracked is not None:
            tracked.state, tracked.status = "done", status
            self._live.pop(client_order_id, None)

    def live_orders(self, symbol: str | None = None) -> list[TrackedOrder]:
        """Orders that may still trade (optionally of one symbol)."""
        return [o for o in self._live.values() if o.live and (symbol is None or o.symbol == symbol)]

    def open_exposure(self, symbol: str, side: str) -> Decimal:
        """Remaining base quantity of live orders on one side of a symbol."""
        total = Decimal(0)
        for o in self._live.values():
            if o.symbol == symbol and o.side == side and o.state != "done":
                total += o.qty - o.executed_qty
        return total
