"""Exchange-side validation of a new order against the symbol's filters (Decimal arithmetic only).

Each failing rule raises ``BinanceError(-1013, "Filter failure: <FILTER_TYPE>")`` exactly as Binance does. Checks run
in the order PRICE_FILTER, PERCENT_PRICE_BY_SIDE, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL, MAX_NUM_ORDERS,
MAX_NUM_ALGO_ORDERS.

Follows https://developers.binance.com/docs/binance-spot-api-docs/filters.

The amounts come from request parameters Binance's own range admits (at most 20 digits before and 20 after the point,
:mod:`~tradingmcp.sim.params`); the arithmetic on them runs in a 100-digit context, where their differences,
remainders and products are exact, so no digit of an amount is rounded away before it is judged (the default
28-digit context would round a 40-digit quantity onto the step grid) and nothing overflows.
"""

from __future__ import annotations

from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import NamedTuple

from tradingmcp.sim.errors import bad_precision, filter_failure
from tradingmcp.sim.exchange_info import LotSize, SymbolInfo

_ZERO = Decimal(0)
_CTX = Context(prec=100, Emin=-999_999, Emax=999_999, traps=[InvalidOperation, DivisionByZero, Overflow])
_sub, _rem, _mul = _CTX.subtract, _CTX.remainder, _CTX.multiply

#: Order types that carry a limit price (checked against PRICE_FILTER and PERCENT_PRICE_BY_SIDE).
PRICED_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
#: Order types that count as algo orders (MAX_NUM_ALGO_ORDERS).
ALGO_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})


class OrderToCheck(NamedTuple):
    """What the filters see of a new order (a NamedTuple: immutable and cheap to build, one per order).

    Attributes:
        side: ``"BUY"`` or ``"SELL"``.
        order_type: ``"LIMIT"``, ``"MARKET"``, ``"LIMIT_MAKER"``, ``"STOP_LOSS_LIMIT"``, ``"TAKE_PROFIT_LIMIT"``, ...
        quantity: base asset quantity, or None for a MARKET order by ``quote_order_qty``.
        price: limit price (quote per base), None for MARKET.
        stop_price: trigger price for stop/take-profit orders, else None.
        quote_order_qty: quote amount of a MARKET order by quote, else None.
    """

    side: str
    order_type: str
    quantity: Decimal | None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    quote_order_qty: Decimal | None = None


def check_precision(info: SymbolInfo, order: OrderToCheck) -> None:
    """Reject amounts with more decimals than the asset precision (Binance: -1111 ``has too much precision``).

    Raises:
        BinanceError: -1111 naming the parameter.
    """
    base_digits, quote_digits = info.base_asset_precision, info.quote_asset_precision
    if order.quantity is not None and too_precise(order.quantity, base_digits):
        raise bad_precision("quantity")
    if order.price is not None and too_precise(order.price, quote_digits):
        raise bad_precision("price")
    if order.stop_price is not None and too_precise(order.stop_price, quote_digits):
        raise bad_precision("stopPrice")
    if order.quote_order_qty is not None and too_precise(order.quote_order_qty, quote_digits):
        raise bad_precision("quoteOrderQty")


def check_price_filter(info: SymbolInfo, price: Decimal) -> None:
    """PRICE_FILTER: ``minPrice <= price <= maxPrice`` and ``(price - minPrice) % tickSize == 0`` (zeros disable).

    Raises:
        BinanceError: -1013 ``Filter failure: PRICE_FILTER``.
    """
    pf = info.price_filter
    if pf is None:
        return
    if (
        price <= _ZERO
        or (pf.min_price and price < pf.min_price)
        or (pf.max_price and price > pf.max_price)
        or (pf.tick_size and _rem(_sub(price, pf.min_price), pf.tick_size) != _ZERO)
    ):
        raise filter_failure("PRICE_FILTER")


def check_lot(lot: LotSize | None, quantity: Decimal, filter_type: str) -> None:
    """LOT_SIZE / MARKET_LOT_SIZE: ``minQty <= qty <= maxQty`` and ``(qty - minQty) % stepSize == 0`` (zeros disable).

    Raises:
        BinanceError: -1013 ``Filter failure: <filter_type>``.
    """
    if lot is None:
        return
    if (
        quantity < lot.min_qty
        or (lot.max_qty and quantity > lot.max_qty)
        or (lot.step_size and _rem(_sub(quantity, lot.min_qty), lot.step_size) != _ZERO)
    ):
        raise filter_failure(filter_type)


def check_percent_price_by_side(info: SymbolInfo, side: str, price: Decimal, avg_price: Decimal | None) -> None:
    """PERCENT_PRICE_BY_SIDE: a BUY price within ``[avg × bidMultiplierDown, avg × bidMultiplierUp]``, a SELL within
    the ask multipliers. Skipped while no average price exists (empty market).

    Raises:
        BinanceError: -1013 ``Filter failure: PERCENT_PRICE_BY_SIDE``.
    """
    pp = info.percent_price_by_side
    if pp is None or avg_price is None:
        return
    up, down = (
        (pp.bid_multiplier_up, pp.bid_multiplier_down)
        if side == "BUY"
        else (pp.ask_multiplier_up, pp.ask_multiplier_down)
    )
    if price > _mul(avg_price, up) or price < _mul(avg_price, down):
        raise filter_failure("PERCENT_PRICE_BY_SIDE")


