"""Binance Spot order, fill, account and user-data wire JSON → exchange-neutral models (pure functions, no I/O).

Covers the order endpoints (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints,
``account-endpoints``) and the user data stream
(https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream). Field names follow the wire exactly;
numbers arrive as decimal strings and become ``Decimal``; times are ms. Every function raises ``KeyError``/``ValueError``
on a malformed body; the adapter turns that into an ExchangeError. Re-exported by the ``parse`` package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradingmcp.server.exchanges.models import (
    Balance,
    BalanceEvent,
    CancelReplaceResult,
    ExecutionType,
    Fill,
    Order,
    OrderEvent,
    OrderList,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    UserEvent,
)
from tradingmcp.server.exchanges.wire import dec

Json = Mapping[str, Any]


# --- orders, fills, account (REST) -------------------------------------------------------------------------------


def _tif(value: Any) -> TimeInForce | None:
    return TimeInForce(value) if value in TimeInForce.__members__ else None


def order_fill(symbol: str, order_id: int, row: Json, time_ms: int, is_buyer: bool) -> Fill:
    """A placement response ``fills[]`` entry ``{price, qty, commission, commissionAsset, tradeId}`` → Fill."""
    price, qty = dec(row["price"]), dec(row["qty"])
    return Fill(
        symbol=symbol,
        trade_id=int(row.get("tradeId", -1)),
        order_id=order_id,
        price=price,
        qty=qty,
        quote_qty=price * qty,
        commission=dec(row.get("commission")),
        commission_asset=str(row.get("commissionAsset", "")),
        is_maker=False,
        time_ms=time_ms,
        is_buyer=is_buyer,
    )


def order(body: Json) -> Order:
    """An order body (placement ACK/RESULT/FULL, ``GET /api/v3/order``, cancel, openOrders/allOrders rows) → Order.

    In a cancel response ``clientOrderId`` is the cancel request's id; the order's own id is ``origClientOrderId``.
    """
    symbol = body["symbol"]
    order_id = int(body["orderId"])
    side = Side(body["side"]) if "side" in body else Side.BUY
    time_ms = int(body.get("time", body.get("transactTime", body.get("workingTime", 0))) or 0)
    update_ms = int(body.get("updateTime", body.get("transactTime", time_ms)) or time_ms)
    fills = tuple(order_fill(symbol, order_id, f, update_ms, side is Side.BUY) for f in body.get("fills", ()))
    return Order(
        order_id=order_id,
        client_order_id=str(body.get("origClientOrderId") or body.get("clientOrderId", "")),
        symbol=symbol,
        side=side,
        type=OrderType(body["type"]) if "type" in body else OrderType.LIMIT,
        time_in_force=_tif(body.get("timeInForce")),
        price=dec(body.get("price")),
        stop_price=dec(body.get("stopPrice")),
        orig_qty=dec(body.get("origQty")),
        executed_qty=dec(body.get("executedQty")),
        cumulative_quote_qty=dec(body.get("cummulativeQuoteQty")),
        status=OrderStatus(body.get("status", "NEW")),
        time_ms=time_ms,
        update_time_ms=update_ms,
        fills=fills,
        order_list_id=int(body.get("orderListId", -1)),
    )


def my_trade(row: Json) -> Fill:
    """``GET /api/v3/myTrades`` row → Fill."""
    return Fill(
        symbol=row["symbol"],
        trade_id=int(row["id"]),
        order_id=int(row["orderId"]),
        price=dec(row["price"]),
        qty=dec(row["qty"]),
        quote_qty=dec(row.get("quoteQty")),
        commission=dec(row.get("commission")),
        commission_asset=str(row.get("commissionAsset", "")),
        is_maker=bool(row.get("isMaker", False)),
        time_ms=int(row["time"]),
        is_buyer=bool(row["isBuyer"]) if "isBuyer" in row else None,
    )


def order_list(body: Json) -> OrderList:
    """An order-list body (``POST /api/v3/orderList/oco``, ``DELETE /api/v3/orderList``) → OrderList.

    Member orders come from ``orderReports`` when present (full state), else from ``orders`` (ids only, status NEW).
    """
    reports = body.get("orderReports") or ()
    if reports:
        orders = tuple(order(r) for r in reports)
    else:
        orders = tuple(
            order({"symbol": o["symbol"], "orderId": o["orderId"], "clientOrderId": o.get("clientOrderId", "")})
            for o in body.get("orders", ())
        )
    return OrderList(
        order_list_id=int(body["orderListId"]),
        list_client_order_id=str(body.get("listClientOrderId", "")),
        symbol=body["symbol"],
        contingency_type=str(body.get("contingencyType", "OCO")),
        list_status_type=str(body.get("listStatusType", "")),
        list_order_status=str(body.get("listOrderStatus", "")),
        orders=orders,
        time_ms=int(body.get("transactionTime", 0)),
    )


def cancel_replace(body: Json) -> CancelReplaceResult:
    """``POST /api/v3/order/cancelReplace`` body (or the ``data`` of its 409 error) → CancelReplaceResult."""
    cancel = body.get("cancelResponse")
    new = body.get("newOrderResponse")
    return CancelReplaceResult(
        cancel_result=str(body.get("cancelResult", "")),
        new_order_result=str(body.get("newOrderResult", "")),
        cancelled=order(cancel) if isinstance(cancel, Mapping) and "orderId" in cancel else None,
        new_order=order(new) if isinstance(new, Mapping) and "orderId" in new else None,
    )


# --- user data stream -------------------------------------------------------------------------------------------


def execution_report(ev: Json) -> OrderEvent:
    """``executionReport`` → OrderEvent (user-data-stream page). ``c`` is the order's client id, except on a
    cancel, where ``C`` holds the original client id."""
    order_id = int(ev["i"])
    side = Side(ev["S"])
    exec_type = ExecutionType(ev["x"])
    client_id = (ev.get("C") or ev["c"]) if exec_type is ExecutionType.CANCELED else ev["c"]
    last_fill = None
    if exec_type is ExecutionType.TRADE:
        price, qty = dec(ev["L"]), dec(ev["l"])
        last_fill = Fill(
            symbol=ev["s"],
            trade_id=int(ev.get("t", -1)),
            order_id=order_id,
            price=price,
            qty=qty,
            quote_qty=dec(ev["Y"]) if "Y" in ev else price * qty,
            commission=dec(ev.get("n")),
            commission_asset=str(ev.get("N") or ""),
            is_maker=bool(ev.get("m", False)),
            time_ms=int(ev["T"]),
            is_buyer=side is Side.BUY,
        )
    state = Order(
        order_id=order_id,
        client_order_id=str(client_id),
        symbol=ev["s"],
        side=side,
        type=OrderType(ev["o"]),
        time_in_force=_tif(ev.get("f")),
        price=dec(ev.get("p")),
        stop_price=dec(ev.get("P")),
        orig_qty=dec(ev.get("q")),
        executed_qty=dec(ev.get("z")),
        cumulative_quote_qty=dec(ev.get("Z")),
        status=OrderStatus(ev["X"]),
        time_ms=int(ev.get("O", ev.get("T", 0))),
        update_time_ms=int(ev.get("T", ev.get("E", 0))),
        order_list_id=int(ev.get("g", -1)),
    )
    return OrderEvent(
        order=state,
        execution_type=exec_type,
        event_time_ms=int(ev.get("E", 0)),
        last_fill=last_fill,
        reject_reason=str(ev.get("r", "NONE")),
    )


def user_event(ev: Json) -> UserEvent | None:
    """A user-data event (``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``) → model; None for
    others (``listStatus``, ``eventStreamTerminated``, ...)."""
    kind = ev.get("e")
    if kind == "executionReport":
        return execution_report(ev)
    if kind == "outboundAccountPosition":
        rows = tuple(Balance(b["a"], dec(b["f"]), dec(b["l"])) for b in ev.get("B", ()))
        return BalanceEvent(event_time_ms=int(ev.get("E", 0)), balances=rows)
    if kind == "balanceUpdate":
        return BalanceEvent(event_time_ms=int(ev.get("E", 0)), delta_asset=ev["a"], delta=dec(ev["d"]))
    return None
