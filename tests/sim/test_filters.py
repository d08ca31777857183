"""Filters and parameter rules against the real exchangeInfo, with Binance's exact error codes and messages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from engine_support import book_after, exchange_info
from hypothesis import given, settings
from hypothesis import strategies as st

from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.exchange_info import ExchangeInfo, SymbolInfo
from tradingmcp.sim.filters import OrderToCheck, check_new_order, floor_to_step
from tradingmcp.sim.matching import MatchingEngine

AVG = Decimal("61000")


@pytest.fixture(scope="module")
def btc(data_dir: Path) -> SymbolInfo:
    return exchange_info().symbol("BTCUSDT")


def _check(info: SymbolInfo, order: OrderToCheck, *, open_orders: int = 0, open_algo: int = 0) -> None:
    check_new_order(info, order, avg_price=AVG, open_orders=open_orders, open_algo_orders=open_algo)


def _fails(info: SymbolInfo, order: OrderToCheck, code: int, msg: str, **kw: int) -> None:
    with pytest.raises(BinanceError) as exc:
        _check(info, order, **kw)
    assert (exc.value.code, exc.value.msg, exc.value.http_status) == (code, msg, 400)
    assert exc.value.body() == {"code": code, "msg": msg}


def limit(qty: str, price: str, side: str = "BUY", order_type: str = "LIMIT") -> OrderToCheck:
    return OrderToCheck(side, order_type, Decimal(qty), Decimal(price))


def test_real_exchange_info_parsed(btc: SymbolInfo) -> None:
    assert (btc.base_asset, btc.quote_asset, btc.base_asset_precision) == ("BTC", "USDT", 8)
    assert btc.price_filter is not None and btc.price_filter.tick_size == Decimal("0.01")
    assert btc.lot_size is not None and btc.lot_size.step_size == Decimal("0.00001")
    assert btc.market_lot_size is not None and btc.market_lot_size.max_qty == Decimal("128.52621715")
    assert btc.notional is not None and btc.notional.min_notional == 5 and btc.notional.apply_min_to_market
    assert btc.max_num_orders == 200 and btc.max_num_algo_orders == 5
    assert "STOP_LOSS_LIMIT" in btc.order_types and "STOP_LOSS" not in btc.order_types
    body = exchange_info().body(1723161260000, ["BTCUSDT"])
    assert body["serverTime"] == 1723161260000 and [s["symbol"] for s in body["symbols"]] == ["BTCUSDT"]
    assert body["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    with pytest.raises(BinanceError) as exc:
        exchange_info().symbol("NOPEUSDT")
    assert exc.value.body() == {"code": -1121, "msg": "Invalid symbol."}


def test_builtin_matches_real_filters(btc: SymbolInfo) -> None:
    builtin = ExchangeInfo.builtin()
    assert builtin.symbols == ("BTCUSDT", "ETHUSDT")
    for symbol in builtin.symbols:
        real, ours = exchange_info().symbol(symbol), builtin.symbol(symbol)
        for attr in ("price_filter", "lot_size", "market_lot_size", "notional", "percent_price_by_side", "order_types"):
            assert getattr(ours, attr) == getattr(real, attr), (symbol, attr)


def test_valid_orders_pass(btc: SymbolInfo) -> None:
    _check(btc, limit("0.001", "61000.01"))
    _check(btc, OrderToCheck("SELL", "MARKET", Decimal("0.5")))
    _check(btc, OrderToCheck("BUY", "MARKET", None, quote_order_qty=Decimal("5")))
    _check(btc, OrderToCheck("SELL", "STOP_LOSS_LIMIT", Decimal("0.01"), Decimal("60000"), Decimal("60100")))


def test_price_filter(btc: SymbolInfo) -> None:
    msg = "Filter failure: PRICE_FILTER"
    _fails(btc, limit("0.001", "61000.005"), -1013, msg)  # off tick
    _fails(btc, limit("0.001", "1000000.01"), -1013, msg)  # above maxPrice
    _fails(btc, limit("1", "0.00"), -1013, msg)  # zero price
    _fails(
        btc,
        OrderToCheck("SELL", "STOP_LOSS_LIMIT", Decimal("0.01"), Decimal("60000"), Decimal("60100.001")),
        -1013,
        msg,
    )


def test_lot_size_and_market_lot_size(btc: SymbolInfo) -> None:
    _fails(btc, limit("0.000015", "61000"), -1013, "Filter failure: LOT_SIZE")  # off step
    _fails(btc, limit("0.000001", "61000"), -1013, "Filter failure: LOT_SIZE")  # below minQty
    _fails(btc, limit("9000.00001", "15000"), -1013, "Filter failure: LOT_SIZE")  # above maxQty
    _fails(btc, OrderToCheck("BUY", "MARKET", Decimal("130")), -1013, "Filter failure: MARKET_LOT_SIZE")
    _check(btc, limit("130", "61000"))  # LIMIT orders ignore MARKET_LOT_SIZE


def test_notional(btc: SymbolInfo) -> None:
    msg = "Filter failure: NOTIONAL"
    _fails(btc, limit("0.00008", "61000"), -1013, msg)  # 4.88 < 5
    _fails(btc, limit("150", "61000"), -1013, msg)  # 9.15M > maxNotional 9M
    _fails(btc, OrderToCheck("BUY", "MARKET", None, quote_order_qty=Decimal("4.99")), -1013, msg)
    _fails(btc, OrderToCheck("BUY", "MARKET", Decimal("0.00008")), -1013, msg)  # avgPrice × qty, applyMinToMarket
    _check(btc, OrderToCheck("BUY", "MARKET", Decimal("128")))  # applyMaxToMarket is false


def test_percent_price_by_side(btc: SymbolInfo) -> None:
    msg = "Filter failure: PERCENT_PRICE_BY_SIDE"
    _fails(btc, limit("0.001", "305000.01"), -1013, msg)  # BUY above 5 × avg
    _fails(btc, limit("0.001", "12199.99"), -1013, msg)  # BUY below 0.2 × avg
    _fails(btc, limit("0.001", "12199.99", side="SELL"), -1013, msg)
    _check(btc, limit("0.001", "12200.00", side="SELL"))
    _check(btc, limit("0.001", "305000.00"))


def test_max_num_orders_and_algo_orders(btc: SymbolInfo) -> None:
    _fails(btc, limit("0.001", "61000"), -1013, "Filter failure: MAX_NUM_ORDERS", open_orders=200)
    _check(btc, limit("0.001", "61000"), open_orders=199)
    stop = OrderToCheck("SELL", "STOP_LOSS_LIMIT", Decimal("0.01"), Decimal("60000"), Decimal("60100"))
    _fails(btc, stop, -1013, "Filter failure: MAX_NUM_ALGO_ORDERS", open_orders=5, open_algo=5)
    _check(btc, limit("0.001", "61000"), open_orders=5, open_algo=5)


def test_precision(btc: SymbolInfo) -> None:
    _fails(btc, limit("0.000010001", "61000"), -1111, "Parameter 'quantity' has too much precision.")
    _fails(btc, limit("0.001", "61000.000000001"), -1111, "Parameter 'price' has too much precision.")


@settings(max_examples=200, deadline=None)
@given(steps=st.integers(min_value=1, max_value=900_000_000), extra=st.integers(min_value=1, max_value=9))
def test_lot_size_grid_property(steps: int, extra: int) -> None:
    info = ExchangeInfo.builtin().symbol("BTCUSDT")
    on_grid = Decimal(steps) * Decimal("0.00001")
    order = OrderToCheck("BUY", "LIMIT", on_grid, Decimal("1000000"))
    if on_grid * 1_000_000 <= 9_000_000 and on_grid >= Decimal("0.00001"):
        check_new_order(info, order, avg_price=None, open_orders=0, open_algo_orders=0)
    off_grid = on_grid + Decimal(extra) * Decimal("0.000001")
    with pytest.raises(BinanceError, match="LOT_SIZE"):
        check_new_order(
            info,
            OrderToCheck("BUY", "LIMIT", off_grid, Decimal("1")),
            avg_price=None,
            open_orders=0,
            open_algo_orders=0,
        )
    assert floor_to_step(off_grid, info.lot_size) == on_grid


# ---- the same rules through the engine's request parsing ----------------------------------------------------


@pytest.fixture
def engine(data_dir: Path) -> MatchingEngine:
    eng = MatchingEngine(exchange_info(), {"BTCUSDT": book_after(200)}, clock_ms=lambda: 1723161300000)
    eng.add_account("key", {"USDT": Decimal("100000"), "BTC": Decimal("2")})
    return eng


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        (
            {"side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1"},
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
        ),
        ({"symbol": "XYZUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}, -1121, "Invalid symbol."),
        ({"symbol": "BTCUSDT", "side": "HOLD", "type": "MARKET", "quantity": "1"}, -1117, "Invalid side."),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "ICEBERG", "quantity": "1"}, -1116, "Invalid orderType."),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "60000"},
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"},
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        ),
        (
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTD",
                "quantity": "0.01",
                "price": "60000",
            },
            -1115,
            "Invalid timeInForce.",
        ),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"},
            -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        ),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1e3"},
            -1100,
            "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01", "timeInForce": "GTC"},
            -1114,
            "TimeInForce parameter sent when not required.",
        ),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_LOSS", "quantity": "0.01", "stopPrice": "70000"},
            -2010,
            "Stop loss orders are not supported for this symbol.",
        ),
        (
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.01",
                "price": "60000.001",
            },
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        (
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.01",
                "price": "60000",
                "newClientOrderId": "",
            },
            -1118,
            "New client order ID was empty.",
        ),
        *(
            (
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "quantity": "0.01",
                    "price": "60000",
                    "newClientOrderId": cid,
                },
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
            )
            for cid in ("a.b", "a:b/c", "ok-id\n", "zz&orderId=1", "ордер", "x" * 37)
        ),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1\n"},
            -1100,
            "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ),
    ],
)
def test_engine_rejects_with_exact_errors(engine: MatchingEngine, params: dict[str, str], code: int, msg: str) -> None:
    before = engine.account("key", {})
    with pytest.raises(BinanceError) as exc:
        engine.new_order("key", params)
    assert (exc.value.code, exc.value.msg) == (code, msg)
    assert engine.account("key", {}) == before
    assert engine.drain_events() == []


def test_unknown_api_key(engine: MatchingEngine) -> None:
    with pytest.raises(BinanceError) as exc:
        engine.account("nobody", {})
    assert (exc.value.code, exc.value.msg, exc.value.http_status) == (
        -2015,
        "Invalid API-key, IP, or permissions for action.",
        401,
    )


_ILLEGAL = "Illegal characters found in parameter '{}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."
_TOO_PRECISE = "Parameter '{}' has too much precision."
_NEW_ORDER_FIELDS = {
    "quantity": {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "60000"},
    "price": {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "60000"},
    "stopPrice": {"side": "SELL", "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "quantity": "0.01",
                  "price": "60000", "stopPrice": "60000"},
    "quoteOrderQty": {"side": "BUY", "type": "MARKET", "quoteOrderQty": "100"},
}  # fmt: skip


@pytest.mark.parametrize("field", list(_NEW_ORDER_FIELDS))
@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1e999999999", -1100),
        ("1e-30", -1100),
        ("NaN", -1100),
        ("Infinity", -1100),
        ("-1", -1100),
        ("1e5", -1100),
        ("1" * 40, -1100),
        ("0.0010000000000000000000000000000000000001", -1100),
        # in Binance's range, but with more decimals than the asset's 8: precision is checked before any filter,
        # however many digits the amount has in all
        ("12345678901234567890.1234567890123456789", -1111),
        ("99999999999999999999.99999999999999999999", -1111),
        ("1.00000000000000000001", -1111),
    ],
)
def test_engine_answers_extreme_numbers_as_binance_does(
    engine: MatchingEngine, field: str, value: str, code: int
) -> None:
    """Every extreme number gets Binance's parameter error (never an internal error), and changes nothing."""
    params = {"symbol": "BTCUSDT", **_NEW_ORDER_FIELDS[field], field: value}
    before = engine.account("key", {})
    with pytest.raises(BinanceError) as exc:
        engine.new_order("key", params)
    msg = (_ILLEGAL if code == -1100 else _TOO_PRECISE).format(field)
    assert (exc.value.code, exc.value.msg, exc.value.http_status) == (code, msg, 400)
    assert engine.account("key", {}) == before
    assert engine.drain_events() == [] and engine.orders == {}
