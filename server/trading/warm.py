"""Order-path warming: while the loop busy-polls, re-run the pure steps of the last order placed on each venue.

Between two orders of a trading bot (tens to hundreds of ms) the market-data work evicts the order path's bytecode and
objects from the CPU caches, and the next order pays for it: the steps of ``place_order`` measured 2–3 µs each when
hot and 30–60 µs after the caches were trashed (``parse_order``: 2.4 → 44 µs; re-running it on a template first:
5 µs). Latency-sensitive trading systems keep the hot path hot by exercising it with orders that are never sent; this
module does that for the steps that have no side effects: the tool's argument parsing, the symbol-rule and price
checks, the exchange parameters, signature and WS API frame (``adapter.warm_order``), the parse of the last reply and
the result rendering. Nothing is sent, reserved or counted.

Run :meth:`OrderPathWarmer.warm` from :class:`tradingmcp.transport.busypoll.BusyPoll` (``serve --busy-poll``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradingmcp.server.exchanges.models import Order
from tradingmcp.server.exchanges.rules import validate_order
from tradingmcp.server.render import order_json
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
    """

    def __init__(self) -> None:
        self._templates: dict[str, _Template] = {}
        self.runs = 0

    def remember(self, venue: Venue, args: dict[str, Any], checked: CheckedOrder, order: Order) -> None:
        """Keep ``place_order``'s arguments (a copy, with a client order id of its own), checks and result as the
        venue's template."""
        template_args = {**args, "client_order_id": WARM_CLIENT_ORDER_ID}
        template_args.pop("confirmation_token", None)
        self._templates[venue.name] = _Template(venue, template_args, checked, order)

    def warm(self) -> None:
        """Run every template through the side-effect-free steps of a placement (a few tens of µs when cold)."""
        if not self._templates:
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
