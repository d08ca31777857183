"""Pre-trade rules on the real BTCUSDT/ETHUSDT/ADAUSDT exchangeInfo filters."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import ROUND_CEILING, Context, Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradingmcp.server.decimals import PLAIN_PATTERN
from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.params import order_params
from tradingmcp.server.exchanges.errors import FilterFailure
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side, SymbolRules

D = Decimal


def limit(qty: str, price: str, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest("BTCUSDT", side, OrderType.LIMIT, quantity=D(qty), price=D(price))


def test_exchange_info_parsed(exchange_info_body: dict[str, Any], btc_rules: SymbolRules) -> None:
    all_rules = parse.exchange_info(exchange_info_body)
    assert set(all_rules) == {"BTCUSDT", "ETHUSDT", "ADAUSDT"}
    r = btc_rules
    assert (r.base_asset, r.quote_asset, r.status) == ("BTC", "USDT", "TRADING")
    assert (r.tick_size, r.step_size, r.min_qty, r.max_qty) == (D("0.01"), D("0.00001"), D("0.00001"), D(9000))
    assert r.min_notional == 5 and r.max_notional == 9000000 and r.apply_min_to_market
    # MARKET_LOT_SIZE has stepSize 0 → falls back to LOT_SIZE's step; maxQty is its own
    assert r.market_step_size == D("0.00001") and r.market_max_qty == D("128.52621715")
    assert r.price_band_bid_up == 5 and r.price_band_ask_down == D("0.2")
    assert OrderType.STOP_LOSS_LIMIT in r.order_types and OrderType.STOP_LOSS not in r.order_types
    assert r.max_num_orders == 200 and r.is_trading


def test_valid_limit_order_passes(btc_rules: SymbolRules) -> None:
    assert rules.validate_order(btc_rules, limit("0.001", "61000.01"), D(61000)) == []
    rules.check_order(btc_rules, limit("0.001", "61000.01"))


def test_step_size_message_gives_nearest(btc_rules: SymbolRules) -> None:
    (v,) = rules.validate_order(btc_rules, limit("0.000015", "1000000"))
    assert v.message == "quantity 0.000015 is not a multiple of step size 0.00001; nearest valid: 0.00001"
    assert v.nearest_valid == D("0.00001") and v.filter == "LOT_SIZE"
    (v,) = rules.validate_order(btc_rules, limit("0.123456", "61000"))
    assert v.nearest_valid == D("0.12346")


def test_min_notional_message_gives_smallest_quantity(btc_rules: SymbolRules) -> None:
    violations = rules.validate_order(btc_rules, limit("0.00001", "61000"))
    assert [v.filter for v in violations] == ["NOTIONAL"]
    assert violations[0].message == (
        "notional 0.61 USDT is below the minimum 5 USDT; smallest valid quantity at price 61000: 0.00009"
    )
    # the suggested quantity really passes
    assert rules.validate_order(btc_rules, limit(str(violations[0].nearest_valid), "61000")) == []


def test_min_max_qty_and_max_notional(btc_rules: SymbolRules) -> None:
    (v,) = rules.validate_order(btc_rules, limit("0.000001", "1000000"))[:1]
    assert "below the minimum 0.00001" in v.message and v.nearest_valid == D("0.00001")
    (v,) = rules.validate_order(btc_rules, limit("9001", "1"))[:1]
    assert "above the maximum 9000" in v.message
    (v,) = rules.validate_order(btc_rules, limit("200", "61000"))
    assert v.filter == "NOTIONAL" and "above the maximum 9000000 USDT" in v.message
    assert v.nearest_valid is not None and v.nearest_valid * 61000 <= 9000000


def test_tick_size_and_price_limits(btc_rules: SymbolRules) -> None:
    (v,) = rules.validate_order(btc_rules, limit("0.001", "61000.005"))
    assert v.message == "price 61000.005 is not a multiple of tick size 0.01; nearest valid: 61000"
    (v,) = rules.validate_order(btc_rules, limit("0.001", "61000.006"))
    assert v.nearest_valid == D("61000.01")
    (v,) = rules.validate_order(btc_rules, limit("1", "0.001"))[:1]
    assert "below the minimum 0.01" in v.message


def test_price_band_against_average_price(btc_rules: SymbolRules) -> None:
    (v,) = rules.validate_order(btc_rules, limit("0.001", "400000"), reference_price=D(61000))
    assert v.filter == "PERCENT_PRICE_BY_SIDE" and v.nearest_valid == D(305000)
    (v,) = rules.validate_order(btc_rules, limit("0.001", "12000", Side.SELL), reference_price=D(61000))
    assert v.nearest_valid == D(12200) and "below the allowed band 12200..305000" in v.message


def test_market_orders(btc_rules: SymbolRules) -> None:
    market = OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("0.00005"))
    assert rules.validate_order(btc_rules, market) == []  # no reference price: notional unknown
    (v,) = rules.validate_order(btc_rules, market, reference_price=D(61000))
    assert v.filter == "NOTIONAL" and v.nearest_valid == D("0.00009")
    (v,) = rules.validate_order(btc_rules, OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D(200)))
    assert v.filter == "MARKET_LOT_SIZE" and "above the maximum 128.52621715" in v.message
    quote = OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=D(4))
    (v,) = rules.validate_order(btc_rules, quote)
    assert v.nearest_valid == D(5) and "below the minimum notional 5 USDT" in v.message


def test_missing_fields_and_types(btc_rules: SymbolRules) -> None:
    no_price = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D(1))
    assert "need a price" in rules.validate_order(btc_rules, no_price)[0].message
    both = OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D(1), quote_order_qty=D(10))
    assert "exactly one" in rules.validate_order(btc_rules, both)[0].message
    stop = OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS, quantity=D(1), stop_price=D(60000))
    assert rules.validate_order(btc_rules, stop)[0].filter == "ORDER_TYPES"
    sll = OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS_LIMIT, quantity=D("0.001"), price=D(60000))
    assert "need a stop price" in rules.validate_order(btc_rules, sll)[0].message


def test_check_order_raises_filter_failure(btc_rules: SymbolRules) -> None:
    with pytest.raises(FilterFailure) as info:
        rules.check_order(btc_rules, limit("0.000015", "61000.005"))
    assert isinstance(info.value, rules.OrderRuleError)
    assert len(info.value.violations) == 3  # tick, step, notional
    assert "tick size 0.01" in str(info.value) and "step size 0.00001" in str(info.value)


def test_round_helpers(btc_rules: SymbolRules) -> None:
    assert rules.round_qty(btc_rules, D("0.123459")) == D("0.12345")
    assert rules.round_qty(btc_rules, D("0.123451"), rounding=ROUND_CEILING) == D("0.12346")
    assert rules.round_price(btc_rules, D("61000.126")) == D("61000.13")
    assert rules.round_price(btc_rules, D("0.001")) == D("0.01")
    assert rules.fmt(D("5.00000000")) == "5" and rules.fmt(D("1E+2")) == "100"


def test_market_orders_use_the_market_notional_bounds_when_set(btc_rules: SymbolRules) -> None:
    """MEXC's ``quoteAmountPrecisionMarket``/``maxQuoteAmountMarket``: MARKET orders get their own amount bounds."""
    mexc_like = replace(btc_rules, market_min_notional=D(10), market_max_notional=D(200_000), apply_max_to_market=False)

    def market(qty: str | None = None, quote: str | None = None) -> OrderRequest:
        return OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D(qty) if qty else None,
                            quote_order_qty=D(quote) if quote else None)  # fmt: skip

    (v,) = rules.validate_order(mexc_like, market(quote="8"))
    assert (v.filter, v.field, v.nearest_valid) == ("NOTIONAL", "quote_order_qty", D(10))
    (v,) = rules.validate_order(mexc_like, market(quote="300000"))
    assert v.nearest_valid == D(200_000) and "above the maximum notional 200000 USDT" in v.message
    (v,) = rules.validate_order(mexc_like, market(qty="4"), reference_price=D(60_000))  # 240000 USDT
    assert v.filter == "NOTIONAL" and v.nearest_valid == D("3.33333")
    (v,) = rules.validate_order(mexc_like, market(qty="0.0001"), reference_price=D(60_000))  # 6 USDT < 10
    assert v.nearest_valid == D("0.00017")
    assert rules.validate_order(mexc_like, market(quote="100")) == []
    # without market bounds (Binance): the max is not applied to MARKET orders, the min is (applyMinToMarket)
    assert rules.validate_order(btc_rules, market(quote="300000")) == []
    assert [v.filter for v in rules.validate_order(btc_rules, market(quote="4"))] == ["NOTIONAL"]


