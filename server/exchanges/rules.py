"""Pre-trade validation from ``SymbolRules`` (exchange-neutral, Decimal only, no I/O).

Follows Binance's filter semantics (https://developers.binance.com/docs/binance-spot-api-docs/filters):

* PRICE_FILTER: ``min_price <= price <= max_price`` and ``(price - min_price) % tick_size == 0`` (0 disables a part);
* LOT_SIZE / MARKET_LOT_SIZE: ``min_qty <= qty <= max_qty`` and ``(qty - min_qty) % step_size == 0``;
* NOTIONAL: ``min_notional <= price * qty <= max_notional`` (for MARKET orders only when ``apply_min_to_market`` /
  ``apply_max_to_market``, priced at the reference price; MARKET orders use ``market_min_notional`` /
  ``market_max_notional`` instead when the exchange sets them — MEXC's ``quoteAmountPrecisionMarket`` /
  ``maxQuoteAmountMarket`` — for a base quantity and for a ``quote_order_qty`` alike);
* PERCENT_PRICE_BY_SIDE: the price band around the reference (average) price, when one is given.

:func:`check_order` is the one entry point that order paths call (it raises); :func:`validate_order` lists the
violations it finds. Every violation says what is wrong and the nearest valid value, e.g.
``quantity 0.000015 is not a multiple of step size 0.00001; nearest valid: 0.00001``.

Exactness: the grid tests (``% tick_size``, ``% step_size``) run in :data:`~tradingmcp.server.decimals.EXACT` /
:data:`~tradingmcp.server.decimals.WIDE` (precision 100), never in the default 28-digit context that would round a long
value onto the grid: only exact multiples pass, however far below the step their last digits lie. A value no
exchange takes (NaN, Infinity, more than 30 digits before the point or 60 after) is refused before any arithmetic,
so no check raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_DOWN, Decimal

from tradingmcp.server.decimals import CALCULABLE_INT_DIGITS, EXACT, WIDE, calculable
from tradingmcp.server.exchanges.errors import FilterFailure
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side, SymbolRules
from tradingmcp.server.exchanges.wire import plain

PRICED_TYPES = frozenset(
    {OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT}
)
"""Order types that need a limit ``price``."""
STOP_TYPES = frozenset(
    {OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT}
)
"""Order types that need a ``stop_price``."""
MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})
"""Order types that execute at market (MARKET_LOT_SIZE applies)."""


fmt = plain
"""A Decimal in plain notation without trailing zeros (``Decimal("5.000")`` → ``"5"``, never ``5E+1``)."""


_ZERO = Decimal(0)
_ONE = Decimal(1)
_QUARTER, _HALF, _THREE_QUARTERS = Decimal("0.25"), Decimal("0.5"), Decimal("0.75")
_sub, _add, _mul, _rem, _divint = WIDE.subtract, WIDE.add, WIDE.multiply, WIDE.remainder, WIDE.divide_int
_exact_sub, _exact_rem, _exact_mul = EXACT.subtract, EXACT.remainder, EXACT.multiply


def on_grid(value: Decimal, step: Decimal, anchor: Decimal = _ZERO) -> bool:
    """True when ``value - anchor`` is a whole multiple of ``step`` (exactly; ``step`` 0: always). ``value`` must be
    :func:`~tradingmcp.server.decimals.calculable`."""
    return step <= 0 or not _rem(_sub(value, anchor), step)


def snap(value: Decimal, step: Decimal, anchor: Decimal = _ZERO, rounding: str = ROUND_HALF_DOWN) -> Decimal:
    """Round ``value`` to ``anchor + k * step`` (k integer) with ``rounding``; ``step`` 0 returns ``value``.

    The rounding decision is exact (the whole part of ``(value - anchor) / step`` and how its remainder compares with
    half a step), so a value a hair off the grid is never taken for a grid point, nor the other way round."""
    if step <= 0:
        return value
    offset = _sub(value, anchor)
    k = _divint(offset, step)  # toward zero
    rem = _sub(offset, _mul(k, step))
    if rem:
        twice = _add(rem, rem).copy_abs()
        part = _QUARTER if twice < step else _HALF if twice == step else _THREE_QUARTERS
        k = _add(k, part if rem > 0 else part.copy_negate()).quantize(_ONE, rounding=rounding, context=WIDE)
    out = _add(anchor, _mul(k, step))
    exponent = step.as_tuple().exponent
    return out.quantize(step, context=WIDE) if isinstance(exponent, int) and exponent <= 0 else out


def neighbours(value: Decimal, step: Decimal, anchor: Decimal = _ZERO) -> tuple[Decimal, Decimal]:
    """The grid points ``anchor + k * step`` at or below and at or above ``value`` (the same point twice when
    ``value`` is on the grid; ``value`` twice when ``step`` is 0)."""
    return snap(value, step, anchor, ROUND_FLOOR), snap(value, step, anchor, ROUND_CEILING)


def round_price(rules: SymbolRules, price: Decimal, rounding: str = ROUND_HALF_DOWN) -> Decimal:
    """``price`` rounded to the tick size (nearest by default; ``ROUND_FLOOR`` for bids, ``ROUND_CEILING`` for
    asks to stay passive), clamped to ``[min_price, max_price]``."""
    out = snap(price, rules.tick_size, rules.min_price, rounding)
    if rules.min_price > 0 and out < rules.min_price:
        out = rules.min_price
    if rules.max_price > 0 and out > rules.max_price:
        out = snap(rules.max_price, rules.tick_size, rules.min_price, ROUND_FLOOR)
    return out


def round_qty(rules: SymbolRules, qty: Decimal, market: bool = False, rounding: str = ROUND_FLOOR) -> Decimal:
    """``qty`` (base asset) rounded to the step size (down by default, so it never exceeds what you can afford);
    ``market`` uses MARKET_LOT_SIZE. Not clamped: a result below ``min_qty`` still fails validation."""
    step, low, _high = _lot(rules, market)
    return snap(qty, step, low if low > 0 else Decimal(0), rounding)


def _lot(rules: SymbolRules, market: bool) -> tuple[Decimal, Decimal, Decimal]:
    if market:
        return (
            rules.market_step_size or rules.step_size,
            rules.market_min_qty or rules.min_qty,
            rules.market_max_qty or rules.max_qty,
        )
    return rules.step_size, rules.min_qty, rules.max_qty


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One failed rule: the filter name (Binance ``filterType``), the field, a message, the nearest valid value."""

    filter: str
    field: str
    message: str
    nearest_valid: Decimal | None = None


