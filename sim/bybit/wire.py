"""Bybit V5 wire conventions for the simulator's Bybit face (sans-I/O): the ``{retCode, retMsg, result,
retExtInfo, time}`` envelope, plain decimals, string order ids, V5 enums, order rows, and the matching engine's
(Binance-protocol) rejections rewritten as Bybit ``retCode`` values.

Follows https://bybit-exchange.github.io/docs/v5/intro (envelope), /v5/enum (orderStatus, timeInForce, side,
orderType) and /v5/error (codes). Bybit answers most errors with HTTP 200 and a non-zero ``retCode``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.sim import errors as binance_errors
from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.state import Order

FIRST_ORDER_ID = 1_900_000_000_000_000_001
"""Bybit order ids are 19-digit numbers sent as strings; the face counts up from here."""

# codes (https://bybit-exchange.github.io/docs/v5/error)
PARAMS_ERROR = 10001
TIMESTAMP_ERROR = 10002
INVALID_API_KEY = 10003
SIGN_ERROR = 10004
TOO_MANY_VISITS = 10006
SERVER_ERROR = 10016
INVALID_SYMBOL = 170121
PRICE_DECIMALS = 170134
QTY_DECIMALS = 170137
QTY_TOO_SMALL = 170136
QTY_TOO_LARGE = 170135
VALUE_TOO_SMALL = 170140
VALUE_TOO_LARGE = 170124
INSUFFICIENT_BALANCE = 170131
DUPLICATE_LINK_ID = 170141
ORDER_NOT_EXIST = 170213
POST_ONLY_WOULD_TAKE = 170218
INVALID_PARAM = 170130

STATUS = {
    "NEW": "New",
    "PARTIALLY_FILLED": "PartiallyFilled",
    "FILLED": "Filled",
    "CANCELED": "Cancelled",
    "EXPIRED": "Cancelled",
    "EXPIRED_IN_MATCH": "Cancelled",
    "REJECTED": "Rejected",
}
"""Engine (Binance) status → Bybit ``orderStatus``; a cancelled order with fills is ``PartiallyFilledCanceled``."""


def plain(value: Decimal | str | int) -> str:
    """A decimal as Bybit writes it: plain notation, no exponent, no trailing zeros (``"0"`` for zero)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if number == 0:
        return "0"
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def envelope(result: Any, now_ms: int, code: int = 0, msg: str = "OK") -> dict[str, Any]:
    """Bybit's response body."""
    return {"retCode": code, "retMsg": msg, "result": result if result is not None else {}, "retExtInfo": {},
            "time": now_ms}  # fmt: skip


class BybitError(Exception):
    """A Bybit error answer: ``retCode``/``retMsg`` with HTTP ``status`` (200 for most, as Bybit does)."""

    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


def params_error(detail: str) -> BybitError:
    """10001 with what is wrong."""
    return BybitError(PARAMS_ERROR, f"params error: {detail}")


def invalid_symbol() -> BybitError:
    """170121 "Invalid symbol."."""
    return BybitError(INVALID_SYMBOL, "Invalid symbol.")


def order_not_exist() -> BybitError:
    """170213 "Order does not exist."."""
    return BybitError(ORDER_NOT_EXIST, "Order does not exist.")


class OrderIds:
    """Engine order ids (an int per symbol) ↔ Bybit's global numeric string ids."""

    def __init__(self, first: int = FIRST_ORDER_ID) -> None:
        self._next = first
        self._wire: dict[tuple[str, int], str] = {}
        self._engine: dict[str, tuple[str, int]] = {}

    def wire(self, symbol: str, order_id: int) -> str:
        """The Bybit id of engine order ``(symbol, order_id)`` (allocated on first use)."""
        key = (symbol, order_id)
        out = self._wire.get(key)
        if out is None:
            out = str(self._next)
            self._next += 1
            self._wire[key] = out
            self._engine[out] = key
        return out

    def engine(self, wire_id: str) -> tuple[str, int] | None:
        """``(symbol, engine order id)`` for a Bybit id, or None."""
        return self._engine.get(wire_id)