# --- any decimal: the checks accept exact multiples only, and never raise ---------------------------------------------
_WIDE = Context(prec=300)
EXTREMES = [
    D("1E+999999999"),
    D("-1E+999999999"),
    D("1E-999999999"),
    D("NaN"),
    D("sNaN"),
    D("Infinity"),
    D("-Infinity"),
    D("-0"),
    D("0E-1000"),
    D("0.0010000000000000000000000000000000000001"),
    D("0.00100000000000000000000000000000000000000000000000000000000000000000000000000001"),
    D("12345678901234567890.12345678901234567891"),
    D("1" * 5000),
]


def near_grid(step: str) -> st.SearchStrategy[Decimal]:
    """A multiple of ``step`` plus or minus a hair (10**-1 .. 10**-90) or exactly on it, built without rounding."""
    return st.builds(
        lambda k, n, sign: _WIDE.add(_WIDE.multiply(D(k), D(step)), _WIDE.multiply(D(sign), D(1).scaleb(-n))),
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=1, max_value=90),
        st.sampled_from([1, -1, 0]),
    )


def any_decimal(step: str) -> st.SearchStrategy[Decimal]:
    long_text = st.from_regex(r"[0-9]{1,35}\.[0-9]{1,70}", fullmatch=True).map(D)
    return st.one_of(st.decimals(), st.sampled_from(EXTREMES), near_grid(step), long_text)


