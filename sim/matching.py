"""The simulator's matching engine (sans-I/O): the Binance Spot account API over replayed books.

The I/O layer (REST, WS API) passes each request's raw parameters (``str -> str``, signature already checked) and
serves the returned body, or turns a raised :class:`~tradingmcp.sim.errors.BinanceError` into the HTTP status
and ``{"code", "msg"}`` body. The replay feeds the market with :meth:`MatchingEngine.on_book_update` (after each
applied diff) and :meth:`MatchingEngine.on_trade`; user data events are collected with
:meth:`MatchingEngine.drain_events`. Matching rules are documented in :mod:`tradingmcp.sim.core`.

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints and
.../account-endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradingmcp.sim import queries, render
from tradingmcp.sim.errors import (
    MSG_BAD_PRICE_RELATIONSHIP,
    MSG_CANCEL_REPLACE_NOT_SUPPORTED,
    MSG_OCO_NOT_SUPPORTED,
    MSG_UNSUPPORTED_COMBINATION,
    BinanceError,
    cancel_rejected,
    cancel_replace_failed,
    cancel_replace_partially_failed,
    duplicate_order,
    invalid_param_value,
    no_such_order,
    no_such_order_list,
    one_of_params,
    order_rejected,
)
from tradingmcp.sim.order_request import SIDES, build_order, parse_client_id, parse_new_order, parse_symbol
from tradingmcp.sim.params import Params
from tradingmcp.sim.placing import OrderDesk
from tradingmcp.sim.state import ZERO, Account, Order, OrderList

_CANCEL_RESTRICTIONS = ("ONLY_NEW", "ONLY_PARTIALLY_FILLED")
_OCO_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER")
# (side, aboveType, belowType) combinations an OCO accepts (limit-type variants; market stops are not listed).
_OCO_COMBOS = {
    ("SELL", "LIMIT_MAKER", "STOP_LOSS_LIMIT"),
    ("SELL", "TAKE_PROFIT_LIMIT", "STOP_LOSS_LIMIT"),
    ("BUY", "STOP_LOSS_LIMIT", "LIMIT_MAKER"),
    ("BUY", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"),
}


class MatchingEngine(OrderDesk):
    """Binance Spot account endpoints over replayed books.

    Args:
        exchange_info: symbols and filters.
        books: the replayed book per symbol (read only; the engine never depletes it).
        clock_ms: simulator clock, epoch ms (``transactTime``, event times ``E``).
        maker_fee / taker_fee: commission rates as fractions (``Decimal("0.001")`` = 0.1 %).

    Every request method takes the account's API key and the raw request parameters, returns Binance's exact JSON
    body, and raises BinanceError (-2015 for an unknown key, -1121 for an unlisted symbol, ...).
    """

    # ---- orders -------------------------------------------------------------------------------------------------

    def new_order(self, api_key: str, params: Mapping[str, str], *, test: bool = False) -> dict[str, Any]:
        """``POST /api/v3/order`` (``test=True``: ``POST /api/v3/order/test``, validation only).

        Returns:
            ACK / RESULT / FULL body per ``newOrderRespType``; for a test order ``{}`` (or the commission rates when
            ``computeCommissionRates=true``).

        Raises:
            BinanceError: parameter errors (-1100/-1102/-1106/-1111/-1114..-1118), -1121, -1013 filter failures,
                -2010 (insufficient balance, duplicate clientOrderId, would take / trigger, type not supported).
        """
        acct = self.account_of(api_key)
        p = Params(params)
        req = parse_new_order(self.exchange_info, p)
        now = self.clock_ms()
        if test:
            self.validate(acct, req)
            if p.opt_bool("computeCommissionRates"):
                return self._commission_rates()
            return {}
        order, trades = self.place(acct, req, now)
        self.flush_positions(now)
        return self.respond(order, req.resp_type, now, trades)

    def cancel_order(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``DELETE /api/v3/order`` by ``orderId`` or ``origClientOrderId``; canceling an order list leg cancels the
        whole list. ``newClientOrderId`` names the cancel; ``cancelRestrictions`` ONLY_NEW / ONLY_PARTIALLY_FILLED.

        Raises:
            BinanceError: -1102 neither id sent, -2011 "Unknown order sent." (missing or not open).
        """
        acct = self.account_of(api_key)
        p = Params(params)
        order = self._lookup(acct, p, "orderId", "origClientOrderId")
        now = self.clock_ms()
        body = self.cancel(
            acct,
            order,
            now,
            cancel_client_id=parse_client_id(p, "newClientOrderId"),
            restrictions=p.opt_enum("cancelRestrictions", _CANCEL_RESTRICTIONS),
        )
        self.flush_positions(now)
        return body

    def cancel_open_orders(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """``DELETE /api/v3/openOrders`` for one symbol: cancel bodies for single orders, list bodies for lists.

        Raises:
            BinanceError: -2011 "Unknown order sent." when nothing is open on the symbol.
        """
        acct = self.account_of(api_key)
        info = parse_symbol(self.exchange_info, Params(params))
        open_orders = self.open_of(acct, info.symbol)
        if not open_orders:
            raise cancel_rejected()
        now = self.clock_ms()
        out: list[dict[str, Any]] = []
        done_lists: set[int] = set()
        for order in open_orders:
            lst = self.list_of.get((order.symbol, order.order_id))
            if lst is None:
                out.append(self.cancel(acct, order, now))
            elif lst.order_list_id not in done_lists:
                done_lists.add(lst.order_list_id)
                out.append(self._cancel_list(acct, lst, now, self.new_client_id()))
        self.flush_positions(now)
        return out

    def cancel_order_list(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``DELETE /api/v3/orderList`` by ``orderListId`` or ``listClientOrderId``.

        Raises:
            BinanceError: -1102 neither id sent; -2011 "Unknown order sent." when missing or done.
        """
        acct = self.account_of(api_key)
        p = Params(params)
        info = parse_symbol(self.exchange_info, p)
        list_id = p.opt_int("orderListId")
        list_cid = p.opt_str("listClientOrderId")
        if list_id is None and list_cid is None:
            raise one_of_params("orderListId", "listClientOrderId")
        candidates = self._lists_of(api_key, list_id, list_cid, info.symbol)
        if not candidates or candidates[-1].list_status_type == "ALL_DONE":
            raise cancel_rejected()
        now = self.clock_ms()
        body = self._cancel_list(
            acct, candidates[-1], now, parse_client_id(p, "newClientOrderId") or self.new_client_id()
        )
        self.flush_positions(now)
        return body

    def get_order_list(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/v3/orderList`` by ``orderListId`` or ``origClientOrderId`` (the list client order id; no
        ``symbol``): the list with its members' ids (no reports, as Binance answers).

        Raises:
            BinanceError: -1102 neither id sent; -2018 "Order list does not exist.".
        """
        self.account_of(api_key)
        p = Params(params)
        list_id = p.opt_int("orderListId")
        list_cid = p.opt_str("origClientOrderId")
        if list_id is None and list_cid is None:
            raise one_of_params("orderListId", "origClientOrderId")
        found = self._lists_of(api_key, list_id, list_cid)
        if not found:
            raise no_such_order_list()
        body = render.order_list(found[-1], [])
        del body["orderReports"]
        return body

    def _lists_of(
        self, api_key: str, list_id: int | None, list_cid: str | None, symbol: str | None = None
    ) -> list[OrderList]:
        """``api_key``'s order lists with this id (else this list client order id), on ``symbol`` when given, oldest
        first."""
        return [
            lst
            for lst in self.lists.values()
            if lst.api_key == api_key
            and (symbol is None or lst.symbol == symbol)
            and (lst.order_list_id == list_id if list_id is not None else lst.list_client_order_id == list_cid)
        ]

    # ---- queries ------------------------------------------------------------------------------------------------

    def get_order(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/v3/order`` by ``orderId`` or ``origClientOrderId``.

        Raises:
            BinanceError: -1102 neither id sent; -2013 "Order does not exist.".
        """
        acct = self.account_of(api_key)
        order = self._lookup(acct, Params(params), "orderId", "origClientOrderId")
        if order is None:
            raise no_such_order()
        return render.order_query(order)

    def open_orders(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """``GET /api/v3/openOrders`` (``symbol`` optional)."""
        acct = self.account_of(api_key)
        p = Params(params)
        symbol = parse_symbol(self.exchange_info, p).symbol if "symbol" in p else None
        return queries.open_orders(self.open_of(acct, symbol))

    def all_orders(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """``GET /api/v3/allOrders``: ``symbol``; optional ``orderId`` (>=), ``startTime``, ``endTime``, ``limit``
        (default 500, max 1000)."""
        acct = self.account_of(api_key)
        p = Params(params)
        return queries.all_orders(acct, parse_symbol(self.exchange_info, p).symbol, p)

    def my_trades(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """``GET /api/v3/myTrades``: ``symbol``; optional ``orderId``, ``startTime``, ``endTime``, ``fromId``,
        ``limit`` (default 500, max 1000)."""
        acct = self.account_of(api_key)
        p = Params(params)
        return queries.my_trades(acct, parse_symbol(self.exchange_info, p).symbol, p)

    def account(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/v3/account`` (balances as strings; ``omitZeroBalances`` honoured)."""
        acct = self.account_of(api_key)
        return queries.account(acct, Params(params), maker_fee=self.maker_fee, taker_fee=self.taker_fee)

    # ---- order lists and cancelReplace ----------------------------------------------------------------------

    def new_oco(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``POST /api/v3/orderList/oco`` (the 2023+ API: ``aboveType``/``belowType``, ``abovePrice``,
        ``aboveStopPrice``, ``aboveTimeInForce``, ``aboveClientOrderId``, same for ``below``; ``quantity``, ``side``,
        ``listClientOrderId``). The quantity is locked once for the list.

        Raises:
            BinanceError: parameter errors, -1013 filter failures per leg, -2010 "Unsupported order combination",
                "The relationship of the prices for the orders is not correct.", insufficient balance, duplicates.
        """
        acct = self.account_of(api_key)
        p = Params(params)
        info = parse_symbol(self.exchange_info, p)
        if not info.oco_allowed:
            raise order_rejected(MSG_OCO_NOT_SUPPORTED)
        side = p.req_str("side")
        if side not in SIDES:
            raise invalid_param_value("side")
        quantity = p.req_decimal("quantity")
        legs = []
        for pos in ("above", "below"):
            leg_type = p.req_str(f"{pos}Type")
            if leg_type not in _OCO_TYPES:
                raise invalid_param_value(f"{pos}Type")
            legs.append(
                build_order(
                    info,
                    side=side,
                    order_type=leg_type,
                    time_in_force=p.opt_str(f"{pos}TimeInForce"),
                    quantity=quantity,
                    price=p.opt_decimal(f"{pos}Price"),
                    stop_price=p.opt_decimal(f"{pos}StopPrice"),
                    client_order_id=parse_client_id(p, f"{pos}ClientOrderId"),
                    resp_type="RESULT",
                    stp_mode=p.opt_str("selfTradePreventionMode"),
                    param_prefix=pos,
                )
            )
        above, below = legs
        if (side, above.type, below.type) not in _OCO_COMBOS:
            raise order_rejected(MSG_UNSUPPORTED_COMBINATION)
        list_cid = parse_client_id(p, "listClientOrderId") or self.new_client_id()
        now = self.clock_ms()
        for leg in (below, above):
            self.validate(acct, leg, new_orders=2, new_algo_orders=1)
        reference = self.reference_price(info.symbol)
        level = {leg.type: (leg.price if leg.type == "LIMIT_MAKER" else leg.stop_price) for leg in legs}
        above_level, below_level = level[above.type], level[below.type]
        if above_level is None or below_level is None or above_level <= below_level:
            raise order_rejected(MSG_BAD_PRICE_RELATIONSHIP)
        if reference is not None and not (below_level < reference < above_level):
            raise order_rejected(MSG_BAD_PRICE_RELATIONSHIP)
        list_id = self.next_id(f"list:{info.symbol}")
        drafts = [self.draft(acct, leg, now, order_list_id=list_id) for leg in (below, above)]
        if drafts[0].client_order_id and drafts[0].client_order_id == drafts[1].client_order_id:
            raise duplicate_order()
        locks = [self.precheck(acct, d) for d in drafts]
        lst = OrderList(api_key, info.symbol, list_id, list_cid, now, drafts)
        # one lock for the whole list (the larger leg's need), carried by the first leg
        for draft, share in zip(drafts, (max(locks), ZERO), strict=True):
            self.execute(acct, draft, share, now)
            self.list_of[(draft.symbol, draft.order_id)] = lst
        self.lists[(info.symbol, list_id)] = lst
        self.emit(api_key, render.list_status(lst, event_time=now, transaction_time=now))
        self.flush_positions(now)
        return render.order_list(lst, [render.order_result(o, now) for o in drafts])

    def cancel_replace(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``POST /api/v3/order/cancelReplace``: cancel (``cancelOrderId`` / ``cancelOrigClientOrderId``,
        ``cancelNewClientOrderId``, ``cancelRestrictions``) then place the new order (same parameters as new_order).

        ``cancelReplaceMode`` STOP_ON_FAILURE skips the new order when the cancel fails; ALLOW_FAILURE tries it anyway.
        The new order is validated (filters) before anything happens.

        Returns:
            ``{"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS", "cancelResponse", "newOrderResponse"}``.

        Raises:
            BinanceError: plain parameter/filter errors; -2022 (HTTP 400) when nothing succeeded and -2021 (HTTP 409)
                when one side succeeded, each with ``data`` holding the four fields above (failed sides as
                ``{"code", "msg"}``, a side not attempted as ``"NOT_ATTEMPTED"`` / null).
        """
        acct = self.account_of(api_key)
        p = Params(params)
        mode = p.req_str("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise invalid_param_value("cancelReplaceMode")
        req = parse_new_order(self.exchange_info, p)
        if not req.info.cancel_replace_allowed:
            raise order_rejected(MSG_CANCEL_REPLACE_NOT_SUPPORTED)
        target = self._lookup(acct, p, "cancelOrderId", "cancelOrigClientOrderId")
        cancel_cid = parse_client_id(p, "cancelNewClientOrderId")
        restrictions = p.opt_enum("cancelRestrictions", _CANCEL_RESTRICTIONS)
        open_before = 1 if target is not None and target.is_open else 0
        self.validate(acct, req, new_orders=1 - open_before)
        now = self.clock_ms()
        cancel_body: dict[str, Any] | None = None
        cancel_err: BinanceError | None = None
        try:
            cancel_body = self.cancel(acct, target, now, cancel_client_id=cancel_cid, restrictions=restrictions)
        except BinanceError as exc:
            cancel_err = exc
        new_body: dict[str, Any] | None = None
        new_err: BinanceError | None = None
        if cancel_err is None or mode == "ALLOW_FAILURE":
            try:
                order = self.draft(acct, req, now)
                lock = self.precheck(acct, order)
                trades = self.execute(acct, order, lock, now)
                new_body = self.respond(order, req.resp_type, now, trades)
            except BinanceError as exc:
                new_err = exc
        self.flush_positions(now)
        data: dict[str, Any] = {
            "cancelResult": "FAILURE" if cancel_err else "SUCCESS",
            "newOrderResult": "NOT_ATTEMPTED"
            if (cancel_err and mode == "STOP_ON_FAILURE")
            else ("FAILURE" if new_err else "SUCCESS"),
            "cancelResponse": cancel_err.body() if cancel_err else cancel_body,
            "newOrderResponse": new_err.body() if new_err else new_body,
        }
        if cancel_err is None and new_err is None:
            return data
        if data["cancelResult"] == "SUCCESS" or data["newOrderResult"] == "SUCCESS":
            raise cancel_replace_partially_failed(data)
        raise cancel_replace_failed(data)

    # ---- helpers ------------------------------------------------------------------------------------------------

    def _lookup(self, acct: Account, p: Params, id_param: str, cid_param: str) -> Order | None:
        info = parse_symbol(self.exchange_info, p)
        order_id = p.opt_int(id_param)
        cid = p.opt_str(cid_param)
        if order_id is None and cid is None:
            raise one_of_params(cid_param, id_param)
        return self.find_order(acct, info.symbol, order_id, cid)

    def _cancel_list(self, acct: Account, lst: OrderList, now: int, cancel_cid: str) -> dict[str, Any]:
        open_legs = [o for o in lst.orders if o.is_open]
        for leg in open_legs:
            self.finish(
                leg, "CANCELED", "CANCELED", now, client_order_id=cancel_cid, orig_client_order_id=leg.client_order_id
            )
        return render.order_list(lst, [render.order_canceled(o, cancel_cid, now) for o in lst.orders])

    def _commission_rates(self) -> dict[str, Any]:
        zero = render.fmt(ZERO)
        return {
            "standardCommissionForOrder": {"maker": render.fmt(self.maker_fee), "taker": render.fmt(self.taker_fee)},
            "specialCommissionForOrder": {"maker": zero, "taker": zero},
            "taxCommissionForOrder": {"maker": zero, "taker": zero},
            "discount": {
                "enabledForAccount": False,
                "enabledForSymbol": False,
                "discountAsset": "BNB",
                "discount": zero,
            },
        }
