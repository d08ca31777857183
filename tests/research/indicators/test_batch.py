"""Batch indicators on the real recorded candles: every series equals the direct TA-Lib call on the same columns,
NaN exactly where TA-Lib has its lookback; VWAP equals the recorded trades' own volume-weighted price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import talib

from tradingmcp.research.indicators import SPECS, Ohlcv, as_json_list, compute, compute_one
from tradingmcp.server.exchanges.models import Kline
from tradingmcp.server.tools.market.shapes import KLINE_COLUMNS, kline_row


def same(ours: np.ndarray[Any, Any], theirs: np.ndarray[Any, Any]) -> None:
    assert ours.shape == theirs.shape
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.array_equal(ours, theirs, equal_nan=True)


def columns(klines: list[Kline]) -> dict[str, np.ndarray[Any, Any]]:
    return {
        name: np.array([float(getattr(k, name)) for k in klines])
        for name in ("open", "high", "low", "close", "volume", "quote_volume")
    }


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_every_talib_indicator_equals_the_direct_call(symbol: str, btc_1s: list[Kline], eth_1s: list[Kline]) -> None:
    klines = btc_1s if symbol == "BTCUSDT" else eth_1s
    assert len(klines) > 600
    ohlcv = Ohlcv.from_klines(klines)
    c = columns(klines)
    h, lo, cl, v = c["high"], c["low"], c["close"], c["volume"]
    expected: dict[str, tuple[dict[str, Any], tuple[np.ndarray[Any, Any], ...]]] = {
        "sma": ({"timeperiod": 20}, (talib.SMA(cl, timeperiod=20),)),
        "ema": ({"timeperiod": 12}, (talib.EMA(cl, timeperiod=12),)),
        "wma": ({}, (talib.WMA(cl, timeperiod=30),)),
        "rsi": ({}, (talib.RSI(cl, timeperiod=14),)),
        "macd": ({"signalperiod": 5}, talib.MACD(cl, 12, 26, 5)),
        "bbands": ({"nbdevup": 1.5, "matype": 1}, talib.BBANDS(cl, 20, 1.5, 2.0, 1)),
        "atr": ({"timeperiod": 7}, (talib.ATR(h, lo, cl, timeperiod=7),)),
        "stoch": ({"fastk_period": 14}, talib.STOCH(h, lo, cl, 14, 3, 0, 3, 0)),
        "adx": ({}, (talib.ADX(h, lo, cl, 14),)),
        "cci": ({"timeperiod": 20}, (talib.CCI(h, lo, cl, 20),)),
        "mfi": ({}, (talib.MFI(h, lo, cl, v, 14),)),
        "obv": ({}, (talib.OBV(cl, v),)),
    }
    assert set(expected) | {"vwap"} == set(SPECS)
    results = compute(ohlcv, [{"name": n, "params": p} for n, (p, _) in expected.items()])
    for res, (name, (_, direct)) in zip(results, expected.items(), strict=True):
        assert res.name == name and list(res.outputs) == list(SPECS[name].outputs)
        for series, theirs in zip(res.outputs.values(), direct, strict=True):
            same(series, theirs)
            assert np.isfinite(series[-1]), name
    assert results[3].unit == "percent 0-100" and np.nanmin(results[3].outputs["rsi"]) > 0
    assert np.nanmax(results[3].outputs["rsi"]) < 100
    assert results[0].lookback() == 19 and results[4].lookback() == 25 + 4
    assert results[5].params == {"timeperiod": 20, "nbdevup": 1.5, "nbdevdn": 2.0, "matype": 1}
    upper, middle, lower = results[5].outputs.values()
    assert np.all(upper[19:] >= middle[19:]) and np.all(middle[19:] >= lower[19:])


def test_vwap_is_the_traded_volume_weighted_price(btc_1s: list[Kline]) -> None:
    vwap = compute_one(Ohlcv.from_klines(btc_1s), "VWAP")
    assert vwap.unit == "quote asset price" and vwap.lookback() == 0
    series = vwap.outputs["vwap"]
    for n in (1, 100, len(btc_1s)):
        value = sum((k.quote_volume for k in btc_1s[:n]), Decimal(0)) / sum((k.volume for k in btc_1s[:n]), Decimal(0))
        assert series[n - 1] == pytest.approx(float(value), rel=1e-12)
    assert min(float(k.low) for k in btc_1s) <= series.min() and series.max() <= max(float(k.high) for k in btc_1s)


def test_rows_of_get_klines_give_the_same_columns(eth_1s: list[Kline]) -> None:
    rows = [kline_row(k) for k in eth_1s]
    from_rows = Ohlcv.from_rows(KLINE_COLUMNS, rows, 1000)
    from_klines = Ohlcv.from_klines(eth_1s)
    for name in from_klines.__slots__:
        assert np.array_equal(getattr(from_rows, name), getattr(from_klines, name)), name
    with pytest.raises(ValueError, match="quote_volume"):
        Ohlcv.from_rows(KLINE_COLUMNS[:6], rows, 1000)


def test_short_and_empty_input_is_all_lookback(btc_1s: list[Kline]) -> None:
    short = Ohlcv.from_klines(btc_1s[:10])
    sma = compute_one(short, "sma", {"timeperiod": 20})
    assert len(sma.outputs["sma"]) == 10 and as_json_list(sma.outputs["sma"]) == [None] * 10
    assert sma.lookback() == 10
    empty = compute_one(Ohlcv.from_klines([]), "macd")
    assert [len(s) for s in empty.outputs.values()] == [0, 0, 0]


def test_json_list_maps_nan_to_null(btc_1s: list[Kline]) -> None:
    ema = compute_one(Ohlcv.from_klines(btc_1s[:40]), "ema", {"timeperiod": 5})
    out = as_json_list(ema.outputs["ema"])
    assert out[:4] == [None] * 4 and all(isinstance(x, float) for x in out[4:])