class OrderRuleError(FilterFailure):
    """Raised by :func:`check_order`: the order would be rejected with -1013; ``violations`` lists why."""

    def __init__(self, violations: list[RuleViolation]) -> None:
        super().__init__("; ".join(v.message for v in violations) + " (checked locally, nothing was sent)")
        self.violations = violations


def _uncalculable(filter_name: str, field: str, label: str, value: Decimal) -> list[RuleViolation]:
    """The violation of a value no exchange takes (see :func:`~tradingmcp.server.decimals.calculable`)."""
    shown = fmt(value)
    if len(shown) > 40:
        shown = shown[:30] + f"... ({len(shown)} characters)"
    msg = f"{label} {shown} is not a number the exchange takes (at most 20 digits before and 20 after the point)"
    return [RuleViolation(filter_name, field, msg)]


def check_qty(rules: SymbolRules, qty: Decimal, market: bool = False) -> list[RuleViolation]:
    """LOT_SIZE (or MARKET_LOT_SIZE) checks of a base-asset quantity."""
    name = "MARKET_LOT_SIZE" if market else "LOT_SIZE"
    step, low, high = _lot(rules, market)
    out: list[RuleViolation] = []
    if not calculable(qty):
        return _uncalculable(name, "quantity", "quantity", qty)
    if qty <= 0:
        return [RuleViolation(name, "quantity", f"quantity {fmt(qty)} must be positive", max(low, step))]
    if low > 0 and qty < low:
        out.append(RuleViolation(name, "quantity", f"quantity {fmt(qty)} is below the minimum {fmt(low)}", low))
    elif high > 0 and qty > high:
        out.append(RuleViolation(name, "quantity", f"quantity {fmt(qty)} is above the maximum {fmt(high)}", high))
    elif not on_grid(qty, step, low):
        near = snap(qty, step, low)
        near = min(max(near, low), high) if high > 0 else max(near, low)
        out.append(
            RuleViolation(
                name,
                "quantity",
                f"quantity {fmt(qty)} is not a multiple of step size {fmt(step)}; nearest valid: {fmt(near)}",
                near,
            )
        )
    return out


