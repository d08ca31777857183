"""Pure builders of MEXC REST request parameters (no I/O): order and order-reference parameters, the order type to
send, client order ids.

Parameter names follow "Spot Account/Trade" (https://mexcdevelop.github.io/apidocs/spot_v3_en/#spot-account-trade).
Parameters are ``(name, value)`` pairs in the order they are sent (the signature covers them in that order, see
:mod:`.signing`); decimals are sent in plain notation (never ``1E-5``).
"""

from __future__ import annotations

import uuid
from typing import Any

from tradingmcp.server.exchanges.errors import BadParameter, NotSupported
from tradingmcp.server.exchanges.mexc.errors import mexc_error
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, TimeInForce

Params = list[tuple[str, Any]]
"""Request parameters as ``(name, value)`` pairs, in sending order."""


def new_client_order_id() -> str:
    """A fresh client order id (``tmcp`` + 28 hex chars, 32 chars), so a retried placement is recognisable."""
    return "tmcp" + uuid.uuid4().hex[:28]


def mexc_order_type(order_type: OrderType, time_in_force: TimeInForce | None) -> str:
    """The MEXC ``type`` to send for a neutral type + time in force (LIMIT+IOC → ``IMMEDIATE_OR_CANCEL``…).

    Raises:
        ValueError: a type MEXC Spot does not offer (stop orders, OCO legs).
    """
    if order_type is OrderType.LIMIT:
        return {TimeInForce.IOC: "IMMEDIATE_OR_CANCEL", TimeInForce.FOK: "FILL_OR_KILL"}.get(
            time_in_force or TimeInForce.GTC, "LIMIT"
        )
    if order_type in (OrderType.MARKET, OrderType.LIMIT_MAKER):
        return order_type.value
    raise ValueError(f"MEXC Spot has no {order_type.value} orders (LIMIT, MARKET, LIMIT_MAKER, IOC, FOK only)")


def order_params(req: OrderRequest, client_order_id: str) -> Params:
    """``POST /api/v3/order`` (also ``order/test`` and each ``batchOrders`` item) parameters for ``req``.

    Raises:
        NotSupported: a type MEXC Spot does not offer.
        BadParameter: not exactly one of ``quantity`` and ``quote_order_qty``.
    """
    try:
        mexc_type = mexc_order_type(req.type, req.time_in_force)
    except ValueError as exc:
        raise mexc_error(NotSupported, None, str(exc)) from None
    params: Params = [("symbol", req.symbol), ("side", req.side.value), ("type", mexc_type)]
    if (req.quantity is None) == (req.quote_order_qty is None):
        raise mexc_error(BadParameter, None, "send exactly one of quantity or quoteOrderQty")
    if req.quantity is not None:
        params.append(("quantity", format(req.quantity, "f")))
    if req.quote_order_qty is not None:
        params.append(("quoteOrderQty", format(req.quote_order_qty, "f")))
    if req.price is not None:
        params.append(("price", format(req.price, "f")))
    params.append(("newClientOrderId", client_order_id))
    return params


def order_ref(symbol: str, order_id: str | int | None, client_order_id: str | None) -> Params:
    """``symbol`` with ``orderId`` and/or ``origClientOrderId`` (both are sent when both are given).

    Raises:
        BadParameter: neither id given.
    """
    if order_id is None and not client_order_id:
        raise mexc_error(BadParameter, None, "send orderId or origClientOrderId")
    params: Params = [("symbol", symbol)]
    if order_id is not None:
        params.append(("orderId", order_id))
    if client_order_id:
        params.append(("origClientOrderId", client_order_id))
    return params
