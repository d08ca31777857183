"""Tool arguments → :class:`OrderRequest`, and the short texts and JSON of orders (sans-I/O): the order path's input,
shared by the trading tools, the desk (fingerprints, duplicate checks) and :mod:`tradingmcp.perf` (which re-runs
:func:`parse_order`). The arguments' JSON Schemas are in :mod:`tradingmcp.server.tools.trading.schemas`.

Argument names follow the tool contract (``quantity`` in the base asset, ``quote_quantity`` in the quote asset for
MARKET orders only, ``price``/``stop_price`` in the quote asset, ``time_in_force`` GTC|IOC|FOK). Decimals are given
as strings (``"0.001"``: at most 20 digits before and 20 after the point, no sign or exponent); JSON numbers are
accepted and read through their shortest text form. Every one goes through
:func:`~tradingmcp.server.decimals.decimal_arg`: a refused decimal is JSON-RPC ``-32602`` naming the argument.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from tradingmcp.server.decimals import decimal_arg
from tradingmcp.server.exchanges.models import Order, OrderList, OrderRequest, OrderType, Side, TimeInForce
from tradingmcp.server.exchanges.rules import PRICED_TYPES
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.trading.idempotency import check_client_order_id, new_client_order_id

_ZERO = Decimal(0)
_ORDER_TYPES = {t.value: t for t in OrderType}
_TIME_IN_FORCE = {t.value: t for t in TimeInForce}
_SIDES = {s.value: s for s in Side}
"""Enum members by wire value: a dict lookup instead of the enum call on every order (unknown values still go
through the enum call, which raises ``ValueError`` as before)."""


def _not_positive(name: str, raw: object) -> ToolError:
    return ToolError(
        f'{name} must be a positive decimal like "0.001", got {raw!r}', "invalid_argument", {"field": name}
    )


def parse_order(args: dict[str, Any], generate_id: bool = True, path: str = "arguments") -> OrderRequest:
    """An :class:`OrderRequest` from ``place_order`` arguments (symbol upper-cased, client order id generated).

    Args:
        path: where ``args`` sit in the request, for errors (``arguments.orders[2]`` for a batch item).

    Raises:
        InvalidDecimal: -32602 for a decimal :func:`~tradingmcp.server.decimals.decimal_arg` refuses.
        ToolError: ``invalid_argument`` for an impossible combination (both quantities, ``quote_quantity`` on a
            non-MARKET order, ``time_in_force`` on MARKET/LIMIT_MAKER) or a malformed client order id.
    """
    get = args.get
    return order_request(
        args["symbol"],
        args["side"],
        get("type"),
        decimal_arg(args, "quantity", path=path) if "quantity" in args else None,
        decimal_arg(args, "quote_quantity", path=path) if "quote_quantity" in args else None,
        decimal_arg(args, "price", path=path) if "price" in args else None,
        decimal_arg(args, "stop_price", path=path) if "stop_price" in args else None,
        get("time_in_force"),
        get("client_order_id"),
        generate_id,
    )


def order_request(
    symbol: object,
    side: str,
    type_name: str | None,
    quantity: Decimal | None,
    quote_qty: Decimal | None,
    price: Decimal | None,
    stop_price: Decimal | None,
    time_in_force: str | None,
    client_order_id: str | None,
    generate_id: bool = True,
) -> OrderRequest:
    """The :class:`OrderRequest` of already parsed values, with the checks of :func:`parse_order` (wire names:
    ``side`` BUY|SELL, ``type_name`` an order type, default LIMIT when ``price`` is given else MARKET,
    ``time_in_force`` GTC|IOC|FOK or None/"" for the default).

    Raises:
        ToolError: ``invalid_argument`` (see :func:`parse_order`). ValueError: an unknown side, type or time in force.
    """
    type_name = type_name or ("LIMIT" if price is not None else "MARKET")
    order_type = _ORDER_TYPES.get(type_name) or OrderType(type_name)
    if (quantity is None) == (quote_qty is None):
        raise ToolError(
            "give exactly one of quantity (base asset) or quote_quantity (quote asset, MARKET only)",
            "invalid_argument",
            {"field": "quantity"},
        )
    if quote_qty is not None and order_type is not OrderType.MARKET:
        raise ToolError(
            "quote_quantity is only allowed on MARKET orders; give quantity instead",
            "invalid_argument",
            {"field": "quote_quantity"},
        )
    if order_type is OrderType.MARKET and price is not None:
        raise ToolError(
            "a MARKET order takes no price; use type LIMIT for a limit price", "invalid_argument", {"field": "price"}
        )
    tif: TimeInForce | None = None
    if time_in_force:
        if order_type is OrderType.MARKET or order_type is OrderType.LIMIT_MAKER:
            raise ToolError(
                f"time_in_force does not apply to {order_type.value} orders",
                "invalid_argument",
                {"field": "time_in_force"},
            )
        tif = _TIME_IN_FORCE.get(time_in_force) or TimeInForce(time_in_force)
    elif order_type in PRICED_TYPES and order_type is not OrderType.LIMIT_MAKER:
        tif = TimeInForce.GTC
    cid = client_order_id
    if cid is not None:
        cid = check_client_order_id(cid)
    elif generate_id:
        cid = new_client_order_id()
    return OrderRequest(
        str(symbol).upper(),
        _SIDES.get(side) or Side(side),
        order_type,
        quantity,
        quote_qty,
        price,
        stop_price,
        tif,
        cid,
    )


def replacement_request(old: Order, args: dict[str, Any]) -> OrderRequest:
    """The new order of ``replace_order``: the fields given in ``args`` (``side``, ``type``, ``quantity``, ``price``,
    ``stop_price``, ``time_in_force``, ``new_client_order_id``) over the old order's values; the quantity defaults
    to the unfilled remainder. A price is kept unless the new type is MARKET, a stop price only for
    STOP_LOSS_LIMIT/TAKE_PROFIT_LIMIT, a time in force unless MARKET/LIMIT_MAKER.

    Raises:
        InvalidDecimal, ToolError: as :func:`parse_order` (e.g. nothing left to replace: remainder 0).
    """
    get = args.get
    new_type = get("type") or old.type.value
    quantity = decimal_arg(args, "quantity")
    if quantity is None:
        remaining = plain(old.orig_qty - old.executed_qty)
        quantity = Decimal(remaining)
        if quantity <= _ZERO:
            raise _not_positive("quantity", remaining)
    price = None
    if new_type != "MARKET":
        price = decimal_arg(args, "price")
        if price is None and old.price:
            price = Decimal(plain(old.price))
    stop_price = None
    if new_type in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        stop_price = decimal_arg(args, "stop_price")
        if stop_price is None and old.stop_price:
            stop_price = Decimal(plain(old.stop_price))
    tif = None
    if new_type not in ("MARKET", "LIMIT_MAKER"):
        tif = get("time_in_force") or (old.time_in_force.value if old.time_in_force else None)
    return order_request(
        old.symbol,
        get("side") or old.side.value,
        new_type,
        quantity,
        None,
        price,
        stop_price,
        tif,
        get("new_client_order_id"),
    )


def order_ref(args: dict[str, Any]) -> tuple[int | str | None, str | None]:
    """``(order_id, client_order_id)`` from tool arguments (a numeric string id becomes an int).

    Raises:
        ToolError: ``invalid_argument`` when neither is given.
    """
    order_id, cid = args.get("order_id"), args.get("client_order_id")
    if order_id is None and cid is None:
        raise ToolError("give order_id or client_order_id", "invalid_argument", {"field": "order_id"})
    if isinstance(order_id, str) and order_id.isdigit():
        order_id = int(order_id)
    return order_id, cid


def fingerprint(venue: str, r: OrderRequest) -> str:
    """A digest of everything that defines the order except its client id (binds confirmation tokens)."""

    def d(v: Decimal | None) -> str:
        return plain(v) if v is not None else "-"

    text = "|".join(
        [
            venue,
            r.symbol,
            r.side.value,
            r.type.value,
            d(r.quantity),
            d(r.quote_order_qty),
            d(r.price),
            d(r.stop_price),
            r.time_in_force.value if r.time_in_force else "-",
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def request_json(r: OrderRequest) -> dict[str, Any]:
    """The normalized order as checked: ``{symbol, side, type, quantity, quote_quantity, price, stop_price,
    time_in_force, client_order_id}`` (decimals as strings, None when not set)."""

    def d(v: Decimal | None) -> str | None:
        return plain(v) if v is not None else None

    return {
        "symbol": r.symbol,
        "side": r.side.value,
        "type": r.type.value,
        "quantity": d(r.quantity),
        "quote_quantity": d(r.quote_order_qty),
        "price": d(r.price),
        "stop_price": d(r.stop_price),
        "time_in_force": r.time_in_force.value if r.time_in_force else None,
        "client_order_id": r.client_order_id,
    }


def differing_fields(r: OrderRequest, o: Order) -> list[str]:
    """Fields of ``r`` that differ from the existing order ``o`` (a reused client order id with other values)."""
    out = [
        name
        for name, a, b in (("symbol", r.symbol, o.symbol), ("side", r.side, o.side), ("type", r.type, o.type))
        if a != b
    ]
    if r.quantity is not None and r.quantity != o.orig_qty:
        out.append("quantity")
    if r.price is not None and r.price != o.price:
        out.append("price")
    if r.stop_price is not None and r.stop_price != o.stop_price:
        out.append("stop_price")
    return out


def request_text(r: OrderRequest) -> str:
    """``BUY 0.001 BTCUSDT LIMIT @ 60000`` (or ``BUY 100 USDT of BTCUSDT MARKET``)."""
    amount = (
        f"{plain(r.quantity)} {r.symbol}"
        if r.quantity is not None
        else (f"{plain(r.quote_order_qty or Decimal(0))} (quote) of {r.symbol}")
    )
    text = f"{r.side.value} {amount} {r.type.value}"
    if r.price is not None:
        text += f" @ {plain(r.price)}"
    if r.stop_price is not None:
        text += f" stop {plain(r.stop_price)}"
    return text


def order_text(o: Order) -> str:
    """``BUY 0.001 BTCUSDT LIMIT @ 60000 → NEW (id 12)``; MARKET orders show the executed quantity and average."""
    text = f"{o.side.value} {plain(o.orig_qty)} {o.symbol} {o.type.value}"
    if o.price:
        text += f" @ {plain(o.price)}"
    if o.stop_price:
        text += f" stop {plain(o.stop_price)}"
    text += f" → {o.status.value}"
    if o.executed_qty:
        text += f" ({plain(o.executed_qty)} filled, avg {plain(o.avg_price.quantize(Decimal('0.00000001')))})"
    return text + f" (id {o.order_id}, client id {o.client_order_id})"


def order_list_text(ol: OrderList) -> str:
    """``OCO SELL BTCUSDT list 3 EXEC_STARTED: <leg>; <leg>``."""
    legs = "; ".join(order_text(o) for o in ol.orders)
    return f"OCO {ol.symbol} list {ol.order_list_id} {ol.list_order_status}: {legs}"
