"""The indicator catalogue's checks: unknown names and parameters, kinds, bounds and contradictions, each a clear
error naming the indicator and the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from tradingmcp.research.indicators import (
    SPECS,
    BadIndicatorParam,
    IndicatorError,
    Ohlcv,
    UnknownIndicator,
    compute,
    parse_requests,
    resolve,
    spec_of,
)


def test_defaults_fill_in_and_names_are_case_insensitive() -> None:
    spec, params = resolve("MACD", {"slowperiod": 30})
    assert spec.name == "macd" and params == {"fastperiod": 12, "slowperiod": 30, "signalperiod": 9}
    assert resolve("obv")[1] == {}
    assert spec_of("Rsi").unit == "percent 0-100"
    assert resolve("bbands", {"nbdevup": 3})[1]["nbdevup"] == 3.0


def test_every_spec_describes_itself_with_bounds() -> None:
    units = {"quote asset price", "percent 0-100", "ratio", "base volume"}
    for name, spec in SPECS.items():
        doc = spec.describe()
        assert doc["name"] == name and doc["unit"] in units and doc["outputs"]
        for p in doc["params"].values():
            assert p["minimum"] <= p["default"] <= p["maximum"]


@pytest.mark.parametrize(
    ("name", "params", "error", "words"),
    [
        ("foo", {}, UnknownIndicator, ["unknown indicator 'foo'", "sma", "vwap"]),
        ("sma", {"period": 3}, BadIndicatorParam, ["sma: unknown parameter(s) period", "expected timeperiod"]),
        ("obv", {"timeperiod": 3}, BadIndicatorParam, ["obv", "expected none"]),
        ("sma", {"timeperiod": 1}, BadIndicatorParam, ["sma: timeperiod must be an integer 2..100000, got 1"]),
        ("atr", {"timeperiod": 0}, BadIndicatorParam, ["atr: timeperiod", "1..100000"]),
        ("rsi", {"timeperiod": 14.5}, BadIndicatorParam, ["an integer", "14.5"]),
        ("rsi", {"timeperiod": True}, BadIndicatorParam, ["True"]),
        ("rsi", {"timeperiod": "14"}, BadIndicatorParam, ["'14'"]),
        ("ema", {"timeperiod": 100_001}, BadIndicatorParam, ["100001"]),
        ("bbands", {"nbdevdn": float("nan")}, BadIndicatorParam, ["nbdevdn must be a number 0.1..10.0"]),
        ("bbands", {"matype": 9}, BadIndicatorParam, ["matype", "0..8"]),
        ("macd", {"fastperiod": 26}, BadIndicatorParam, ["fastperiod (26) must be below slowperiod (26)"]),
    ],
)
def test_bad_requests_are_refused_with_clear_errors(
    name: str, params: dict[str, Any], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as exc:
        resolve(name, params)
    assert isinstance(exc.value, IndicatorError) and isinstance(exc.value, ValueError)
    for word in words:
        assert word in str(exc.value)


def test_compute_checks_every_request_first() -> None:
    empty = Ohlcv.from_klines([])
    with pytest.raises(UnknownIndicator):
        compute(empty, [("sma", {}), ("nope", {})])
    with pytest.raises(IndicatorError, match="name, params"):
        compute(empty, [{"params": {}}])
    with pytest.raises(IndicatorError, match="params must be an object"):
        compute(empty, [{"name": "sma", "params": [20]}])


def test_text_requests_parse_to_names_and_numbers() -> None:
    assert parse_requests("rsi,sma:timeperiod=20,bbands:timeperiod=20:nbdevup=2.5") == [
        ("rsi", {}),
        ("sma", {"timeperiod": 20}),
        ("bbands", {"timeperiod": 20, "nbdevup": 2.5}),
    ]
    for bad in ("", "RSI", "rsi,", "rsi:timeperiod", "rsi:timeperiod=-1", "rsi\n", ",".join(["rsi"] * 9), "r" * 301):
        with pytest.raises(IndicatorError, match="joined by commas"):
            parse_requests(bad)
