"""The MEXC face's order rules (``sim.mexc.rules``, sans-I/O): read from an ``exchangeInfo`` entry the way the
adapter reads it, and MEXC's codes for each broken rule (33333 parameters, 30002 too small, 30003 too large)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.sim.mexc.rules import MexcRules, check_order, from_entry
from tradingmcp.sim.mexc.wire import MexcError

D = Decimal
ENTRY: dict[str, Any] = {  # MEXC's BTCUSDT entry, trimmed to the fields the rules use
    "symbol": "BTCUSDT", "status": "1", "baseAsset": "BTC", "quoteAsset": "USDT", "quotePrecision": "2",
    "quoteAssetPrecision": "2", "baseAssetPrecision": "6", "baseSizePrecision": "0.000001",
    "quoteAmountPrecision": "1", "maxQuoteAmount": "2000000", "quoteAmountPrecisionMarket": "1",
    "maxQuoteAmountMarket": "100000", "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
}  # fmt: skip


@pytest.fixture
def rules() -> MexcRules:
    return from_entry(ENTRY)


def test_the_face_reads_an_entry_as_the_adapter_does(rules: MexcRules) -> None:
    theirs = parse.symbol_rules(ENTRY)
    assert (rules.tick, rules.step, rules.min_qty) == (theirs.tick_size, theirs.step_size, theirs.min_qty)
    assert (rules.min_amount, rules.max_amount) == (theirs.min_notional, theirs.max_notional)
    assert (rules.market_min_amount, rules.market_max_amount) == (
        theirs.market_min_notional,
        theirs.market_max_notional,
    )
    assert rules.order_types == {t.value for t in theirs.order_types} and rules.online == theirs.is_trading


def code(rules: MexcRules, engine_type: str, **order: Decimal | None) -> tuple[int, str] | None:
    """MEXC's ``(code, msg)`` for the order, None when it passes."""
    fields: dict[str, Decimal | None] = {"quantity": None, "quote_quantity": None, "price": None,
                                         "reference_price": None, **order}  # fmt: skip
    try:
        check_order(rules, engine_type, **fields)
    except MexcError as exc:
        return exc.code, exc.msg
    return None


def test_limit_orders(rules: MexcRules) -> None:
    assert code(rules, "LIMIT", quantity=D("0.0001"), price=D("60000.01")) is None
    assert code(rules, "LIMIT_MAKER", quantity=D("0.000001"), price=D("1000000")) is None  # amount 1 USDT: the minimum
    assert code(rules, "LIMIT", quantity=D("0.0001"), price=D("60000.001"))[0] == 33333  # type: ignore[index]
    assert code(rules, "LIMIT", quantity=D("0.0001"), price=D(0))[0] == 33333  # type: ignore[index]
    assert code(rules, "LIMIT", quantity=D("0.0000001"), price=D(60000))[0] == 33333  # type: ignore[index]
    assert code(rules, "LIMIT", quantity=D("0.0000015"), price=D(60000))[0] == 33333  # type: ignore[index]
    small = code(rules, "LIMIT", quantity=D("0.00001"), price=D(60000))
    assert small is not None and small[0] == 30002
    assert "smallest valid quantity at price 60000: 0.000017" in small[1]  # 1 USDT / 60000, rounded up to the step
    large = code(rules, "LIMIT", quantity=D(40), price=D(60000))
    assert large is not None and large[0] == 30003 and "2000000 USDT" in large[1]


def test_market_orders_use_the_market_amounts(rules: MexcRules) -> None:
    assert code(rules, "MARKET", quote_quantity=D(100000)) is None
    assert code(rules, "MARKET", quote_quantity=D("100000.01"))[0] == 30003  # type: ignore[index]
    assert code(rules, "MARKET", quote_quantity=D("0.5"))[0] == 30002  # type: ignore[index]
    assert code(rules, "MARKET", quantity=D(2), reference_price=D(60000))[0] == 30003  # type: ignore[index]
    assert code(rules, "MARKET", quantity=D(2)) is None  # no reference price yet: the amount is not checked
    assert code(rules, "MARKET", quantity=D("0.0000015"), reference_price=D(60000))[0] == 33333  # type: ignore[index]


def test_status_and_order_types(rules: MexcRules) -> None:
    offline = dataclasses.replace(rules, online=False)
    assert code(offline, "LIMIT", quantity=D("0.0001"), price=D(60000))[0] == 33333  # type: ignore[index]
    no_maker = from_entry({**ENTRY, "orderTypes": ["LIMIT", "MARKET"]})
    assert code(no_maker, "LIMIT_MAKER", quantity=D("0.0001"), price=D(60000))[0] == 33333  # type: ignore[index]
