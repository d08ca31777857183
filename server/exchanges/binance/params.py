"""Pure builders of Binance REST request parameters (no I/O): order, OCO, cancelReplace, order references,
request weights, client order ids.

Parameter names follow "Trading endpoints" (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/
trading-endpoints). Decimals are sent in plain notation (never ``1E-5``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side, TimeInForce
from tradingmcp.server.exchanges.rules import fmt

NEEDS_TIME_IN_FORCE = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
"""Order types Binance requires a ``timeInForce`` for (GTC by default here)."""


def depth_weight(limit: int) -> int:
    """Request weight of ``GET /api/v3/depth`` for ``limit`` levels (5/25/50/250)."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def new_client_order_id(prefix: str) -> str:
    """A fresh client order id: ``<prefix><22 hex chars>`` (≤ 36 characters, Binance's limit)."""
    return prefix + uuid.uuid4().hex[:22]


def order_params(request: OrderRequest, client_order_id: str) -> dict[str, Any]:
    """``POST /api/v3/order`` parameters for ``request`` (with ``newClientOrderId`` and ``newOrderRespType=FULL``)."""
    params: dict[str, Any] = {
        "symbol": request.symbol.upper(),
        "side": request.side.value,
        "type": request.type.value,
        "newClientOrderId": client_order_id,
        "newOrderRespType": "FULL",
    }
    if request.quantity is not None:
        params["quantity"] = fmt(request.quantity)
    if request.quote_order_qty is not None:
        params["quoteOrderQty"] = fmt(request.quote_order_qty)
    if request.price is not None:
        params["price"] = fmt(request.price)
    if request.stop_price is not None:
        params["stopPrice"] = fmt(request.stop_price)
    if request.type in NEEDS_TIME_IN_FORCE:
        params["timeInForce"] = (request.time_in_force or TimeInForce.GTC).value
    return params


def order_ref(symbol: str, order_id: int | str | None, client_order_id: str | None) -> dict[str, Any]:
    """``{symbol, orderId}`` or ``{symbol, origClientOrderId}``.

    Raises:
        ValueError: neither id given.
    """
    if order_id is None and client_order_id is None:
        raise ValueError("give order_id or client_order_id")
    params: dict[str, Any] = {"symbol": symbol.upper()}
    if order_id is not None:
        params["orderId"] = order_id
    else:
        params["origClientOrderId"] = client_order_id
    return params


def oco_params(
    symbol: str,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    stop_price: Decimal,
    stop_limit_price: Decimal | None,
    list_client_order_id: str,
) -> dict[str, Any]:
    """``POST /api/v3/orderList/oco`` parameters: a LIMIT_MAKER leg at ``price`` and a STOP_LOSS(_LIMIT) leg.

    A SELL OCO puts the LIMIT_MAKER above the market and the stop below; a BUY OCO the reverse.
    """
    stop_type = "STOP_LOSS_LIMIT" if stop_limit_price is not None else "STOP_LOSS"
    limit_leg = {"Type": "LIMIT_MAKER", "Price": fmt(price)}
    stop_leg: dict[str, str] = {"Type": stop_type, "StopPrice": fmt(stop_price)}
    if stop_limit_price is not None:
        stop_leg |= {"Price": fmt(stop_limit_price), "TimeInForce": "GTC"}
    above, below = (limit_leg, stop_leg) if side is Side.SELL else (stop_leg, limit_leg)
    params: dict[str, Any] = {
        "symbol": symbol.upper(),
        "side": side.value,
        "quantity": fmt(quantity),
        "listClientOrderId": list_client_order_id,
        "newOrderRespType": "FULL",
    }
    params |= {f"above{k}": v for k, v in above.items()}
    params |= {f"below{k}": v for k, v in below.items()}
    return params


def cancel_replace_params(
    request: OrderRequest, client_order_id: str, cancel_order_id: int | str | None, cancel_client_order_id: str | None
) -> dict[str, Any]:
    """``POST /api/v3/order/cancelReplace`` parameters (``cancelReplaceMode=STOP_ON_FAILURE``)."""
    params = order_params(request, client_order_id)
    params["cancelReplaceMode"] = "STOP_ON_FAILURE"
    ref = order_ref(request.symbol, cancel_order_id, cancel_client_order_id)
    if "orderId" in ref:
        params["cancelOrderId"] = ref["orderId"]
    else:
        params["cancelOrigClientOrderId"] = ref["origClientOrderId"]
    return params


def error_data(exc: ExchangeError) -> dict[str, Any] | None:
    """The ``data`` object of a REST error body (cancelReplace 409), read from the answer behind ``exc``
    (:class:`~tradingmcp.server.exchanges.binance.errors.RestReply`, its ``__cause__``)."""
    body = getattr(exc.__cause__, "body", None)
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else None
