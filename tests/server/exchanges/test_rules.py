"""Pre-trade rules on the real BTCUSDT/ETHUSDT/ADAUSDT exchangeInfo filters."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.binance import parse
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
