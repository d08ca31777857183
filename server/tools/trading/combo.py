"""Order tools beyond one plain order (scope ``trade``): ``place_oco`` (one-cancels-the-other) and
``replace_order`` (atomic cancel-then-place, Binance ``POST /api/v3/order/cancelReplace``). Both run the pre-trade
checks of :mod:`~tradingmcp.server.trading.pretrade` and the confirmation step like ``place_order`` (the price band on
every price they could fill at: both OCO legs' limit prices, the replacement's price), after their decimal
arguments passed :func:`~tradingmcp.server.decimals.decimal_arg` (else JSON-RPC ``-32602`` naming the argument, nothing
asked or sent). An OCO list's intent is journaled before it is sent, under its list client order id
(:mod:`~tradingmcp.server.trading.journal`), so a list whose reply a crash lost is reconciled at the next start and a
retry of its id is answered as a duplicate.

``replace_order`` takes the order to replace from the venue's
:class:`~tradingmcp.server.trading.open_orders.OpenOrderTracker` (kept by the server's own replies and the user data
stream) when it holds it open, and asks the exchange (``GET /api/v3/order``, weight 4) only when it does not. A
tracked order that in fact closed a moment ago is safe: cancel-replace runs with ``STOP_ON_FAILURE``, so the exchange
refuses the cancel and places nothing; the tool then asks the exchange and answers ``order_not_open`` like the
untracked path does.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from tradingmcp.server.decimals import InvalidDecimal, decimal_arg
from tradingmcp.server.exchanges.errors import ExchangeError, ExchangeUnavailable
from tradingmcp.server.exchanges.models import (
    CancelReplaceResult,
    Order,
    OrderList,
    OrderRequest,
    OrderType,
    TimeInForce,
)
from tradingmcp.server.exchanges.rules import OrderRuleError
from tradingmcp.server.exchanges.rules import check_order as check_rules
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError, ToolResult
from tradingmcp.server.tools.shapes import order_json
from tradingmcp.server.tools.trading.schemas import (
    CLIENT_ID_SCHEMA,
    DECIMAL_SCHEMA,
    DRY_RUN_SCHEMA,
    ORDER_FIELDS,
    ORDER_ID_SCHEMA,
    SYMBOL_SCHEMA,
    TOKEN_SCHEMA,
)
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.errors import filter_failure, tool_error
from tradingmcp.server.trading.idempotency import Placed, check_client_order_id, new_client_order_id
from tradingmcp.server.trading.journal import PLACED, Intent
from tradingmcp.server.trading.orders import (
    fingerprint,
    order_list_text,
    order_ref,
    order_text,
    parse_order,
    replacement_request,
    request_json,
    request_text,
)
from tradingmcp.server.trading.pretrade import mid_price
from tradingmcp.server.venues import Venue, Venues


class ComboTools:
    """``place_oco`` and ``replace_order`` of one server."""

    def __init__(self, venues: Venues, desk: TradingDesk) -> None:
        self.venues = venues
        self.desk = desk

    async def place_oco(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        try:
            base = parse_order({**args, "type": "LIMIT_MAKER", "client_order_id": None})
            stop_price = decimal_arg(args, "stop_price")
            stop_limit = decimal_arg(args, "stop_limit_price")
        except InvalidDecimal as exc:
            raise await self.desk.explain(venue, args, exc) from None
        if base.quantity is None or base.price is None or stop_price is None:
            raise ToolError("place_oco needs quantity, price and stop_price", "invalid_argument")
        list_cid = check_client_order_id(
            args.get("list_client_order_id") or new_client_order_id(), "list_client_order_id"
        )
        stop_leg = OrderRequest(
            symbol=base.symbol,
            side=base.side,
            type=OrderType.STOP_LOSS_LIMIT if stop_limit is not None else OrderType.STOP_LOSS,
            quantity=base.quantity,
            price=stop_limit,
            stop_price=stop_price,
            time_in_force=TimeInForce.GTC if stop_limit is not None else None,
        )
        desk = self.desk.desk(venue)
        async with desk.ids.lock(list_cid):
            prior = desk.ids.recall(list_cid)
            journal = self.desk.journal
            if prior is None and journal is not None:  # placed before a restart: the journal still knows it
                known = journal.get(venue.name, list_cid)
                if known is not None and known.is_list and known.outcome == PLACED and known.order_id is not None:
                    list_id = known.order_id
                    prior = Placed(known.symbol, int(list_id) if list_id.lstrip("-").isdigit() else list_id)
            if prior is not None:
                return await self._oco_duplicate(venue, prior.symbol, prior.order_id, list_cid)
            checked = await self.desk.check(venue, base, adding_open=2)
            try:
                check_rules(checked.rules, stop_leg)
            except OrderRuleError as exc:
                raise filter_failure(exc.violations, base.symbol) from None
            if stop_limit is not None:  # the stop leg fills at its limit price: banded like the limit leg's
                mid = checked.mid if checked.mid is not None else mid_price(checked.ticker)
                safety.check_price_band(
                    self.desk.config, "stop_limit_price", stop_limit, mid, checked.rules.tick_size, checked.quote_asset
                )
            worst = max(base.price, stop_limit or stop_price)
            checked = replace(
                checked, notional=base.quantity * worst, fee=base.quantity * worst * self.desk.config.fee_rate
            )
            safety.check_order_notional(self.desk.config, checked.notional, checked.quote_asset)
            threshold = self.desk.config.confirm_above_notional
            checked = replace(checked, needs_confirmation=threshold is not None and checked.notional > threshold)
            legs = {"limit_leg": request_json(base), "stop_leg": request_json(stop_leg)}
            out: dict[str, Any] = {"exchange": venue.name, "mode": venue.mode, **checked.estimate_json()}
            if args.get("dry_run"):
                out |= {"dry_run": True, **legs, "needs_confirmation": checked.needs_confirmation}
                return ToolResult(out, f"dry run OK: OCO {request_text(base)} / {request_text(stop_leg)}")
            fp = fingerprint(venue.name, base) + ":" + fingerprint(venue.name, stop_leg)
            self.desk.confirm(checked, call.principal.name, venue, args.get("confirmation_token"), fp)

            async def send() -> OrderList:
                try:
                    return await venue.adapter.place_oco(
                        base.symbol,
                        base.side,
                        quantity=base.quantity or Decimal(0),
                        price=base.price or Decimal(0),
                        stop_price=stop_price,
                        stop_limit_price=stop_limit,
                        list_client_order_id=list_cid,
                    )
                except ExchangeError as exc:
                    raise tool_error(exc, list_client_order_id=list_cid) from exc

            intent = Intent.of_oco(venue.name, list_cid, base, call.principal.name, safety.now_ms())
            order_list: OrderList = await self.desk.send_journaled(
                venue, checked, call.principal.name, send, resting=2, intent=intent
            )
            desk.ids.remember(list_cid, base.symbol, order_list.order_list_id)
        out |= {"dry_run": False, "duplicate": False, **_order_list_json(order_list)}
        return ToolResult(out, order_list_text(order_list))

    async def _oco_duplicate(self, venue: Venue, symbol: str, list_id: int | str, list_cid: str) -> ToolResult:
        try:
            orders = [o for o in await venue.adapter.open_orders(symbol) if o.order_list_id == list_id]
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        out = {
            "exchange": venue.name,
            "mode": venue.mode,
            "duplicate": True,
            "order_list_id": list_id,
            "list_client_order_id": list_cid,
            "orders": [order_json(o) for o in orders],
        }
        return ToolResult(out, f"duplicate: OCO list {list_id} ({list_cid}) already placed; {len(orders)} legs open")

    # --- replace_order -----------------------------------------------------------------------------------------
    async def replace_order(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        try:  # at the boundary, before the old order is looked up (replacement_request reads them again)
            for name in ("quantity", "price", "stop_price"):
                decimal_arg(args, name)
        except InvalidDecimal as exc:  # named on the LOT_SIZE grid unless the new type is MARKET
            raise await self.desk.explain(venue, {"type": "LIMIT", **args}, exc) from None
        symbol = args["symbol"].upper()
        order_id, cid = order_ref(args)
        tracked = self.desk.desk(venue).open_orders.find(symbol, order_id, cid)
        if tracked is not None:
            old = tracked
        else:
            try:
                old = await venue.adapter.get_order(symbol, order_id=order_id, client_order_id=cid)
            except ExchangeError as exc:
                raise tool_error(exc) from exc
            if not old.status.is_open:
                raise _not_open(old)
        request = replacement_request(old, args)
        checked = await self.desk.check(venue, request, adding_open=0)
        out: dict[str, Any] = {"exchange": venue.name, "mode": venue.mode, **checked.estimate_json()}
        if args.get("dry_run"):
            out |= {"dry_run": True, "replaces": order_json(old), "order": request_json(request)}
            return ToolResult(out, f"dry run OK: replace {old.order_id} with {request_text(request)}")
        self.desk.confirm(checked, call.principal.name, venue, args.get("confirmation_token"))

        async def send() -> CancelReplaceResult:
            try:
                result = await venue.adapter.cancel_replace(request, cancel_order_id=old.order_id)
            except ExchangeError as exc:
                if tracked is not None and not isinstance(exc, ExchangeUnavailable):
                    await self._raise_if_closed(venue, old)
                raise tool_error(exc, client_order_id=request.client_order_id) from exc
            if result.new_order is None or result.new_order_result != "SUCCESS":
                if result.cancelled is not None:
                    self.desk.desk(venue).open_orders.on_order(result.cancelled)
                detail = {
                    "cancel_result": result.cancel_result,
                    "new_order_result": result.new_order_result,
                    "cancelled": order_json(result.cancelled) if result.cancelled else None,
                }
                raise ToolError(
                    f"replace of order {old.order_id}: cancel {result.cancel_result}, new order "
                    f"{result.new_order_result}",
                    "replace_failed",
                    detail,
                )
            return result

        result = await self.desk.send_journaled(venue, checked, call.principal.name, send, resting=0)
        new = result.new_order
        assert new is not None  # send() raised otherwise
        self.desk.desk(venue).ids.remember(new.client_order_id, new.symbol, new.order_id)
        out |= {
            "dry_run": False,
            "cancelled": order_json(result.cancelled) if result.cancelled else None,
            "order": order_json(new),
            "cancel_result": result.cancel_result,
            "new_order_result": result.new_order_result,
        }
        return ToolResult(out, f"replaced {old.order_id} → {order_text(new)}")

    async def _raise_if_closed(self, venue: Venue, old: Order) -> None:
        """After a refused cancel-replace of an order taken from the tracker: ask the exchange
        (``GET /api/v3/order``) whether it is still open; raises ``order_not_open`` when it is not (the tracker had
        not seen it close yet), returns when it is open or the exchange cannot say (the caller reports the refusal).
        """
        try:
            now = await venue.adapter.get_order(old.symbol, order_id=old.order_id)
        except ExchangeError:
            return
        self.desk.desk(venue).open_orders.on_order(now)
        if not now.status.is_open:
            raise _not_open(now)

    def register(self, app: McpApp) -> None:
        ex = self.venues.schema()
        trade: dict[str, Any] = {"scope": "trade", "read_only": False, "open_world": True}
        app.add_tool(
            Tool(
                "place_oco",
                "One-cancels-the-other: a LIMIT_MAKER at price and a stop at stop_price (STOP_LOSS_LIMIT at "
                "stop_limit_price when given). A SELL OCO has price above the market and stop below; BUY the reverse.",
                self.place_oco,
                {
                    "type": "object",
                    "properties": {
                        "symbol": SYMBOL_SCHEMA,
                        "side": ORDER_FIELDS["side"],
                        "quantity": ORDER_FIELDS["quantity"],
                        "price": ORDER_FIELDS["price"],
                        "stop_price": ORDER_FIELDS["stop_price"],
                        "stop_limit_price": {**DECIMAL_SCHEMA, "description": "limit price of the stop leg"},
                        "list_client_order_id": CLIENT_ID_SCHEMA,
                        "confirmation_token": TOKEN_SCHEMA,
                        "dry_run": DRY_RUN_SCHEMA,
                        "exchange": ex,
                    },
                    "required": ["symbol", "side", "quantity", "price", "stop_price"],
                    "additionalProperties": False,
                },
                title="Place OCO",
                destructive=True,
                idempotent=False,
                **trade,
            )
        )
        app.add_tool(
            Tool(
                "replace_order",
                "Cancel an open order and place a new one atomically (cancelReplace). Fields not given keep the old "
                "order's values; quantity defaults to the unfilled remainder.",
                self.replace_order,
                {
                    "type": "object",
                    "properties": {
                        "symbol": SYMBOL_SCHEMA,
                        "order_id": ORDER_ID_SCHEMA,
                        "client_order_id": CLIENT_ID_SCHEMA,
                        **{
                            k: ORDER_FIELDS[k]
                            for k in ("side", "type", "quantity", "price", "stop_price", "time_in_force")
                        },
                        "new_client_order_id": CLIENT_ID_SCHEMA,
                        "confirmation_token": TOKEN_SCHEMA,
                        "dry_run": DRY_RUN_SCHEMA,
                        "exchange": ex,
                    },
                    "required": ["symbol"],
                    "additionalProperties": False,
                },
                title="Replace order",
                destructive=True,
                idempotent=False,
                **trade,
            )
        )


def _not_open(order: Order) -> ToolError:
    """``order_not_open`` for ``replace_order`` of an order that is no longer open (nothing was placed)."""
    return ToolError(
        f"order {order.order_id} is {order.status.value}, not open: nothing to replace",
        "order_not_open",
        {"order": order_json(order)},
    )


def _order_list_json(ol: OrderList) -> dict[str, Any]:
    return {
        "order_list_id": ol.order_list_id,
        "list_client_order_id": ol.list_client_order_id,
        "list_order_status": ol.list_order_status,
        "orders": [order_json(o) for o in ol.orders],
    }
