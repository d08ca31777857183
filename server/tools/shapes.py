"""JSON shapes of orders, fills and balances as every tool and push stream renders them (one shape everywhere; the
audit log stores order events in it, the order-path warmer of :mod:`tradingmcp.perf` renders with it).

Decimals are plain strings without exponent (``"0.01"``, never ``"1E-2"``); times are ms since the epoch; ``qty``
is in the base asset, ``quote_qty``/``cumulative_quote_qty``/``commission`` as named (commission in
``commission_asset``). Ids keep the exchange's type (int on Binance, str on MEXC).
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.exchanges.models import Balance, BalanceEvent, Fill, Order, OrderEvent
from tradingmcp.server.exchanges.wire import plain

__all__ = ["balance_event_json", "balance_json", "fill_json", "order_event_json", "order_json", "plain"]


def fill_json(f: Fill) -> dict[str, Any]:
    """``{symbol, trade_id, order_id, price, qty, quote_qty, commission, commission_asset, is_maker, is_buyer,
    time_ms}``."""
    return {
        "symbol": f.symbol,
        "trade_id": f.trade_id,
        "order_id": f.order_id,
        "price": plain(f.price),
        "qty": plain(f.qty),
        "quote_qty": plain(f.quote_qty),
        "commission": plain(f.commission),
        "commission_asset": f.commission_asset,
        "is_maker": f.is_maker,
        "is_buyer": f.is_buyer,
        "time_ms": f.time_ms,
    }


def order_json(o: Order) -> dict[str, Any]:
    """``{order_id, client_order_id, symbol, side, type, time_in_force, status, is_open, price, stop_price, orig_qty,
    executed_qty, cumulative_quote_qty, avg_price, time_ms, update_time_ms, order_list_id, fills[]}``."""
    # on every order's path: str() of a StrEnum member is its value (C, no descriptor), zeros skip plain(), and a
    # new order has no fills to render
    tif = o.time_in_force
    executed = o.executed_qty
    fills = o.fills
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": str(o.side),
        "type": str(o.type),
        "time_in_force": str(tif) if tif else None,
        "status": str(o.status),
        "is_open": o.status.is_open,
        "price": plain(o.price),
        "stop_price": plain(o.stop_price) if o.stop_price else "0",
        "orig_qty": plain(o.orig_qty),
        "executed_qty": plain(executed) if executed else "0",
        "cumulative_quote_qty": plain(o.cumulative_quote_qty),
        "avg_price": plain(o.cumulative_quote_qty / executed) if executed else "0",
        "time_ms": o.time_ms,
        "update_time_ms": o.update_time_ms,
        "order_list_id": o.order_list_id,
        "fills": [fill_json(f) for f in fills] if fills else [],
    }


def balance_json(b: Balance) -> dict[str, Any]:
    """``{asset, free, locked, total}`` in ``asset`` units."""
    return {"asset": b.asset, "free": plain(b.free), "locked": plain(b.locked), "total": plain(b.total)}


def order_event_json(ev: OrderEvent) -> dict[str, Any]:
    """An account order update (push stream ``orders:<exchange>``): ``{event: "order", execution_type,
    event_time_ms, reject_reason, order: order_json, fill: fill_json | None}``."""
    return {
        "event": "order",
        "execution_type": ev.execution_type.value,
        "event_time_ms": ev.event_time_ms,
        "reject_reason": ev.reject_reason,
        "order": order_json(ev.order),
        "fill": fill_json(ev.last_fill) if ev.last_fill is not None else None,
    }


def balance_event_json(ev: BalanceEvent) -> dict[str, Any]:
    """An account balance update (push stream ``balances:<exchange>``): ``{event: "balance", event_time_ms,
    balances: [balance_json], delta_asset, delta}``."""
    return {
        "event": "balance",
        "event_time_ms": ev.event_time_ms,
        "balances": [balance_json(b) for b in ev.balances],
        "delta_asset": ev.delta_asset,
        "delta": plain(ev.delta) if ev.delta is not None else None,
    }
