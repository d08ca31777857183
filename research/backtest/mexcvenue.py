"""The bot's trading tools on a MEXC venue, answered in-process by the simulator's MEXC face over its own matching
engine (sans-I/O): what :class:`~.venue.SimVenue` is for Binance.

The live path is bot → ``place_order`` / ``replace_order`` / ``cancel_order`` → server → MEXC adapter →
``POST /api/v3/order`` / ``DELETE /api/v3/order`` on the simulator's MEXC face → MEXC's body →
:mod:`tradingmcp.server.exchanges.mexc.parse` → :mod:`tradingmcp.server.tools.shapes`; fills come back as MEXC's
protobuf private pushes (``private.orders`` + ``private.deals``), which the adapter merges into one order event each.
Here the same request parameters (:func:`tradingmcp.server.exchanges.mexc.params.order_params`) go to the face's own
order handling (:class:`tradingmcp.sim.mexc.orders.MexcTrading`: MEXC's rules and error codes, then the engine), and
the engine's events go through the face's push encoder (:class:`tradingmcp.sim.mexc.pushes.PrivatePushes`), the
adapter's push decoder (:mod:`tradingmcp.server.exchanges.mexc.parse.pushes`) and its merger
(:class:`tradingmcp.server.exchanges.mexc.merge.FillMerger`), so the bot sees what the server would send.

As the adapter does: an IOC order is read back after its placement (its answer then shows the execution), and a
replace is a cancel then a place (``replace_failed`` with the cancelled order when the place is refused).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.client.bot.actions import Action
from tradingmcp.research.backtest.venue import API_KEY, error_result
from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.mexc.errors import error_for_code
from tradingmcp.server.exchanges.mexc.merge import FillMerger
from tradingmcp.server.exchanges.mexc.params import order_params
from tradingmcp.server.exchanges.models import Order, OrderEvent, OrderRequest, OrderType, Side, TimeInForce
from tradingmcp.server.tools.shapes import order_event_json, order_json
from tradingmcp.server.trading.errors import tool_error
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.mexc.info import symbol_rules
from tradingmcp.sim.mexc.orders import MexcTrading
from tradingmcp.sim.mexc.pushes import PrivatePushes
from tradingmcp.sim.mexc.wire import MexcError, OrderIds

_NEVER = 1 << 62


def _refused(exc: MexcError, **details: Any) -> dict[str, Any]:
    """A refused request as the server's ``isError`` result."""
    err = tool_error(error_for_code(exc.code, exc.msg, status=exc.status), **details)
    return error_result(err.code, err.message, **err.details)


class MexcSimVenue:
    """The simulated MEXC account's order tools over one :class:`MatchingEngine` (its books are the MEXC venue's).

    Args:
        engine: the venue's matching engine; the account :data:`~.venue.API_KEY` must exist.
        exchange_info: the symbols it serves (MEXC's rules are derived from them as the face derives them).
        symbols: the symbols traded.
        exchange: the venue name the results carry (``mexc``).
    """

    def __init__(
        self, engine: MatchingEngine, exchange_info: ExchangeInfo, symbols: tuple[str, ...], exchange: str = "mexc"
    ) -> None:
        self.engine = engine
        self.exchange = exchange
        self.requests = 0
        ids = OrderIds()
        self.trading = MexcTrading(engine, {s: symbol_rules(exchange_info.symbol(s)) for s in symbols}, ids)
        self.pushes = PrivatePushes(ids, {})
        self.merger = FillMerger()

    def execute(self, action: Action) -> dict[str, Any]:
        """Run one bot action; returns its tool result (``{"isError", "structuredContent"}``): LIMIT_MAKER, or LIMIT
        IOC (``IMMEDIATE_OR_CANCEL``) for an action marked ``taker``."""
        self.requests += 1
        if action.kind == "cancel":
            try:
                order = self._cancel(action.symbol, action.client_order_id)
            except MexcError as exc:
                return _refused(exc)
            return self._ok({"order": order_json(order)})
        assert action.price is not None and action.qty is not None
        if action.kind == "place":
            try:
                order = self._place(action)
            except MexcError as exc:
                return _refused(exc, client_order_id=action.client_order_id)
            return self._ok({"order": order_json(order), "duplicate": False, "dry_run": False})
        try:
            cancelled = self._cancel(action.symbol, str(action.old_client_order_id))
        except MexcError as exc:
            return _refused(exc, client_order_id=action.client_order_id)
        try:
            placed = self._place(action)
        except MexcError:
            return error_result(
                "replace_failed",
                "replace: cancel SUCCESS, new order FAILURE",
                cancel_result="SUCCESS",
                new_order_result="FAILURE",
                cancelled=order_json(cancelled),
            )
        return self._ok(
            {
                "dry_run": False,
                "cancelled": order_json(cancelled),
                "order": order_json(placed),
                "cancel_result": "SUCCESS",
                "new_order_result": "SUCCESS",
            }
        )

    def _ok(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"isError": False, "structuredContent": {"exchange": self.exchange, "mode": "simulator", **body}}

    def _place(self, action: Action) -> Order:
        taker = bool(getattr(action, "taker", False))
        request = OrderRequest(
            symbol=action.symbol,
            side=Side(action.side),
            type=OrderType.LIMIT if taker else OrderType.LIMIT_MAKER,
            quantity=action.qty,
            price=action.price,
            time_in_force=TimeInForce.IOC if taker else None,
            client_order_id=action.client_order_id,
        )
        params = {k: str(v) for k, v in order_params(request, action.client_order_id)}
        body = self.trading.place(API_KEY, params)
        order = parse.order({"clientOrderId": action.client_order_id, **body})
        self.merger.remember(order)
        if taker:  # it ended at once: read back, as the adapter does, so the answer shows the execution
            order = parse.order(self.trading.get(API_KEY, {"symbol": action.symbol, "orderId": str(order.order_id)}))
        return order

    def _cancel(self, symbol: str, client_order_id: str) -> Order:
        return parse.order(self.trading.cancel(API_KEY, {"symbol": symbol, "origClientOrderId": client_order_id}))

    def order_events(self) -> list[dict[str, Any]]:
        """The account's order events since the last call, as ``orders:<exchange>`` push messages, oldest first: the
        engine's events as MEXC's private pushes, decoded and merged as the adapter does (balance pushes dropped)."""
        merged: list[OrderEvent] = []
        for key, event in self.engine.drain_events():
            now_ms = int(event.get("E") or 0)
            for _topic, frame in self.pushes.on_event(key, event):
                push = parse.decode_push(frame)
                if push.kind == "privateOrders":
                    merged += self.merger.on_order(parse.private_order(push), now_ms)
                elif push.kind == "privateDeals":
                    merged += self.merger.on_deal(parse.private_deal(push), now_ms, push.body.clientOrderId)
        merged += self.merger.expire(_NEVER)  # both halves of a fill come in one drain: nothing more will pair up
        return [order_event_json(ev) for ev in merged]

    def balances(self) -> dict[str, Decimal]:
        """Free + locked balance per asset of the simulated account."""
        acct = self.engine.account_of(API_KEY)
        assets = sorted(set(acct.free) | set(acct.locked))
        return {a: acct.free.get(a, Decimal(0)) + acct.locked.get(a, Decimal(0)) for a in assets}
