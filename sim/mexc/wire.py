"""MEXC wire conventions for the simulator's MEXC face (sans-I/O): plain decimals, string order ids, order types,
and Binance-engine errors rewritten as MEXC error bodies.

MEXC bodies follow https://mexcdevelop.github.io/apidocs/spot_v3_en/ (order rows, error codes table). Decimals are
plain strings without trailing zeros (``"60000"``, ``"0.001"``), order ids are strings (``"C02__…"``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.sim import errors as binance_errors
from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.state import Order

ORDER_ID_PREFIX = "C02__"
"""Prefix of MEXC spot order ids (``C02__385413065019117569043``)."""

# MEXC REST order type -> (Binance engine type, timeInForce or None)
ORDER_TYPES: dict[str, tuple[str, str | None]] = {
    "LIMIT": ("LIMIT", "GTC"),
    "MARKET": ("MARKET", None),
    "LIMIT_MAKER": ("LIMIT_MAKER", None),
    "IMMEDIATE_OR_CANCEL": ("LIMIT", "IOC"),
    "FILL_OR_KILL": ("LIMIT", "FOK"),
}


def plain(value: Decimal | str | int) -> str:
    """A decimal as MEXC writes it: plain notation, no trailing zeros (``Decimal("5.00")`` → ``"5"``, any zero →
    ``"0"``, never an exponent)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return "0" if number == 0 else format(number.normalize(), "f")


def mexc_type(engine_type: str, time_in_force: str) -> str:
    """The MEXC type of an engine order (LIMIT + IOC → ``IMMEDIATE_OR_CANCEL``, LIMIT + FOK → ``FILL_OR_KILL``)."""
    if engine_type == "LIMIT":
        return {"IOC": "IMMEDIATE_OR_CANCEL", "FOK": "FILL_OR_KILL"}.get(time_in_force, "LIMIT")
    return engine_type


class OrderIds:
    """Engine order ids (an int per symbol) ↔ MEXC's global string ids (``C02__<n>``)."""

    def __init__(self, first: int = 100_000_001) -> None:
        self._next = first
        self._wire: dict[tuple[str, int], str] = {}
        self._engine: dict[str, tuple[str, int]] = {}

    def wire(self, symbol: str, order_id: int) -> str:
        """The MEXC id of engine order ``(symbol, order_id)`` (allocated on first use)."""
        key = (symbol, order_id)
        out = self._wire.get(key)
        if out is None:
            out = f"{ORDER_ID_PREFIX}{self._next}"
            self._next += 1
            self._wire[key] = out
            self._engine[out] = key
        return out

    def engine(self, wire_id: str) -> tuple[str, int] | None:
        """``(symbol, engine order id)`` for a MEXC id, or None when unknown."""
        return self._engine.get(wire_id)


def _order_state(order: Order) -> dict[str, Any]:
    """The order-state fields the order rows and cancel answers share, in MEXC's order (``price`` … ``side``)."""
    return {
        "price": plain(order.price),
        "origQty": plain(order.orig_qty),
        "executedQty": plain(order.executed_qty),
        "cummulativeQuoteQty": plain(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": None,
        "type": mexc_type(order.type, order.time_in_force),
        "side": order.side,
    }


def order_row(order: Order, ids: OrderIds) -> dict[str, Any]:
    """A ``GET /api/v3/order`` body (also openOrders / allOrders rows), MEXC's shape."""
    return {
        "symbol": order.symbol,
        "orderId": ids.wire(order.symbol, order.order_id),
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        **_order_state(order),
        "stopPrice": None,
        "icebergQty": None,
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "origQuoteOrderQty": plain(order.orig_quote_order_qty),
    }


def order_placed(order: Order, ids: OrderIds, transact_time: int) -> dict[str, Any]:
    """``POST /api/v3/order`` answer (MEXC's short form)."""
    return {
        "symbol": order.symbol,
        "orderId": ids.wire(order.symbol, order.order_id),
        "orderListId": -1,
        "price": plain(order.price),
        "origQty": plain(order.orig_qty),
        "type": mexc_type(order.type, order.time_in_force),
        "side": order.side,
        "transactTime": transact_time,
    }


def order_canceled(order: Order, ids: OrderIds) -> dict[str, Any]:
    """``DELETE /api/v3/order`` answer (also ``DELETE /api/v3/openOrders`` rows)."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": ids.wire(order.symbol, order.order_id),
        "clientOrderId": order.client_order_id,
        **_order_state(order),
    }


# ---- errors --------------------------------------------------------------------------------------------------------


class MexcError(Exception):
    """A MEXC error answer: ``{"code": code, "msg": msg}`` with HTTP ``status``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"code": self.code, "msg": self.msg}


def bad_symbol() -> MexcError:
    """10007 "bad symbol" (not listed / not served)."""
    return MexcError(10007, "bad symbol")


def insufficient_balance() -> MexcError:
    """10101 "Insufficient balance"."""
    return MexcError(10101, "Insufficient balance")


def unknown_order(cancel: bool = False) -> MexcError:
    """-2011 "Unknown order sent." (cancel) or -2013 "Order does not exist." (query)."""
    return MexcError(-2011, "Unknown order sent.") if cancel else MexcError(-2013, "Order does not exist.")


def need_order_ref() -> MexcError:
    """700004: neither orderId nor origClientOrderId was sent."""
    return MexcError(700004, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")


def listen_key_unknown() -> MexcError:
    """730706 "listenKey not exist"."""
    return MexcError(730706, "listenKey not exist")


def illegal_characters() -> MexcError:
    """700008 "Illegal characters found in parameter." (MEXC's error codes table)."""
    return MexcError(700008, "Illegal characters found in parameter.")


def parameter_error(detail: str) -> MexcError:
    """33333 "Parameter error" with what is wrong."""
    return MexcError(33333, f"Parameter error: {detail}")


def from_binance(exc: BinanceError) -> MexcError:
    """The MEXC error for a rejection of the (Binance-protocol) matching engine.

    -1121 → 10007; insufficient balance → 10101; -2011 → -2011; -2013 → -2013; missing order reference → 700004;
    other parameter errors (-1100…-1131) and filter failures (-1013, -1111) → 33333 with the engine's message; other
    order rejections keep Binance's code and message (MEXC has no documented code for them).
    """
    code, msg = exc.code, exc.msg
    if code == binance_errors.BAD_SYMBOL:
        return bad_symbol()
    if code == binance_errors.NEW_ORDER_REJECTED and msg == binance_errors.MSG_INSUFFICIENT_BALANCE:
        return insufficient_balance()
    if code == binance_errors.CANCEL_REJECTED:
        return unknown_order(cancel=True)
    if code == binance_errors.NO_SUCH_ORDER:
        return unknown_order()
    if code == binance_errors.MANDATORY_PARAM_EMPTY_OR_MALFORMED and "orderId" in msg:
        return need_order_ref()
    if code in (binance_errors.INVALID_MESSAGE, binance_errors.BAD_PRECISION) or -1131 <= code <= -1100:
        return parameter_error(msg)
    if exc.http_status == 429:
        return MexcError(429, "Too Many Requests", 429)
    return MexcError(code, msg, 400)