def check_price(rules: SymbolRules, price: Decimal, field: str = "price") -> list[RuleViolation]:
    """PRICE_FILTER checks of a price (or stop price, with ``field="stop price"``) in the quote asset."""
    if not calculable(price):
        return _uncalculable("PRICE_FILTER", field, field, price)
    if price <= 0:
        return [RuleViolation("PRICE_FILTER", field, f"{field} {fmt(price)} must be positive", rules.min_price or None)]
    if rules.min_price > 0 and price < rules.min_price:
        msg = f"{field} {fmt(price)} is below the minimum {fmt(rules.min_price)}"
        return [RuleViolation("PRICE_FILTER", field, msg, rules.min_price)]
    if rules.max_price > 0 and price > rules.max_price:
        msg = f"{field} {fmt(price)} is above the maximum {fmt(rules.max_price)}"
        return [RuleViolation("PRICE_FILTER", field, msg, rules.max_price)]
    if not on_grid(price, rules.tick_size, rules.min_price):
        near = round_price(rules, price)
        msg = f"{field} {fmt(price)} is not a multiple of tick size {fmt(rules.tick_size)}; nearest valid: {fmt(near)}"
        return [RuleViolation("PRICE_FILTER", field, msg, near)]
    return []


GRID_FIELDS = {
    "quantity": "quantities",
    "quote_quantity": "quote quantities",
    "price": "prices",
    "stop_price": "stop prices",
    "stop_limit_price": "stop limit prices",
}
"""Order arguments on a grid of the symbol's rules (tool argument name -> plural, for messages)."""


def valid_near(
    rules: SymbolRules, field: str, value: Decimal, market: bool = False
) -> tuple[str, list[Decimal]] | None:
    """The valid values of the order argument ``field`` (a :data:`GRID_FIELDS` name) next to ``value``, for an error
    that names them: ``("quantities on BTCUSDT (step size 0.00001)", [0.001, 0.00101])``. Quantities sit on the
    LOT_SIZE (``market``: MARKET_LOT_SIZE) grid, prices on the tick grid, quote quantities on the quote asset's
    precision; values outside the filter's limits are left out (the limit is named instead). None for another
    field, a symbol without that grid, or a value no exchange takes."""
    what = GRID_FIELDS.get(field)
    if what is None or not calculable(value) or value <= 0:
        return None
    if field == "quantity":
        step, low, high = _lot(rules, market)
        grid = f"step size {fmt(step)}"
    elif field == "quote_quantity":
        step, low, high = Decimal(1).scaleb(-rules.quote_precision), *notional_bounds(rules, market=True)
        grid = f"{rules.quote_precision} decimals"
    else:
        step, low, high = rules.tick_size, rules.min_price, rules.max_price
        grid = f"tick size {fmt(step)}"
    if step <= 0:
        return None
    anchor = low if field != "quote_quantity" else _ZERO
    found: list[Decimal] = []
    for point in neighbours(value, step, anchor):
        near = max(point, low) if low > 0 else point
        near = min(near, high) if high > 0 else near
        if near > 0 and near not in found:
            found.append(near)
    return (f"{what} on {rules.symbol} ({grid})", found) if found else None


