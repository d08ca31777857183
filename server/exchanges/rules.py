"""Pre-trade validation from ``SymbolRules`` (exchange-neutral, Decimal only, no I/O).

Follows Binance's filter semantics (https://developers.binance.com/docs/binance-spot-api-docs/filters):

* PRICE_FILTER: ``min_price <= price <= max_price`` and ``(price - min_price) % tick_size == 0`` (0 disables a part);
* LOT_SIZE / MARKET_LOT_SIZE: ``min_qty <= qty <= max_qty`` and ``(qty - min_qty) % step_size == 0``;
* NOTIONAL: ``min_notional <= price * qty <= max_notional`` (for MARKET orders only when ``apply_min_to_market`` /
  ``apply_max_to_market``, priced at the reference price; MARKET orders use ``market_min_notional`` /
  ``market_max_notional`` instead when the exchange sets them — MEXC's ``quoteAmountPrecisionMarket`` /
  ``maxQuoteAmountMarket`` — for a base quantity and for a ``quote_order_qty`` alike);
* PERCENT_PRICE_BY_SIDE: the price band around the reference (average) price, when one is given.

Every violation says what is wrong and the nearest valid value, e.g.
``quantity 0.000015 is not a multiple of step size 0.00001; nearest valid: 0.00001``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_DOWN, Decimal

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


def snap(value: Decimal, step: Decimal, anchor: Decimal = Decimal(0), rounding: str = ROUND_HALF_DOWN) -> Decimal:
    """Round ``value`` to ``anchor + k * step`` (k integer) with ``rounding``; ``step`` 0 returns ``value``."""
    if step <= 0:
        return value
    k = ((value - anchor) / step).quantize(Decimal(1), rounding=rounding)
    out = anchor + k * step
    exponent = step.as_tuple().exponent
    return out.quantize(step) if isinstance(exponent, int) and exponent <= 0 else out


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


def check_qty(rules: SymbolRules, qty: Decimal, market: bool = False) -> list[RuleViolation]:
    """LOT_SIZE (or MARKET_LOT_SIZE) checks of a base-asset quantity."""
    name = "MARKET_LOT_SIZE" if market else "LOT_SIZE"
    step, low, high = _lot(rules, market)
    out: list[RuleViolation] = []
    if qty <= 0:
        return [RuleViolation(name, "quantity", f"quantity {fmt(qty)} must be positive", max(low, step))]
    if low > 0 and qty < low:
        out.append(RuleViolation(name, "quantity", f"quantity {fmt(qty)} is below the minimum {fmt(low)}", low))
    elif high > 0 and qty > high:
        out.append(RuleViolation(name, "quantity", f"quantity {fmt(qty)} is above the maximum {fmt(high)}", high))
    elif step > 0 and (qty - low) % step != 0:
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
    if price <= 0:
        return [RuleViolation("PRICE_FILTER", field, f"{field} {fmt(price)} must be positive", rules.min_price or None)]
    if rules.min_price > 0 and price < rules.min_price:
        msg = f"{field} {fmt(price)} is below the minimum {fmt(rules.min_price)}"
        return [RuleViolation("PRICE_FILTER", field, msg, rules.min_price)]
    if rules.max_price > 0 and price > rules.max_price:
        msg = f"{field} {fmt(price)} is above the maximum {fmt(rules.max_price)}"
        return [RuleViolation("PRICE_FILTER", field, msg, rules.max_price)]
    if rules.tick_size > 0 and (price - rules.min_price) % rules.tick_size != 0:
        near = round_price(rules, price)
        msg = f"{field} {fmt(price)} is not a multiple of tick size {fmt(rules.tick_size)}; nearest valid: {fmt(near)}"
        return [RuleViolation("PRICE_FILTER", field, msg, near)]
    return []


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
    notional = qty * price
    quote = rules.quote_asset
    low, high = notional_bounds(rules, market)
    if price <= 0:
        return []
    if low > 0 and notional < low:
        smallest = snap(low / price, step, Decimal(0), ROUND_CEILING) if step > 0 else None
        msg = f"notional {fmt(notional)} {quote} is below the minimum {fmt(low)} {quote}"
        if smallest is not None:
            msg += f"; smallest valid quantity at price {fmt(price)}: {fmt(smallest)}"
        return [RuleViolation("NOTIONAL", "quantity", msg, smallest)]
    if high > 0 and notional > high:
        largest = snap(high / price, step, Decimal(0), ROUND_FLOOR) if step > 0 else None
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
    if up is None or down is None or reference_price <= 0:
        return []
    low = round_price(rules, reference_price * down, ROUND_CEILING)
    high = round_price(rules, reference_price * up, ROUND_FLOOR)
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
    return reference_price * down <= price <= reference_price * up


def _limit_passes(rules: SymbolRules, request: OrderRequest, reference_price: Decimal | None) -> bool:
    """True when ``request`` is a LIMIT or LIMIT_MAKER order with a price and a base quantity that breaks no rule:
    the common case of :func:`validate_order` in one pass, with the same comparisons (STATUS, ORDER_TYPES,
    PRICE_FILTER, PERCENT_PRICE_BY_SIDE via :func:`_inside_band`, LOT_SIZE, NOTIONAL). False sends the order
    through the full checks, which name every violation."""
    order_type = request.type
    if order_type is not OrderType.LIMIT and order_type is not OrderType.LIMIT_MAKER:
        return False
    price, qty = request.price, request.quantity
    if price is None or qty is None or request.quote_order_qty is not None or not rules.is_trading:
        return False
    if rules.order_types and order_type not in rules.order_types:
        return False
    low, high, tick = rules.min_price, rules.max_price, rules.tick_size
    if price <= 0 or (low > 0 and price < low) or (high > 0 and price > high) or (tick > 0 and (price - low) % tick):
        return False
    if reference_price is not None and not _inside_band(rules, request.side, price, reference_price):
        return False
    low, high, step = rules.min_qty, rules.max_qty, rules.step_size
    if qty <= 0 or (low > 0 and qty < low) or (high > 0 and qty > high) or (step > 0 and (qty - low) % step):
        return False
    notional = qty * price
    low, high = rules.min_notional, rules.max_notional
    return not ((low > 0 and notional < low) or (high > 0 and notional > high))


def _check_quote_qty(rules: SymbolRules, quote_qty: Decimal) -> list[RuleViolation]:
    """A MARKET order's ``quote_order_qty`` against the market notional bounds."""
    low, high = notional_bounds(rules, market=True)
    quote = rules.quote_asset
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
            out += _check_quote_qty(rules, request.quote_order_qty)
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
    """Raise :class:`OrderRuleError` (a ``FilterFailure``) when ``request`` breaks a rule; see :func:`validate_order`.

    Raises:
        OrderRuleError: with every violation in ``violations`` and all messages joined in ``str(error)``.
    """
    violations = validate_order(rules, request, reference_price)
    if violations:
        raise OrderRuleError(violations)
