"""The simulator's Binance bodies and ``executionReport`` events straight into the tool shapes (pure).

The live server reads an order body with :func:`tradingmcp.server.exchanges.binance.parse.order` (and
``cancel_replace`` / ``execution_report``) into its models and renders them with
:func:`tradingmcp.server.tools.shapes.order_json` / ``order_event_json``. A backtest asks the same of every action and
order event, and the models (frozen dataclasses, enums) cost more than the rest of the step; the functions here go
from the wire dict to the same shape in one pass, with the same field rules and the same number formatting
(:func:`tradingmcp.server.exchanges.wire.plain` of the wire string's ``Decimal``, cached per string). They read only
what the simulator writes; ``tests/research/backtest/test_results.py`` checks them equal to the server's path on a
replay and on hand-made bodies.

Raises (every function): ``KeyError`` for a missing required field, ``ValueError`` for an unknown side, type, status
or execution type, as the server's parsers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradingmcp.server.exchanges.models import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from tradingmcp.server.exchanges.wire import dec, plain

__all__ = ["cancel_replace_of", "order_event_of", "order_json_of"]

Json = Mapping[str, Any]

_SIDES = frozenset(Side.__members__.values())
_TYPES = frozenset(OrderType.__members__.values())
_STATUSES = frozenset(OrderStatus.__members__.values())
_OPEN = frozenset(s for s in OrderStatus if s.is_open)
_EXEC_TYPES = frozenset(ExecutionType.__members__.values())

_PLAIN: dict[str, str] = {}
PLAIN_CACHE_MAX = 1 << 14
"""Wire number strings kept with their plain form (prices, quantities and zeros recur); emptied when full."""


def _checked(value: Any, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not a valid {what}")
    return str(value)


def _plain(value: Any) -> str:
    """``plain(dec(value))``: a wire number (string, int or None) in plain notation."""
    if not isinstance(value, str):
        return plain(dec(value))
    text = _PLAIN.get(value)
    if text is None:
        if len(_PLAIN) >= PLAIN_CACHE_MAX:
            _PLAIN.clear()
        text = _PLAIN[value] = plain(dec(value))
    return text


def _tif(value: Any) -> str | None:
    return str(value) if value in TimeInForce.__members__ else None


def order_json_of(body: Json) -> dict[str, Any]:
    """``order_json(parse.order(body))`` for an order body (placement ACK/RESULT/FULL, cancel)."""
    symbol = body["symbol"]
    order_id = int(body["orderId"])
    side = _checked(body["side"], _SIDES, "Side") if "side" in body else "BUY"
    time_ms = int(body.get("time", body.get("transactTime", body.get("workingTime", 0))) or 0)
    update_ms = int(body.get("updateTime", body.get("transactTime", time_ms)) or time_ms)
    status = _checked(body.get("status", "NEW"), _STATUSES, "OrderStatus")
    executed_s = body.get("executedQty")
    executed = _plain(executed_s)
    cumulative_s = body.get("cummulativeQuoteQty")
    stop = _plain(body.get("stopPrice"))
    return {
        "order_id": order_id,
        "client_order_id": str(body.get("origClientOrderId") or body.get("clientOrderId", "")),
        "symbol": symbol,
        "side": side,
        "type": _checked(body["type"], _TYPES, "OrderType") if "type" in body else "LIMIT",
        "time_in_force": _tif(body.get("timeInForce")),
        "status": status,
        "is_open": status in _OPEN,
        "price": _plain(body.get("price")),
        "stop_price": stop,
        "orig_qty": _plain(body.get("origQty")),
        "executed_qty": executed,
        "cumulative_quote_qty": _plain(cumulative_s),
        "avg_price": plain(dec(cumulative_s) / dec(executed_s)) if executed != "0" else "0",
        "time_ms": time_ms,
        "update_time_ms": update_ms,
        "order_list_id": int(body.get("orderListId", -1)),
        "fills": [_placement_fill(symbol, order_id, f, update_ms, side == "BUY") for f in body.get("fills", ())],
    }


def _placement_fill(symbol: str, order_id: int, row: Json, time_ms: int, is_buyer: bool) -> dict[str, Any]:
    price, qty = dec(row["price"]), dec(row["qty"])
    return {
        "symbol": symbol,
        "trade_id": int(row.get("tradeId", -1)),
        "order_id": order_id,
        "price": plain(price),
        "qty": plain(qty),
        "quote_qty": plain(price * qty),
        "commission": _plain(row.get("commission")),
        "commission_asset": str(row.get("commissionAsset", "")),
        "is_maker": False,
        "is_buyer": is_buyer,
        "time_ms": time_ms,
    }


def cancel_replace_of(body: Json) -> tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]:
    """``parse.cancel_replace(body)`` with its orders as ``order_json``: ``(cancel_result, new_order_result,
    cancelled, new_order)``."""
    cancel = body.get("cancelResponse")
    new = body.get("newOrderResponse")
    return (
        str(body.get("cancelResult", "")),
        str(body.get("newOrderResult", "")),
        order_json_of(cancel) if isinstance(cancel, Mapping) and "orderId" in cancel else None,
        order_json_of(new) if isinstance(new, Mapping) and "orderId" in new else None,
    )


def order_event_of(ev: Json) -> dict[str, Any]:
    """``order_event_json(parse.execution_report(ev))`` for an ``executionReport`` event."""
    order_id = int(ev["i"])
    side = _checked(ev["S"], _SIDES, "Side")
    exec_type = _checked(ev["x"], _EXEC_TYPES, "ExecutionType")
    client_id = (ev.get("C") or ev["c"]) if exec_type == "CANCELED" else ev["c"]
    symbol = ev["s"]
    fill = None
    if exec_type == "TRADE":
        price, qty = dec(ev["L"]), dec(ev["l"])
        fill = {
            "symbol": symbol,
            "trade_id": int(ev.get("t", -1)),
            "order_id": order_id,
            "price": plain(price),
            "qty": plain(qty),
            "quote_qty": _plain(ev["Y"]) if "Y" in ev else plain(price * qty),
            "commission": _plain(ev.get("n")),
            "commission_asset": str(ev.get("N") or ""),
            "is_maker": bool(ev.get("m", False)),
            "is_buyer": side == "BUY",
            "time_ms": int(ev["T"]),
        }
    type_ = _checked(ev["o"], _TYPES, "OrderType")
    time_in_force = _tif(ev.get("f"))
    status = _checked(ev["X"], _STATUSES, "OrderStatus")
    executed_s = ev.get("z")
    executed = _plain(executed_s)
    cumulative_s = ev.get("Z")
    order = {
        "order_id": order_id,
        "client_order_id": str(client_id),
        "symbol": symbol,
        "side": side,
        "type": type_,
        "time_in_force": time_in_force,
        "status": status,
        "is_open": status in _OPEN,
        "price": _plain(ev.get("p")),
        "stop_price": _plain(ev.get("P")),
        "orig_qty": _plain(ev.get("q")),
        "executed_qty": executed,
        "cumulative_quote_qty": _plain(cumulative_s),
        "avg_price": plain(dec(cumulative_s) / dec(executed_s)) if executed != "0" else "0",
        "time_ms": int(ev.get("O", ev.get("T", 0))),
        "update_time_ms": int(ev.get("T", ev.get("E", 0))),
        "order_list_id": int(ev.get("g", -1)),
        "fills": [],
    }
    return {
        "event": "order",
        "execution_type": exec_type,
        "event_time_ms": int(ev.get("E", 0)),
        "reject_reason": str(ev.get("r", "NONE")),
        "order": order,
        "fill": fill,
    }