def notional_bounds(rules: SymbolRules, market: bool = False) -> tuple[Decimal, Decimal]:
    """``(min, max)`` order amount in the quote asset that applies (0 = no bound): for a MARKET order the exchange's
    ``market_min_notional`` / ``market_max_notional`` when set, else ``min_notional`` / ``max_notional`` when
    ``apply_min_to_market`` / ``apply_max_to_market``."""
    if not market:
        return rules.min_notional, rules.max_notional
    low = rules.market_min_notional
    if low is None:
        low = rules.min_notional if rules.apply_min_to_market else Decimal(0)
    high = rules.market_max_notional
    if high is None:
        high = rules.max_notional if rules.apply_max_to_market else Decimal(0)
    return low, high


def check_notional(rules: SymbolRules, qty: Decimal, price: Decimal, market: bool = False) -> list[RuleViolation]:
    """NOTIONAL checks of ``qty * price`` (quote asset; bounds from :func:`notional_bounds`). The nearest valid value
    is a quantity at ``price``."""
    step, _low, _high = _lot(rules, market)
    if not calculable(qty) or not calculable(price) or price <= 0:
        return []
    notional = _mul(qty, price)
    quote = rules.quote_asset
    low, high = notional_bounds(rules, market)
    if low > 0 and notional < low:
        smallest = snap(WIDE.divide(low, price), step, _ZERO, ROUND_CEILING) if step > 0 else None
        msg = f"notional {fmt(notional)} {quote} is below the minimum {fmt(low)} {quote}"
        if smallest is not None:
            msg += f"; smallest valid quantity at price {fmt(price)}: {fmt(smallest)}"
        return [RuleViolation("NOTIONAL", "quantity", msg, smallest)]
    if high > 0 and notional > high:
        largest = snap(WIDE.divide(high, price), step, _ZERO, ROUND_FLOOR) if step > 0 else None
        msg = f"notional {fmt(notional)} {quote} is above the maximum {fmt(high)} {quote}"
        if largest is not None:
            msg += f"; largest valid quantity at price {fmt(price)}: {fmt(largest)}"
        return [RuleViolation("NOTIONAL", "quantity", msg, largest)]
    return []


def check_price_band(rules: SymbolRules, side: Side, price: Decimal, reference_price: Decimal) -> list[RuleViolation]:
    """PERCENT_PRICE_BY_SIDE: ``price`` within the side's multipliers of ``reference_price`` (the average price)."""
    if side is Side.BUY:
        up, down = rules.price_band_bid_up, rules.price_band_bid_down
    else:
        up, down = rules.price_band_ask_up, rules.price_band_ask_down
    if not calculable(price) or up is None or down is None or reference_price <= 0:
        return []
    low = round_price(rules, _mul(reference_price, down), ROUND_CEILING)
    high = round_price(rules, _mul(reference_price, up), ROUND_FLOOR)
    if price < low:
        msg = (
            f"{side.value} price {fmt(price)} is below the allowed band {fmt(low)}..{fmt(high)} "
            f"(average price {fmt(reference_price)}); nearest valid: {fmt(low)}"
        )
        return [RuleViolation("PERCENT_PRICE_BY_SIDE", "price", msg, low)]
    if price > high:
        msg = (
            f"{side.value} price {fmt(price)} is above the allowed band {fmt(low)}..{fmt(high)} "
            f"(average price {fmt(reference_price)}); nearest valid: {fmt(high)}"
        )
        return [RuleViolation("PERCENT_PRICE_BY_SIDE", "price", msg, high)]
    return []


