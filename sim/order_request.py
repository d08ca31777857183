"""Parsing a ``POST /api/v3/order`` request into a :class:`NewOrder`, with Binance's parameter rules per order type.

Mandatory parameters per type (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints#new-order-trade):
LIMIT ``timeInForce, quantity, price``; MARKET ``quantity`` or ``quoteOrderQty``; STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT
``timeInForce, quantity, price, stopPrice``; LIMIT_MAKER ``quantity, price``.

Not simulated (rejected with -1106 "sent when not required"): ``icebergQty``, ``trailingDelta``, ``pegPriceType``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from tradingmcp.sim.errors import (
    MSG_QUOTE_QTY_NOT_SUPPORTED,
    empty_new_client_order_id,
    invalid_order_type,
    invalid_param_value,
    invalid_side,
    invalid_tif,
    mandatory_param,
    one_of_params,
    order_rejected,
    order_type_not_supported,
    param_not_required,
    tif_not_required,
)
from tradingmcp.sim.exchange_info import ExchangeInfo, SymbolInfo
from tradingmcp.sim.filters import ALGO_TYPES, OrderToCheck
from tradingmcp.sim.params import Params

SIDES = ("BUY", "SELL")
ORDER_TYPES = ("LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER")
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESP_TYPES = ("ACK", "RESULT", "FULL")
_UNSUPPORTED = ("icebergQty", "trailingDelta", "pegPriceType", "pegOffsetValue", "pegOffsetType")


class NewOrder(NamedTuple):
    """A validated new order request (amounts Decimal: base qty, quote per base prices, quote amounts); a NamedTuple:
    immutable and cheap to build (one per order).

    Attributes:
        client_order_id: ``newClientOrderId`` as sent, or None (the engine generates one).
        resp_type: ``newOrderRespType`` (default FULL for MARKET and LIMIT, ACK otherwise).
    """

    info: SymbolInfo
    side: str
    type: str
    time_in_force: str
    quantity: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    quote_order_qty: Decimal | None
    client_order_id: str | None
    resp_type: str
    stp_mode: str

    @property
    def symbol(self) -> str:
        """The symbol."""
        return self.info.symbol

    @property
    def is_algo(self) -> bool:
        """A stop / take-profit order (counts toward MAX_NUM_ALGO_ORDERS)."""
        return self.type in ALGO_TYPES

    def to_check(self) -> OrderToCheck:
        """The fields the filters look at."""
        return OrderToCheck(self.side, self.type, self.quantity, self.price, self.stop_price, self.quote_order_qty)


def parse_symbol(exchange_info: ExchangeInfo, p: Params) -> SymbolInfo:
    """The ``symbol`` parameter.

    Raises:
        BinanceError: -1102 when missing; -1121 "Invalid symbol." when not listed.
    """
    return exchange_info.symbol(p.req_str("symbol").upper())


def parse_new_order(exchange_info: ExchangeInfo, p: Params) -> NewOrder:
    """Parse and check the parameters of a new order (no filters, no balances).

    Raises:
        BinanceError: -1102 mandatory parameter, -1100 malformed value, -1106/-1114 parameter not taken by the type,
            -1115 bad timeInForce, -1116 bad type, -1117 bad side, -1118 empty newClientOrderId, -1121 bad symbol,
            -2010 order type (or quoteOrderQty) not supported for the symbol.
    """
    info = parse_symbol(exchange_info, p)
    side = p.req_str("side")
    if side not in SIDES:
        raise invalid_side()
    order_type = p.req_str("type")
    if order_type not in ORDER_TYPES:
        raise invalid_order_type()
    raw = p.raw
    if not raw.keys().isdisjoint(_UNSUPPORTED):
        for name in _UNSUPPORTED:
            if name in p:
                raise param_not_required(name)
    return build_order(
        info,
        side=side,
        order_type=order_type,
        time_in_force=p.opt_str("timeInForce"),
        quantity=p.opt_decimal("quantity"),
        price=p.opt_decimal("price"),
        stop_price=p.opt_decimal("stopPrice"),
        quote_order_qty=p.opt_decimal("quoteOrderQty"),
        client_order_id=parse_client_id(p, "newClientOrderId"),
        resp_type=p.opt_enum("newOrderRespType", RESP_TYPES),
        stp_mode=p.opt_str("selfTradePreventionMode"),
    )


def parse_client_id(p: Params, name: str) -> str | None:
    """A client order id parameter.

    Raises:
        BinanceError: -1118 when sent empty; -1100 when it breaks ``^[a-zA-Z0-9-_]{1,36}$``.
    """
    if p.raw.get(name) == "":
        raise empty_new_client_order_id()
    return p.opt_client_id(name)


def _param_name(prefix: str, base: str) -> str:
    """The wire name of an order list leg's parameter (``above`` + ``price`` -> ``abovePrice``), for errors."""
    return prefix + base[0].upper() + base[1:] if prefix else base


