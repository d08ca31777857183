"""The incremental indicators equal TA-Lib's batch functions on the real recording (1e-9 relative): per trade price
(tick by tick), on the closes of the 1 s klines the simulator builds from the recorded trades (what ``get_klines``
serves), and on the recorded stream's one-minute kline closes."""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import orjson
import pytest
import talib

from tradingmcp.research.indicators.incremental import EMA, MACD, RSI, SMA, Bollinger
from tradingmcp.sim.data import binance_recordings
from tradingmcp.sim.market import SymbolMarket
from tradingmcp.sim.replay import EventKind, read_recording

REL = 1e-9
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def _trade_prices(data_dir: Path, symbol: str) -> list[tuple[int, float]]:
    """``(trade time ms, price)`` of every recorded trade of ``symbol`` (both files, in order)."""
    out: list[tuple[int, float]] = []
    for path in binance_recordings(symbol, data_dir):
        with gzip.open(path, "rb") as fh:
            for line in fh:
                raw = line.partition(b" ")[2]
                if b"@trade" not in raw[:40]:
                    continue
                d = orjson.loads(raw)["data"]
                out.append((int(d["T"]), float(d["p"])))
    return out


def _sim_kline_closes(data_dir: Path, symbol: str) -> list[float]:
    """The closes of the simulator's 1 s klines of the recording (its own bar builder)."""
    market = SymbolMarket(symbol, lambda stream, payload: None, lambda stream: False)
    for event in read_recording(symbol, binance_recordings(symbol, data_dir)):
        if event.kind is EventKind.TRADE:
            market.on_trade(event.data)
    return [float(b.c) for b in market.bars("1s")]


def _minute_closes(data_dir: Path, symbol: str) -> list[float]:
    path = data_dir / "binance" / "derived" / f"binance_spot_{symbol.lower()}_kline_1m.DERIVED.gz"
    with gzip.open(path, "rb") as fh:
        klines = [orjson.loads(line.partition(b" ")[2])["data"]["k"] for line in fh]
    return [float(k["c"]) for k in klines if k["x"]]


@pytest.fixture(scope="module")
def series(data_dir: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for symbol in SYMBOLS:
        trades = _trade_prices(data_dir, symbol)
        out[f"{symbol} trades"] = [p for _, p in trades]
        out[f"{symbol} 1s"] = _sim_kline_closes(data_dir, symbol)
        out[f"{symbol} 1m"] = _minute_closes(data_dir, symbol)
    assert len(out["BTCUSDT trades"]) > 19_000 and len(out["BTCUSDT 1s"]) > 500 and len(out["BTCUSDT 1m"]) == 10
    return out


def _assert_same(name: str, ours: Sequence[float | None], theirs: np.ndarray, lookback: int) -> int:
    """Ours is None exactly where TA-Lib gives NaN (its lookback) and within ``REL`` everywhere else; returns how
    many values were compared."""
    assert len(ours) == len(theirs)
    compared = 0
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if i < lookback:
            assert a is None and math.isnan(b), f"{name}[{i}]: {a} vs {b}"
            continue
        assert a is not None and not math.isnan(b), f"{name}[{i}]: {a} vs {b}"
        assert abs(a - b) <= REL * max(abs(b), 1e-300) or a == b, f"{name}[{i}]: {a!r} vs {b!r}"
        compared += 1
    return compared


def _run(make: Callable[[], SMA | EMA | RSI], xs: list[float]) -> list[float | None]:
    ind = make()
    return [ind.update(x) for x in xs]


@pytest.mark.parametrize("period", [2, 5, 9, 14, 20])
def test_sma_ema_rsi_equal_talib(series: dict[str, list[float]], period: int) -> None:
    compared = 0
    for name, xs in series.items():
        if len(xs) <= period + 1:
            continue
        arr = np.asarray(xs, dtype=float)
        compared += _assert_same(
            f"SMA{period} {name}", _run(lambda: SMA(period), xs), talib.SMA(arr, period), period - 1
        )
        compared += _assert_same(
            f"EMA{period} {name}", _run(lambda: EMA(period), xs), talib.EMA(arr, period), period - 1
        )
        compared += _assert_same(f"RSI{period} {name}", _run(lambda: RSI(period), xs), talib.RSI(arr, period), period)
    assert compared > 100_000


@pytest.mark.parametrize(("period", "k_up", "k_down"), [(5, 2.0, 2.0), (20, 2.0, 2.0), (20, 1.5, 2.5), (3, 1.0, 1.0)])
def test_bollinger_equals_talib_bbands(series: dict[str, list[float]], period: int, k_up: float, k_down: float) -> None:
    compared = 0
    for name, xs in series.items():
        if len(xs) <= period:
            continue
        upper, middle, lower = talib.BBANDS(np.asarray(xs, dtype=float), period, k_up, k_down, 0)
        bands = Bollinger(period, k_up, k_down)
        out = [bands.update(x) for x in xs]
        for label, ref, pick in (("upper", upper, 0), ("middle", middle, 1), ("lower", lower, 2)):
            ours = [None if b is None else (b.upper, b.middle, b.lower)[pick] for b in out]
            compared += _assert_same(f"BB{period} {label} {name}", ours, ref, period - 1)
    assert compared > 50_000


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 13, 4), (26, 12, 9)])
def test_macd_equals_talib(series: dict[str, list[float]], fast: int, slow: int, signal: int) -> None:
    compared = 0
    for name, xs in series.items():
        lookback = max(fast, slow) - 1 + signal - 1
        if len(xs) <= lookback:
            continue
        macd, sig, hist = talib.MACD(np.asarray(xs, dtype=float), fast, slow, signal)
        ind = MACD(fast, slow, signal)
        out = [ind.update(x) for x in xs]
        for label, ref, pick in (("macd", macd, 0), ("signal", sig, 1), ("hist", hist, 2)):
            ours = [None if v is None else (v.macd, v.signal, v.histogram)[pick] for v in out]
            compared += _assert_same(f"MACD {label} {name}", ours, ref, lookback)
    assert compared > 50_000


def test_flat_prices_and_bad_periods() -> None:
    rsi, bands = RSI(3), Bollinger(3)
    for _ in range(10):
        r, b = rsi.update(100.0), bands.update(100.0)
    assert r == 0.0 and b is not None and b.upper == b.middle == b.lower == 100.0  # TA-Lib's zero cases
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="period"):
            EMA(bad)  # type: ignore[arg-type]