def _inside_band(rules: SymbolRules, side: Side, price: Decimal, reference_price: Decimal) -> bool:
    """True when ``price`` lies within the side's unrounded band ``[reference * down, reference * up]`` (or the
    symbol has no band). For a price that passes PRICE_FILTER (on the tick grid, within the price limits) this means
    :func:`check_price_band` finds nothing: its bounds are the lowest grid price at or above ``reference * down``
    and the highest at or below ``reference * up`` (clamped to the price limits), and a grid price inside the
    unrounded band lies between those. The common path thus skips the two roundings."""
    if side is Side.BUY:
        up, down = rules.price_band_bid_up, rules.price_band_bid_down
    else:
        up, down = rules.price_band_ask_up, rules.price_band_ask_down
    if up is None or down is None or reference_price <= 0:
        return True
    return _mul(reference_price, down) <= price <= _mul(reference_price, up)


def _on_grid(value: Decimal, low: Decimal, high: Decimal, step: Decimal) -> bool:
    """``value`` is positive, inside ``[low, high]`` (a bound of 0 is no bound), an exact multiple of ``step`` above
    ``low`` and small enough to calculate with (PRICE_FILTER for a price, LOT_SIZE for a quantity); exact arithmetic
    (raises ``ArithmeticError`` where it would need rounding)."""
    return (
        value > 0
        and not (low > 0 and value < low)
        and not (high > 0 and value > high)
        and step > 0
        and not _exact_rem(_exact_sub(value, low), step)
        and value.adjusted() < CALCULABLE_INT_DIGITS
    )


def _limit_passes(rules: SymbolRules, request: OrderRequest, reference_price: Decimal | None) -> bool:
    """True when ``request`` is a LIMIT or LIMIT_MAKER order with a price and a base quantity that breaks no rule:
    the common case of :func:`validate_order` in one pass, with the same comparisons (STATUS, ORDER_TYPES,
    PRICE_FILTER, PERCENT_PRICE_BY_SIDE via :func:`_inside_band`, LOT_SIZE, NOTIONAL). False sends the order
    through the full checks, which name every violation. Its arithmetic is :data:`~tradingmcp.server.decimals.EXACT`:
    a value that would need rounding (or is no number at all) raises, and goes the full way too, as does one of 30
    digits or more before the point and any order on a symbol without a tick or step size (so what passes here is
    :func:`~tradingmcp.server.decimals.calculable`, as the full checks require)."""
    order_type = request.type
    if order_type is not OrderType.LIMIT and order_type is not OrderType.LIMIT_MAKER:
        return False
    price, qty = request.price, request.quantity
    if price is None or qty is None or request.quote_order_qty is not None or not rules.is_trading:
        return False
    if rules.order_types and order_type not in rules.order_types:
        return False
    try:
        if not _on_grid(price, rules.min_price, rules.max_price, rules.tick_size):
            return False
        if reference_price is not None and not _inside_band(rules, request.side, price, reference_price):
            return False
        if not _on_grid(qty, rules.min_qty, rules.max_qty, rules.step_size):
            return False
        notional = _exact_mul(qty, price)
    except ArithmeticError:
        return False
    low, high = rules.min_notional, rules.max_notional
    return not ((low > 0 and notional < low) or (high > 0 and notional > high))


def check_quote_qty(rules: SymbolRules, quote_qty: Decimal) -> list[RuleViolation]:
    """NOTIONAL checks of a MARKET order's ``quote_order_qty`` (quote asset) against the market notional bounds
    (:func:`notional_bounds`). The nearest valid value is the bound crossed (the minimum, if any, for an amount that
    is not positive)."""
    low, high = notional_bounds(rules, market=True)
    quote = rules.quote_asset
    if not calculable(quote_qty):
        return _uncalculable("NOTIONAL", "quote_order_qty", "quote order quantity", quote_qty)
    if quote_qty <= 0:
        msg = f"quote order quantity {fmt(quote_qty)} {quote} must be positive"
        return [RuleViolation("NOTIONAL", "quote_order_qty", msg, low if low > 0 else None)]
    if low > 0 and quote_qty < low:
        msg = (
            f"quote order quantity {fmt(quote_qty)} {quote} is below the minimum notional {fmt(low)} {quote}; "
            f"nearest valid: {fmt(low)}"
        )
        return [RuleViolation("NOTIONAL", "quote_order_qty", msg, low)]
    if high > 0 and quote_qty > high:
        msg = (
            f"quote order quantity {fmt(quote_qty)} {quote} is above the maximum notional {fmt(high)} {quote}; "
            f"nearest valid: {fmt(high)}"
        )
        return [RuleViolation("NOTIONAL", "quote_order_qty", msg, high)]
    return []