def on_grid(value: Decimal, step: Decimal, anchor: Decimal) -> bool:
    return (Fraction(value) - Fraction(anchor)) % Fraction(step) == 0


def sent(request: OrderRequest, name: str) -> str:
    """The parameter as the Binance adapter sends it; it is in Binance's decimal range."""
    value: str = order_params(request, "cid")[name]
    assert re.fullmatch(PLAIN_PATTERN, value), value
    return value


@settings(max_examples=600, deadline=None)
@given(qty=any_decimal("0.00001"), reference=st.none() | st.just(D(61000)))
def test_any_quantity_passes_only_as_an_exact_step_multiple_and_is_sent_unchanged(
    btc_rules: SymbolRules, qty: Decimal, reference: Decimal | None
) -> None:
    request = limit("1", "61000")
    request = replace(request, quantity=qty)
    violations = rules.validate_order(btc_rules, request, reference)
    if not violations:
        assert on_grid(qty, btc_rules.step_size, btc_rules.min_qty)
        assert btc_rules.min_qty <= qty <= btc_rules.max_qty
        assert D(sent(request, "quantity")) == qty
    for v in violations:  # a suggested quantity is on the grid itself
        if v.nearest_valid is not None and v.filter in ("LOT_SIZE", "NOTIONAL"):
            assert on_grid(v.nearest_valid, btc_rules.step_size, btc_rules.min_qty), v


@settings(max_examples=600, deadline=None)
@given(price=any_decimal("0.01"), reference=st.none() | st.just(D(61000)))
def test_any_price_passes_only_as_an_exact_tick_multiple_and_is_sent_unchanged(
    btc_rules: SymbolRules, price: Decimal, reference: Decimal | None
) -> None:
    for request in (
        replace(limit("0.001", "1"), price=price),
        OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS_LIMIT, quantity=D("0.001"), price=D(61000),
                     stop_price=price),
    ):  # fmt: skip
        violations = rules.validate_order(btc_rules, request, reference)
        if not violations:
            assert on_grid(price, btc_rules.tick_size, btc_rules.min_price)
            assert btc_rules.min_price <= price <= btc_rules.max_price
            name = "price" if request.type is OrderType.LIMIT else "stopPrice"
            assert D(sent(request, name)) == price


@settings(max_examples=300, deadline=None)
@given(quote=any_decimal("0.00000001"))
def test_any_quote_quantity_is_refused_or_sent_unchanged(btc_rules: SymbolRules, quote: Decimal) -> None:
    request = OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=quote)
    if not rules.validate_order(btc_rules, request, D(61000)):
        assert quote >= btc_rules.min_notional
        assert D(order_params(request, "cid")["quoteOrderQty"]) == quote


def test_a_hair_off_the_grid_is_refused_naming_the_nearest_valid_value(btc_rules: SymbolRules) -> None:
    """0.001 + 1e-40 on a 0.00001 step (and a price a hair off the tick): the default 28-digit context rounds the
    difference onto the grid; here every digit counts."""
    hair = "0.0010000000000000000000000000000000000001"
    (v,) = rules.validate_order(btc_rules, limit(hair, "61000"))
    assert v.message == f"quantity {hair} is not a multiple of step size 0.00001; nearest valid: 0.001"
    assert (v.filter, v.nearest_valid) == ("LOT_SIZE", D("0.001"))
    assert rules.valid_near(btc_rules, "quantity", D(hair)) == (
        "quantities on BTCUSDT (step size 0.00001)",
        [D("0.001"), D("0.00101")],
    )
    (v,) = rules.validate_order(btc_rules, limit("0.001", "61000.0000000000000000000000000000000001"), D(61000))
    assert (v.filter, v.nearest_valid) == ("PRICE_FILTER", D(61000))
    (v,) = rules.validate_order(btc_rules, limit("1E+999999999", "61000"))
    assert v.filter == "LOT_SIZE" and "is not a number the exchange takes" in v.message
