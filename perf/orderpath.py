"""The server's order-path warmer: while the loop busy-polls, re-run the pure steps of the last order placed on each
venue.

Between two orders of a trading bot (tens to hundreds of ms) the market-data work evicts the order path's bytecode and
objects from the CPU caches, and the next order pays for it: each step of ``place_order`` runs many times slower after
the caches were trashed than when hot, and close to hot again when a template ran through it first (``bench
coldpath``). Latency-sensitive trading systems keep the hot path hot by exercising it with orders that are never sent; this module
does that for the steps that have no side effects, calling the very functions an order runs: the tool's argument
parsing (:func:`~tradingmcp.server.trading.orders.parse_order`), the symbol-rule and price checks
(:func:`~tradingmcp.server.exchanges.rules.validate_order`, :func:`~tradingmcp.server.trading.pretrade.notional_of`),
on Binance the exchange parameters (:func:`~tradingmcp.server.exchanges.binance.params.order_params`), their
signature and WS API frame (:meth:`~tradingmcp.server.exchanges.binance.wsapi.WsApiChannel.frame`) and the reply
parse (:func:`~tradingmcp.server.exchanges.binance.parse.order`), then the result rendering
(:func:`~tradingmcp.server.tools.shapes.order_json`, :func:`~tradingmcp.server.trading.orders.request_text`). Nothing
is sent, reserved or counted.

Its inputs are the desk's public seams: :attr:`TradingDesk.placement_observers
<tradingmcp.server.trading.desk.TradingDesk.placement_observers>` hands it each placement (the template), and
:attr:`TradingDesk.in_flight <tradingmcp.server.trading.desk.TradingDesk.in_flight>` holds it off while an order is
sent and its reply awaited: the path was just run, and a warm would only delay the exchange's reply waiting to be
read (with the simulator on the same loop it landed inside most order round trips).

:func:`tradingmcp.perf.attach_server` runs :meth:`OrderPathWarmer.warm` from the busy-poll spin (``serve
--busy-poll``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.binance import params, parse
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.models import Order, OrderRequest
from tradingmcp.server.exchanges.rules import validate_order
from tradingmcp.server.tools.shapes import order_json
from tradingmcp.server.trading.desk import Placement, TradingDesk
from tradingmcp.server.trading.orders import parse_order, request_text
from tradingmcp.server.trading.pretrade import CheckedOrder, notional_of
from tradingmcp.server.venues import Venue

WARM_CLIENT_ORDER_ID = "tmcp-warm-never-sent"
"""The client order id of the warming requests (they are never sent)."""

ExchangeSteps = Callable[[OrderRequest, Order], None]
"""The pure exchange-side steps of placing ``request`` whose reply was ``order`` (for one adapter type)."""


def order_reply(order: Order) -> dict[str, Any]:
    """The Binance ``order.place`` reply (``newOrderRespType=FULL``, the shape the adapter asks for) that
    :func:`parse.order <tradingmcp.server.exchanges.binance.parse.order>` reads back as ``order``: what the warmer
    re-parses. Decimals in plain notation; ``stopPrice`` only for a stop, ``updateTime`` only when the order changed
    after it was placed."""
    reply: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time_ms,
        "price": _wire(order.price),
        "origQty": _wire(order.orig_qty),
        "executedQty": _wire(order.executed_qty),
        "cummulativeQuoteQty": _wire(order.cumulative_quote_qty),
        "status": order.status.value,
        "type": order.type.value,
        "side": order.side.value,
    }
    if order.time_in_force is not None:
        reply["timeInForce"] = order.time_in_force.value
    if order.stop_price:
        reply["stopPrice"] = _wire(order.stop_price)
    if order.update_time_ms != order.time_ms:
        reply["updateTime"] = order.update_time_ms
    reply["workingTime"] = order.time_ms
    reply["fills"] = [
        {
            "price": _wire(f.price),
            "qty": _wire(f.qty),
            "commission": _wire(f.commission),
            "commissionAsset": f.commission_asset,
            "tradeId": f.trade_id,
        }
        for f in order.fills
    ]
    return reply


def _wire(value: Decimal) -> str:
    return f"{value:f}"


def binance_steps(adapter: BinanceAdapter) -> ExchangeSteps:
    """:meth:`BinanceAdapter.place_order <tradingmcp.server.exchanges.binance.adapter.BinanceAdapter.place_order>`'s
    pure steps: the order parameters, their signature and WS API frame (built and dropped: no request id is taken),
    and the parse of the reply (rebuilt from the order once, by :func:`order_reply`)."""
    last: list[Any] = [None, None]  # [order, its reply], rebuilt when the template's order changes

    def steps(request: OrderRequest, order: Order) -> None:
        if last[0] is not order:
            last[:] = [order, order_reply(order)]
        req = params.order_params(request, request.client_order_id or WARM_CLIENT_ORDER_ID)
        adapter.ws.frame(0, "order.place", req, True)
        parse.order(last[1])

    return steps


def exchange_steps(adapter: ExchangeAdapter) -> ExchangeSteps | None:
    """The pure exchange-side steps of a placement on ``adapter``, None for an adapter that has none to warm."""
    return binance_steps(adapter) if isinstance(adapter, BinanceAdapter) else None


class _Template:
    __slots__ = ("args", "checked", "exchange", "order", "venue")

    def __init__(
        self, venue: Venue, args: dict[str, Any], checked: CheckedOrder, order: Order, exchange: ExchangeSteps | None
    ) -> None:
        self.venue = venue
        self.args = args
        self.checked = checked
        self.order = order
        self.exchange = exchange


class OrderPathWarmer:
    """The last order placed on each venue of ``desk`` (its tool arguments, checks and result), re-run through the
    pure steps.

    Attributes:
        runs: :meth:`warm` calls that ran at least one template.
    """

    def __init__(self, desk: TradingDesk) -> None:
        self.desk = desk
        self.runs = 0
        self._templates: dict[str, _Template] = {}
        self._steps: dict[str, ExchangeSteps | None] = {}

    def remember(self, venue: Venue, args: dict[str, Any], placement: Placement) -> None:
        """The desk's placement observer: keep ``place_order``'s arguments (a copy, with a client order id of its own
        and no confirmation token), checks and result as the venue's template."""
        if placement.checked is None or placement.order is None:
            return
        if venue.name not in self._steps:
            self._steps[venue.name] = exchange_steps(venue.adapter)
        template_args = {**args, "client_order_id": WARM_CLIENT_ORDER_ID}
        template_args.pop("confirmation_token", None)
        self._templates[venue.name] = _Template(
            venue, template_args, placement.checked, placement.order, self._steps[venue.name]
        )

    def warm(self) -> None:
        """Run every template through the side-effect-free steps of a placement; nothing
        while an order is in flight (:attr:`TradingDesk.in_flight
        <tradingmcp.server.trading.desk.TradingDesk.in_flight>`)."""
        if not self._templates or self.desk.in_flight:
            return
        for t in self._templates.values():
            request = parse_order(t.args)
            validate_order(t.checked.rules, request, t.checked.mid)
            notional_of(request, t.checked.ticker)
            if t.exchange is not None:
                t.exchange(request, t.order)
            order_json(t.order)
            request_text(request)
        self.runs += 1