def validate_order(
    rules: SymbolRules, request: OrderRequest, reference_price: Decimal | None = None
) -> list[RuleViolation]:
    """Every rule ``request`` breaks (empty when it passes).

    Args:
        rules: the symbol's rules.
        request: the order; ``quantity`` in base asset or ``quote_order_qty`` in quote asset.
        reference_price: the current (average or last) price in quote asset, used for MARKET notional and the
            price band; None skips those checks.

    Returns:
        The violations, in the order Binance checks them (price, quantity, notional).
    """
    if _limit_passes(rules, request, reference_price):
        return []
    out: list[RuleViolation] = []
    if not rules.is_trading:
        out.append(RuleViolation("STATUS", "symbol", f"{rules.symbol} is not trading (status {rules.status})"))
    if rules.order_types and request.type not in rules.order_types:
        allowed = ", ".join(sorted(t.value for t in rules.order_types))
        out.append(RuleViolation("ORDER_TYPES", "type", f"order type {request.type} is not allowed; use {allowed}"))
    market = request.type in MARKET_TYPES
    if request.type in PRICED_TYPES:
        if request.price is None:
            out.append(RuleViolation("PRICE_FILTER", "price", f"{request.type} orders need a price"))
        else:
            price_violations = check_price(rules, request.price)
            out += price_violations
            if reference_price is not None and (
                price_violations or not _inside_band(rules, request.side, request.price, reference_price)
            ):
                out += check_price_band(rules, request.side, request.price, reference_price)
    if request.type in STOP_TYPES:
        if request.stop_price is None:
            out.append(RuleViolation("PRICE_FILTER", "stop_price", f"{request.type} orders need a stop price"))
        else:
            out += check_price(rules, request.stop_price, "stop price")
    if (request.quantity is None) == (request.quote_order_qty is None):
        out.append(RuleViolation("LOT_SIZE", "quantity", "give exactly one of quantity or quote_order_qty"))
        return out
    if request.quote_order_qty is not None:
        if request.type is not OrderType.MARKET:
            out.append(RuleViolation("LOT_SIZE", "quote_order_qty", "quote_order_qty is only for MARKET orders"))
        else:
            out += check_quote_qty(rules, request.quote_order_qty)
        return out
    assert request.quantity is not None
    out += check_qty(rules, request.quantity, market)
    price = request.price if request.type in PRICED_TYPES else (reference_price if market else request.stop_price)
    if price is None and request.type in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT):
        price = request.stop_price
    if price is not None:
        out += check_notional(rules, request.quantity, price, market)
    return out


def check_order(rules: SymbolRules, request: OrderRequest, reference_price: Decimal | None = None) -> None:
    """The order-validation entry point: raise :class:`OrderRuleError` (a ``FilterFailure``) when ``request`` breaks
    a rule of ``rules`` (every rule of :func:`validate_order`, which lists them).

    Every place an order is checked before it is sent calls this: the pre-trade checks
    (:func:`tradingmcp.server.trading.pretrade.check_order`, with the reference price) and the adapters'
    ``place_order`` (unless told ``validate=False`` because the pre-trade checks already ran it).

    Args:
        rules: the symbol's rules.
        request: the order.
        reference_price: the current price in the quote asset (MARKET notional, price band); None skips those.

    Raises:
        OrderRuleError: with every violation in ``violations`` and all messages joined in ``str(error)``.
    """
    violations = validate_order(rules, request, reference_price)
    if violations:
        raise OrderRuleError(violations)
