"""Binance wire shapes of the engine's records: order responses, queries, trades, user data events.

Decimals are written with 8 decimals (``"0.00100000"``) as Binance does for Spot amounts.

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints (``newOrderRespType``
ACK/RESULT/FULL, cancel, order lists), .../account-endpoints (query order, myTrades) and
https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream (executionReport, listStatus,
outboundAccountPosition).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from tradingmcp.sim.state import ZERO, Account, Order, OrderList, Trade

_ZERO_8 = "0.00000000"


def fmt(value: Decimal, digits: int = 8) -> str:
    """A decimal as Binance writes it: fixed point with ``digits`` decimals."""
    if digits == 8:
        if value is ZERO:  # the engine's shared zero (unset amounts): most amounts of a fresh order
            return _ZERO_8
        return f"{value:.8f}"  # a constant format spec: parsed once, not per call
    return f"{value:.{digits}f}"


def order_ack(order: Order, transact_time: int) -> dict[str, Any]:
    """``newOrderRespType=ACK``."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": transact_time,
    }


def _order_state(order: Order) -> dict[str, Any]:
    """The order-state fields every order body shares, in Binance's order (``price`` … ``side``)."""
    return {
        "price": fmt(order.price),
        "origQty": fmt(order.orig_qty),
        "executedQty": fmt(order.executed_qty),
        "origQuoteOrderQty": fmt(order.orig_quote_order_qty),
        "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
    }


def order_result(order: Order, transact_time: int) -> dict[str, Any]:
    """``newOrderRespType=RESULT`` (also the ``orderReports`` entries of an order list): the ACK fields, then
    the order's state."""
    out = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": transact_time,
        **_order_state(order),
    }
    if order.is_stop:
        out["stopPrice"] = fmt(order.stop_price)
    out["workingTime"] = order.working_time
    out["selfTradePreventionMode"] = order.stp_mode
    return out


def fill(trade: Trade) -> dict[str, Any]:
    """One entry of ``fills`` in a FULL response."""
    return {
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "tradeId": trade.id,
    }


def order_full(order: Order, transact_time: int, trades: Iterable[Trade]) -> dict[str, Any]:
    """``newOrderRespType=FULL``: RESULT plus ``fills`` (the fills made while placing)."""
    out = order_result(order, transact_time)
    out["fills"] = [fill(t) for t in trades]
    return out


