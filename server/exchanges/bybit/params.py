"""Pure builders of Bybit V5 request parameters (no I/O): order creation, order references, client order ids.

Names follow https://bybit-exchange.github.io/docs/v5/order/create-order (spot): ``side`` ``Buy``/``Sell``,
``orderType`` ``Limit``/``Market``, ``timeInForce`` ``GTC``/``IOC``/``FOK``/``PostOnly`` (LIMIT_MAKER), ``qty`` with
``marketUnit`` ``baseCoin``/``quoteCoin`` for market orders, ``orderLinkId`` (≤ 36 of ``[A-Za-z0-9_-]``). Decimals are
sent as plain strings (never ``1E-5``).
"""

from __future__ import annotations

import uuid
from typing import Any

from tradingmcp.server.exchanges.bybit.errors import bybit_error
from tradingmcp.server.exchanges.errors import BadParameter, NotSupported
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, TimeInForce
from tradingmcp.server.exchanges.wire import plain

CATEGORY = "spot"


def new_client_order_id(prefix: str = "tmcp") -> str:
    """A fresh ``orderLinkId`` (prefix + hex, 32 characters)."""
    return prefix + uuid.uuid4().hex[: 32 - len(prefix)]


def order_body(req: OrderRequest, client_order_id: str) -> dict[str, Any]:
    """The ``POST /v5/order/create`` body for ``req``.

    Raises:
        NotSupported: a stop/take-profit type (the adapter offers LIMIT, MARKET, LIMIT_MAKER).
        BadParameter: a MARKET order without exactly one of quantity / quote quantity, a LIMIT without a price, or a
            quote quantity on a non-MARKET order.
    """
    body: dict[str, Any] = {"category": CATEGORY, "symbol": req.symbol, "side": "Buy" if req.side.value == "BUY"
                            else "Sell"}  # fmt: skip
    if req.type is OrderType.MARKET:
        if (req.quantity is None) == (req.quote_order_qty is None):
            raise bybit_error(BadParameter, None, "a MARKET order takes exactly one of quantity or quote_order_qty")
        body["orderType"] = "Market"
        if req.quantity is not None:
            body["qty"], body["marketUnit"] = plain(req.quantity), "baseCoin"
        else:
            assert req.quote_order_qty is not None
            body["qty"], body["marketUnit"] = plain(req.quote_order_qty), "quoteCoin"
    elif req.type in (OrderType.LIMIT, OrderType.LIMIT_MAKER):
        if req.price is None or req.quantity is None:
            raise bybit_error(BadParameter, None, f"a {req.type.value} order needs quantity and price")
        body["orderType"] = "Limit"
        body["qty"], body["price"] = plain(req.quantity), plain(req.price)
        tif = req.time_in_force or TimeInForce.GTC
        body["timeInForce"] = "PostOnly" if req.type is OrderType.LIMIT_MAKER else tif.value
    else:
        raise bybit_error(NotSupported, None, f"the Bybit adapter places no {req.type.value} orders")
    body["orderLinkId"] = client_order_id
    return body


def order_ref(symbol: str, order_id: str | int | None, client_order_id: str | None) -> dict[str, Any]:
    """``{category, symbol, orderId | orderLinkId}`` naming one order (``orderId`` wins when both are given).

    Raises:
        BadParameter: neither id given.
    """
    if order_id is None and not client_order_id:
        raise bybit_error(BadParameter, None, "send order_id or client_order_id")
    out: dict[str, Any] = {"category": CATEGORY, "symbol": symbol}
    if order_id is not None:
        out["orderId"] = str(order_id)
    else:
        out["orderLinkId"] = client_order_id
    return out
