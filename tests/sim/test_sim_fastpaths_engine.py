"""The engine's second-round fast paths give exactly what the straightforward code gives: the resting-limit shortcut
of the taker walk, the shared-zero format, the precision check, and the params the WS API hands the engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from engine_support import Clock, book_after, make_engine
from hypothesis import given
from hypothesis import strategies as st

from tradingmcp.sim.execution import plan_taker, taker_plan
from tradingmcp.sim.filters import decimal_places, too_precise
from tradingmcp.sim.order_request import parse_new_order
from tradingmcp.sim.params import Params
from tradingmcp.sim.render import fmt
from tradingmcp.sim.state import ZERO
from tradingmcp.sim.wsapi import engine_params, rest_params


def test_taker_plan_shortcut_matches_the_walk_on_a_real_book(data_dir: Path) -> None:
    book = book_after(300)
    engine = make_engine(book, Clock())
    acct = engine.account_of("alice")
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None
    tick = Decimal("0.01")
    checked = crossing = 0
    for side, best in (("BUY", ask[0]), ("SELL", bid[0])):
        for offset in range(-30, 31, 3):
            price = best + offset * tick
            for qty in ("0.00010", "0.5", "3"):
                params = {"symbol": "BTCUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC"}
                params |= {"quantity": qty, "price": str(price)}
                req = parse_new_order(engine.exchange_info, Params(params))
                order = engine.draft(acct, req, 0)
                walked = plan_taker(
                    book.levels(side),
                    side,
                    limit_price=order.price,
                    quantity=order.remaining,
                    step_size=Decimal("0.00001"),
                )
                assert taker_plan(order, book) == walked
                checked += 1
                crossing += bool(walked.fills)
    assert checked == 2 * 21 * 3 and 0 < crossing < checked  # both branches were exercised


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_fmt_of_any_decimal_is_the_fixed_point_format(value: Decimal) -> None:
    assert fmt(value) == f"{value:.8f}"


def test_fmt_of_the_shared_zero_and_other_zeros() -> None:
    for zero in (ZERO, Decimal("0"), Decimal("0.000"), Decimal("-0"), Decimal("0E+3")):
        assert fmt(zero) == f"{zero:.8f}"
    assert fmt(ZERO) == "0.00000000"


def test_engine_params_drop_the_auth_params_and_keep_the_order() -> None:
    raw = {
        "symbol": "BTCUSDT",
        "apiKey": "k",
        "quantity": 0.5,
        "timestamp": 1723161300000,
        "flag": True,
        "ids": [1, 2],
        "signature": "ab",
        "price": "1.0",
    }
    expected = {k: v for k, v in rest_params(raw).items() if k not in ("apiKey", "signature")}
    got = engine_params(raw)
    assert got == expected and list(got) == list(expected)
    assert got["timestamp"] == "1723161300000" and got["flag"] == "true" and got["quantity"] == "0.5"
    assert raw["timestamp"] == 1723161300000 and "apiKey" in raw  # the request itself is left as it was


def test_precision_of_values_longer_than_the_context_precision() -> None:
    # every decimal counts, however far past the 28 digits of the default context (Binance: -1111 for these)
    for text, digits, decimals in (
        ("1874999999999495200184816794.33", 0, 2),
        ("1.00000000000000000000000000001", 8, 29),
    ):
        value = Decimal(text)
        assert decimal_places(value) == decimals
        assert too_precise(value, digits) is True
    assert too_precise(Decimal("0.000000001"), 8) is True
    assert too_precise(Decimal("99999999999999999999.12345678"), 8) is False
    assert too_precise(Decimal("1E+40"), 8) is False
    assert too_precise(Decimal("0.10000000000000000000"), 8) is False  # trailing zeros are no precision