def check_notional(info: SymbolInfo, order: OrderToCheck, avg_price: Decimal | None) -> None:
    """NOTIONAL: ``minNotional <= notional <= maxNotional`` (quote asset).

    The notional is ``price × quantity`` for priced orders; for MARKET orders it is ``quoteOrderQty`` or
    ``avgPrice × quantity``, and each bound applies only when ``applyMinToMarket`` / ``applyMaxToMarket`` says so.

    Raises:
        BinanceError: -1013 ``Filter failure: NOTIONAL``.
    """
    nf = info.notional
    if nf is None:
        return
    is_market = order.order_type in ("MARKET", "STOP_LOSS", "TAKE_PROFIT")
    if is_market:
        if order.quote_order_qty is not None:
            notional = order.quote_order_qty
        elif avg_price is not None and order.quantity is not None:
            notional = _mul(avg_price, order.quantity)
        else:
            return
        check_min, check_max = nf.apply_min_to_market, nf.apply_max_to_market
    else:
        if order.price is None or order.quantity is None:
            return
        notional = _mul(order.price, order.quantity)
        check_min = check_max = True
    if (check_min and notional < nf.min_notional) or (check_max and nf.max_notional and notional > nf.max_notional):
        raise filter_failure("NOTIONAL")


def check_new_order(
    info: SymbolInfo,
    order: OrderToCheck,
    *,
    avg_price: Decimal | None,
    open_orders: int,
    open_algo_orders: int,
    new_orders: int = 1,
    new_algo_orders: int | None = None,
) -> None:
    """Run every filter on a new order (or on each leg of an order list).

    Args:
        info: the symbol.
        order: the order's fields.
        avg_price: the symbol's current average price (quote per base), None when unknown.
        open_orders: the account's open orders on the symbol before this request.
        open_algo_orders: of those, stop/take-profit orders.
        new_orders: orders this request adds (2 for an OCO).
        new_algo_orders: algo orders this request adds (default: 1 when ``order`` is a stop type, else 0).

    Raises:
        BinanceError: -1111 precision, or -1013 ``Filter failure: <FILTER_TYPE>``.
    """
    check_precision(info, order)
    if order.order_type in PRICED_TYPES and order.price is not None:
        check_price_filter(info, order.price)
    if order.stop_price is not None:
        check_price_filter(info, order.stop_price)
    if order.order_type in PRICED_TYPES and order.price is not None:
        check_percent_price_by_side(info, order.side, order.price, avg_price)
    if order.quantity is not None:
        check_lot(info.lot_size, order.quantity, "LOT_SIZE")
        if order.order_type == "MARKET":
            check_lot(info.market_lot_size, order.quantity, "MARKET_LOT_SIZE")
    check_notional(info, order, avg_price)
    if info.max_num_orders is not None and open_orders + new_orders > info.max_num_orders:
        raise filter_failure("MAX_NUM_ORDERS")
    if new_algo_orders is None:
        new_algo_orders = 1 if order.order_type in ALGO_TYPES else 0
    max_algo = info.max_num_algo_orders
    if new_algo_orders and max_algo is not None and open_algo_orders + new_algo_orders > max_algo:
        raise filter_failure("MAX_NUM_ALGO_ORDERS")


def floor_to_step(quantity: Decimal, lot: LotSize | None) -> Decimal:
    """Round ``quantity`` down to the lot's ``stepSize`` grid (unchanged when there is no step)."""
    if lot is None or not lot.step_size:
        return quantity
    steps = _CTX.divide_int(_sub(quantity, lot.min_qty), lot.step_size)
    return lot.min_qty + steps * lot.step_size if steps >= 0 else _ZERO


def too_precise(value: Decimal, digits: int) -> bool:
    """Whether ``value`` has more than ``digits`` decimals (trailing zeros not counted): ``decimal_places(value) >
    digits``, the -1111 test of :func:`check_precision`. A value that quantizing to ``digits`` decimals leaves
    unchanged is a multiple of ``10**-digits``, so it has at most ``digits`` decimals even after normalizing: one
    quantize answers the usual case. Anything else counts its decimals."""
    step = _STEPS.get(digits)
    if step is None:
        step = _STEPS[digits] = Decimal(1).scaleb(-digits)
    if value.quantize(step, context=_CTX) == value:
        return False
    return decimal_places(value) > digits


_STEPS: dict[int, Decimal] = {}
"""digits -> ``10**-digits`` (constants, built on first use)."""


def decimal_places(value: Decimal) -> int:
    """Digits after the point of ``value``, trailing zeros not counted (``Decimal("1.2500")`` has 2), counted exactly:
    no normalizing to a context precision, so a value longer than 28 digits keeps every decimal."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    for d in reversed(digits):
        if d or exponent >= 0:
            break
        exponent += 1
    return -exponent if exponent < 0 else 0
