"""MEXC Spot v3 order, fill, account and listenKey REST bodies → exchange-neutral models (pure functions, no I/O).

Covers the trade and account endpoints (https://mexcdevelop.github.io/apidocs/spot_v3_en/#spot-account-trade) and the
listenKey endpoints of the user data stream. Field names follow the wire. MEXC differs from Binance in ways that matter
here:

* ids are strings (``orderId`` ``"C02__385413065019117569043"``, trade ``id`` hex); nulls are common
  (``clientOrderId``);
* order types ``IMMEDIATE_OR_CANCEL``/``FILL_OR_KILL`` are LIMIT orders with time in force IOC/FOK; status
  ``PARTIALLY_CANCELED`` maps to CANCELED.

Every function raises ``KeyError``/``ValueError``/``TypeError`` on a malformed body; the caller wraps that.
Re-exported by the ``parse`` package; the private pushes (protobuf) are read in :mod:`.pushes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.mexc.errors import error_for_code
from tradingmcp.server.exchanges.models import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tradingmcp.server.exchanges.wire import dec

Json = Mapping[str, Any]

# MEXC REST order type -> (neutral type, time in force)
ORDER_TYPES: dict[str, tuple[OrderType, TimeInForce | None]] = {
    "LIMIT": (OrderType.LIMIT, TimeInForce.GTC),
    "MARKET": (OrderType.MARKET, None),
    "LIMIT_MAKER": (OrderType.LIMIT_MAKER, None),
    "IMMEDIATE_OR_CANCEL": (OrderType.LIMIT, TimeInForce.IOC),
    "FILL_OR_KILL": (OrderType.LIMIT, TimeInForce.FOK),
    "STOP_LIMIT": (OrderType.STOP_LOSS_LIMIT, TimeInForce.GTC),
}

ORDER_STATUSES: dict[str, OrderStatus] = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PARTIALLY_CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
}


def _int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    return int(value)


def _id(value: Any) -> int | str:
    """A MEXC id: ints and numeric strings as int, other strings (hex/prefixed ids) unchanged, null/"" as -1."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        return int(value) if value.isdigit() else value
    return -1


def order(body: Json) -> Order:
    """An order body (``POST /api/v3/order`` answer, ``GET /api/v3/order``, cancel, openOrders/allOrders rows) → Order.

    The placement answer is short (``{symbol, orderId, orderListId, price, origQty, type, side, transactTime}``):
    status NEW and nothing executed are assumed. In a cancel answer ``origClientOrderId`` is the order's own id.
    ``orig_qty`` is ``origQty`` (older docs: ``Qty``).
    """
    otype, tif = ORDER_TYPES.get(str(body.get("type", "LIMIT")), (OrderType.LIMIT, TimeInForce.GTC))
    wire_tif = str(body.get("timeInForce") or "")
    if wire_tif in TimeInForce.__members__ and otype is OrderType.LIMIT:
        tif = TimeInForce(wire_tif)
    time_ms = _int(body.get("time", body.get("transactTime")))
    return Order(
        order_id=str(body["orderId"]),
        client_order_id=str(body.get("origClientOrderId") or body.get("clientOrderId") or ""),
        symbol=body["symbol"],
        side=Side(body.get("side", "BUY")),
        type=otype,
        time_in_force=tif,
        price=dec(body.get("price")),
        stop_price=dec(body.get("stopPrice")),
        orig_qty=dec(body.get("origQty", body.get("Qty"))),
        executed_qty=dec(body.get("executedQty")),
        cumulative_quote_qty=dec(body.get("cummulativeQuoteQty")),
        status=ORDER_STATUSES.get(str(body.get("status", "NEW")), OrderStatus.NEW),
        time_ms=time_ms,
        update_time_ms=_int(body.get("updateTime"), time_ms),
        order_list_id=_int(body.get("orderListId"), -1),
    )


def my_trade(row: Json) -> Fill:
    """``GET /api/v3/myTrades`` row → Fill (MEXC's string ids kept: ``orderId`` as sent, trade ``id`` via ``_id``)."""
    return Fill(
        symbol=row["symbol"],
        trade_id=_id(row.get("id")),
        order_id=str(row["orderId"]) if row.get("orderId") is not None else -1,
        price=dec(row["price"]),
        qty=dec(row["qty"]),
        quote_qty=dec(row.get("quoteQty")),
        commission=dec(row.get("commission")),
        commission_asset=str(row.get("commissionAsset") or ""),
        is_maker=bool(row.get("isMaker", False)),
        time_ms=_int(row["time"]),
        is_buyer=bool(row["isBuyer"]) if "isBuyer" in row else None,
    )


def listen_key(body: Json) -> str:
    """``POST/PUT/DELETE /api/v3/userDataStream`` body ``{"listenKey": "..."}`` → the key."""
    return str(body["listenKey"])


def batch_orders(body: Sequence[Json]) -> list[Order | ExchangeError]:
    """``POST /api/v3/batchOrders`` answer → one Order or one typed error per requested order, in request order.

    Failed entries look like ``{"newClientOrderId": "...", "msg": "...", "code": 30002}``; successful ones carry at
    least ``symbol``, ``orderId`` (placement short form).
    """
    out: list[Order | ExchangeError] = []
    for row in body:
        if "code" in row and "orderId" not in row:
            out.append(error_for_code(_int(row["code"]), str(row.get("msg", ""))))
        else:
            out.append(order({**row, "clientOrderId": row.get("clientOrderId") or row.get("newClientOrderId")}))
    return out