def build_order(
    info: SymbolInfo,
    *,
    side: str,
    order_type: str,
    time_in_force: str | None,
    quantity: Decimal | None,
    price: Decimal | None,
    stop_price: Decimal | None,
    quote_order_qty: Decimal | None = None,
    client_order_id: str | None = None,
    resp_type: str | None = None,
    stp_mode: str | None = None,
    param_prefix: str = "",
) -> NewOrder:
    """Apply the per-type parameter rules (also used for order list legs, whose parameters carry a prefix such as
    ``above``/``below``: ``abovePrice``, ``belowStopPrice``...).

    Raises:
        BinanceError: as :func:`parse_new_order`.
    """

    if order_type == "MARKET":
        if quantity is None and quote_order_qty is None:
            raise one_of_params("quantity", "quoteOrderQty")
        if quantity is not None and quote_order_qty is not None:
            raise param_not_required("quoteOrderQty")
        if quote_order_qty is not None and not info.quote_order_qty_market_allowed:
            raise order_rejected(MSG_QUOTE_QTY_NOT_SUPPORTED)
        for pname, value in (("price", price), ("stopPrice", stop_price)):
            if value is not None:
                raise param_not_required(_param_name(param_prefix, pname))
        if time_in_force is not None:
            raise tif_not_required()
    else:
        if quote_order_qty is not None:
            raise param_not_required("quoteOrderQty")
        if quantity is None:
            raise mandatory_param("quantity")
        needs_price = order_type in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
        needs_stop = order_type in ALGO_TYPES
        needs_tif = order_type in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
        if needs_tif and time_in_force is None:
            raise mandatory_param(_param_name(param_prefix, "timeInForce"))
        if not needs_tif and time_in_force is not None:
            raise tif_not_required()
        if needs_price and price is None:
            raise mandatory_param(_param_name(param_prefix, "price"))
        if not needs_price and price is not None:
            raise param_not_required(_param_name(param_prefix, "price"))
        if needs_stop and stop_price is None:
            raise mandatory_param(_param_name(param_prefix, "stopPrice"))
        if not needs_stop and stop_price is not None:
            raise param_not_required(_param_name(param_prefix, "stopPrice"))
    if time_in_force is not None and time_in_force not in TIME_IN_FORCE:
        raise invalid_tif()
    if order_type not in info.order_types:
        raise order_type_not_supported(order_type)
    if stp_mode is not None and stp_mode not in (*info.allowed_stp_modes, "NONE"):
        raise invalid_param_value("selfTradePreventionMode")
    return NewOrder(
        info=info,
        side=side,
        type=order_type,
        time_in_force=time_in_force or "GTC",
        quantity=quantity,
        price=price,
        stop_price=stop_price,
        quote_order_qty=quote_order_qty,
        client_order_id=client_order_id,
        resp_type=resp_type or ("FULL" if order_type in ("MARKET", "LIMIT") else "ACK"),
        stp_mode=stp_mode or info.default_stp_mode,
    )
