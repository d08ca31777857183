"""Order-path warming: while the loop busy-polls, re-run the pure steps of the last order placed on each venue.

Between two orders of a trading bot (tens to hundreds of ms) the market-data work evicts the order path's bytecode and
objects from the CPU caches, and the next order pays for it: the steps of ``place_order`` measured 2–3 µs each when
hot and 30–60 µs after the caches were trashed (``parse_order``: 2.4 → 44 µs; re-running it on a template first:
5 µs). Latency-sensitive trading systems keep the hot path hot by exercising it with orders that are never sent; this
module does that for the steps that have no side effects: the tool's argument parsing, the symbol-rule and price
checks, the exchange parameters, signature and WS API frame (``adapter.warm_order``), the parse of the last reply and
the result rendering. Nothing is sent, reserved or counted.

No warming while an order is in flight (:meth:`OrderPathWarmer.sending`, held by
:meth:`~tradingmcp.server.trading.desk.TradingDesk.send_reserved`): the path was just run, and a warm (about 50 µs
cold) would only delay the exchange's reply waiting to be read. With the simulator on the same loop it did, in most
order round trips: 50 µs of warming inside the median one.

Run :meth:`OrderPathWarmer.warm` from :class:`tradingmcp.transport.busypoll.BusyPoll` (``serve --busy-poll``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tradingmcp.server.exchanges.models import Order
from tradingmcp.server.exchanges.rules import validate_order
from tradingmcp.server.tools.shapes import order_json
from tradingmcp.server.trading.orders import parse_order, request_text
from tradingmcp.server.trading.pretrade import CheckedOrder, notional_of
from tradingmcp.server.venues import Venue

WARM_CLIENT_ORDER_ID = "tmcp-warm-never-sent"
"""The client order id of the warming requests (they are never sent)."""


@dataclass(frozen=True, slots=True)
class _Template:
    venue: Venue
    args: dict[str, Any]
    checked: CheckedOrder
    order: Order


class OrderPathWarmer:
    """The last order placed on each venue (its tool arguments, checks and result), re-run through the pure steps.

    Attributes:
        runs: :meth:`warm` calls that ran at least one template.
        in_flight: order sends under way (:meth:`sending`); :meth:`warm` does nothing while it is above 0.
    """

    def __init__(self) -> None:
        self._templates: dict[str, _Template] = {}
        self.runs = 0
        self.in_flight = 0

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold warming off while an order is sent and its reply awaited."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def remember(self, venue: Venue, args: dict[str, Any], checked: CheckedOrder, order: Order) -> None:
        """Keep ``place_order``'s arguments (a copy, with a client order id of its own), checks and result as the
        venue's template."""
        template_args = {**args, "client_order_id": WARM_CLIENT_ORDER_ID}
        template_args.pop("confirmation_token", None)
        self._templates[venue.name] = _Template(venue, template_args, checked, order)

    def warm(self) -> None:
        """Run every template through the side-effect-free steps of a placement (a few tens of µs when cold); nothing
        while an order is in flight."""
        if not self._templates or self.in_flight:
            return
        for t in self._templates.values():
            request = parse_order(t.args)
            validate_order(t.checked.rules, request, t.checked.mid)
            notional_of(request, t.checked.ticker)
            warm_adapter = getattr(t.venue.adapter, "warm_order", None)
            if warm_adapter is not None:
                warm_adapter(request)
            order_json(t.order)
            request_text(request)
        self.runs += 1