def side(engine_side: str) -> str:
    """``BUY`` → ``Buy``, ``SELL`` → ``Sell``."""
    return "Buy" if engine_side == "BUY" else "Sell"


def order_type(engine_type: str) -> str:
    """``MARKET`` → ``Market``; LIMIT and LIMIT_MAKER → ``Limit``."""
    return "Market" if engine_type == "MARKET" else "Limit"


def time_in_force(order: Order) -> str:
    """``PostOnly`` for LIMIT_MAKER, ``IOC`` for MARKET (Bybit runs market orders as IOC), else the engine's."""
    if order.type == "LIMIT_MAKER":
        return "PostOnly"
    if order.type == "MARKET":
        return "IOC"
    return order.time_in_force or "GTC"


def status(order: Order) -> str:
    """Bybit ``orderStatus`` of an engine order."""
    if order.status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH") and order.executed_qty > 0:
        return "PartiallyFilledCanceled"
    return STATUS.get(order.status, "New")


def order_row(order: Order, ids: OrderIds, fee: Decimal = Decimal(0)) -> dict[str, Any]:
    """One ``/v5/order/realtime`` (and ``history``) list row, spot fields."""
    market = order.type == "MARKET"
    quote_market = market and order.orig_quote_order_qty > 0
    qty = order.orig_quote_order_qty if quote_market else order.orig_qty
    avg = order.cumm_quote_qty / order.executed_qty if order.executed_qty else Decimal(0)
    leaves = Decimal(0) if not order.is_open else order.orig_qty - order.executed_qty
    return {
        "orderId": ids.wire(order.symbol, order.order_id), "orderLinkId": order.client_order_id,
        "blockTradeId": "", "symbol": order.symbol, "price": plain(order.price) if not market else "0",
        "qty": plain(qty), "side": side(order.side), "isLeverage": "0", "positionIdx": 0,
        "orderStatus": status(order), "cancelType": "UNKNOWN", "rejectReason": "EC_NoError",
        "avgPrice": plain(avg), "leavesQty": plain(leaves), "leavesValue": plain(leaves * order.price),
        "cumExecQty": plain(order.executed_qty), "cumExecValue": plain(order.cumm_quote_qty),
        "cumExecFee": plain(fee), "timeInForce": time_in_force(order), "orderType": order_type(order.type),
        "stopOrderType": "", "orderIv": "", "marketUnit": ("quoteCoin" if quote_market else "baseCoin") if market else "",
        "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0", "tpslMode": "", "ocoTriggerBy": "",
        "createdTime": str(order.time), "updatedTime": str(order.update_time or order.time),
        "smpType": "None", "smpGroup": 0, "smpOrderId": "", "category": "spot",
    }  # fmt: skip


def from_binance(exc: BinanceError) -> BybitError:
    """The Bybit error for a rejection of the (Binance-protocol) matching engine.

    -1121 → 170121; insufficient balance → 170131; duplicate client id → 170141; would take (post-only) → 170218;
    -2011/-2013 → 170213; parameter errors (-1100…-1131) and filter failures (-1013) → 10001 with the engine's
    message; anything else → 170130 with the engine's message.
    """
    code, msg = exc.code, exc.msg
    if code == binance_errors.BAD_SYMBOL:
        return invalid_symbol()
    if code == binance_errors.NEW_ORDER_REJECTED:
        if msg == binance_errors.MSG_INSUFFICIENT_BALANCE:
            return BybitError(INSUFFICIENT_BALANCE, "Insufficient balance.")
        if msg == binance_errors.MSG_DUPLICATE_ORDER:
            return BybitError(DUPLICATE_LINK_ID, "Duplicate clientOrderId.")
        if msg == binance_errors.MSG_WOULD_TAKE:
            return BybitError(POST_ONLY_WOULD_TAKE, "The LIMIT-MAKER order is rejected due to its price.")
    if code in (binance_errors.CANCEL_REJECTED, binance_errors.NO_SUCH_ORDER):
        return order_not_exist()
    if code == binance_errors.INVALID_MESSAGE or -1131 <= code <= -1100:
        return params_error(msg)
    return BybitError(INVALID_PARAM, msg)