def order_query(order: Order) -> dict[str, Any]:
    """``GET /api/v3/order`` (also openOrders / allOrders rows)."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price),
        "origQty": fmt(order.orig_qty),
        "executedQty": fmt(order.executed_qty),
        "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": fmt(order.stop_price),
        "icebergQty": _ZERO_8,
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.is_working or (order.working_time != -1 and not order.is_open),
        "workingTime": order.working_time,
        "origQuoteOrderQty": fmt(order.orig_quote_order_qty),
        "selfTradePreventionMode": order.stp_mode,
    }


def order_canceled(order: Order, cancel_client_order_id: str, transact_time: int) -> dict[str, Any]:
    """``DELETE /api/v3/order``: ``clientOrderId`` is the cancel's own id, ``origClientOrderId`` the order's."""
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": cancel_client_order_id,
        "transactTime": transact_time,
        **_order_state(order),
    }
    if order.is_stop:
        out["stopPrice"] = fmt(order.stop_price)
    out["selfTradePreventionMode"] = order.stp_mode
    return out


def order_list(lst: OrderList, reports: list[dict[str, Any]]) -> dict[str, Any]:
    """An order list response (``orderList/oco``, ``DELETE orderList``, list rows of ``DELETE openOrders``)."""
    return {
        "orderListId": lst.order_list_id,
        "contingencyType": lst.contingency_type,
        "listStatusType": lst.list_status_type,
        "listOrderStatus": lst.list_order_status,
        "listClientOrderId": lst.list_client_order_id,
        "transactionTime": lst.transaction_time,
        "symbol": lst.symbol,
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in lst.orders],
        "orderReports": reports,
    }


def my_trade(trade: Trade) -> dict[str, Any]:
    """A ``GET /api/v3/myTrades`` row."""
    return {
        "symbol": trade.symbol,
        "id": trade.id,
        "orderId": trade.order_id,
        "orderListId": trade.order_list_id,
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "quoteQty": fmt(trade.quote_qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def execution_report(
    order: Order,
    *,
    event_time: int,
    execution_type: str,
    transaction_time: int,
    trade: Trade | None = None,
    client_order_id: str | None = None,
    orig_client_order_id: str = "",
    reject_reason: str = "NONE",
    ignore_id: int = 0,
) -> dict[str, Any]:
    """An ``executionReport`` user data event.

    Args:
        order: the order after the change.
        execution_type: ``x``: NEW, CANCELED, REPLACED, REJECTED, TRADE, EXPIRED, TRADE_PREVENTION.
        trade: the fill for ``x=TRADE`` (``l``, ``L``, ``n``, ``N``, ``t``, ``m``, ``Y``).
        client_order_id: ``c``; the cancel request's id for ``x=CANCELED`` (default: the order's own id).
        orig_client_order_id: ``C``; the canceled order's id for ``x=CANCELED``, else ``""``.
        ignore_id: ``I`` (an ignored, increasing id).
    """
    if trade is None:
        last_qty = last_price = last_quote = _ZERO_8
        commission, commission_asset, trade_id, is_maker = "0", None, -1, False
    else:
        last_qty, last_price, last_quote = fmt(trade.qty), fmt(trade.price), fmt(trade.qty * trade.price)
        commission, commission_asset, trade_id, is_maker = (
            fmt(trade.commission),
            trade.commission_asset,
            trade.id,
            trade.is_maker,
        )
    return {
        "e": "executionReport",
        "E": event_time,
        "s": order.symbol,
        "c": client_order_id if client_order_id is not None else order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": fmt(order.orig_qty),
        "p": fmt(order.price),
        "P": fmt(order.stop_price),
        "F": _ZERO_8,
        "g": order.order_list_id,
        "C": orig_client_order_id,
        "x": execution_type,
        "X": order.status,
        "r": reject_reason,
        "i": order.order_id,
        "l": last_qty,
        "z": fmt(order.executed_qty),
        "L": last_price,
        "n": commission,
        "N": commission_asset,
        "T": transaction_time,
        "t": trade_id,
        "I": ignore_id,
        "w": order.is_working,
        "m": is_maker,
        "M": False,
        "O": order.time,
        "Z": fmt(order.cumm_quote_qty),
        "Y": last_quote,
        "Q": fmt(order.orig_quote_order_qty),
        "W": order.working_time,
        "V": order.stp_mode,
    }


def list_status(lst: OrderList, *, event_time: int, transaction_time: int) -> dict[str, Any]:
    """A ``listStatus`` user data event."""
    return {
        "e": "listStatus",
        "E": event_time,
        "s": lst.symbol,
        "g": lst.order_list_id,
        "c": lst.contingency_type,
        "l": lst.list_status_type,
        "L": lst.list_order_status,
        "r": "NONE",
        "C": lst.list_client_order_id,
        "T": transaction_time,
        "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in lst.orders],
    }


def account_position(account: Account, assets: Iterable[str], *, event_time: int) -> dict[str, Any]:
    """An ``outboundAccountPosition`` event for ``assets``: ``{e, E, u, B: [{a, f, l}]}``."""
    return {
        "e": "outboundAccountPosition",
        "E": event_time,
        "u": account.update_time,
        "B": [{"a": a, "f": fmt(account.free_of(a)), "l": fmt(account.locked_of(a))} for a in assets],
    }


def balance_update(asset: str, delta: Decimal, *, event_time: int, clear_time: int) -> dict[str, Any]:
    """A ``balanceUpdate`` event (deposit/withdrawal): ``{e, E, a, d, T}``."""
    return {"e": "balanceUpdate", "E": event_time, "a": asset, "d": fmt(delta), "T": clear_time}
