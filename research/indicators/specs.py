"""The indicator catalogue: each indicator's name, parameters (defaults and bounds), output names and unit, and the
TA-Lib function it maps to (sans-I/O; no formula of ours but VWAP, see :func:`_vwap`).

Parameter bounds are TA-Lib's own (``optInTimePeriod`` 2..100000 for most, 1..100000 for ATR and the MACD signal and
stochastic smoothing periods; https://ta-lib.org/functions/). Moving-average types (``matype``) are TA-Lib's
``MA_Type`` 0..8: SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, MAMA, T3.

Units (:data:`Unit`): ``quote asset price`` (a price or a price difference, in the quote asset: USDT for BTCUSDT),
``percent 0-100`` (an oscillator bounded to 0..100), ``ratio`` (dimensionless, unbounded), ``base volume`` (a
quantity of the base asset: BTC for BTCUSDT).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import talib

Array = npt.NDArray[np.float64]
Unit = Literal["quote asset price", "percent 0-100", "ratio", "base volume"]
Column = Literal["open", "high", "low", "close", "volume", "quote_volume"]
ParamValue = int | float

PERIOD_MAX = 100_000
"""TA-Lib's largest period (``optInTimePeriod`` and the like)."""
MATYPE_MAX = 8
"""TA-Lib's ``MA_Type`` values are 0..8."""


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: ``kind`` int or float, ``default``, inclusive bounds ``minimum``..``maximum``."""

    name: str
    kind: type[int] | type[float]
    default: ParamValue
    minimum: ParamValue
    maximum: ParamValue
    description: str

    def check(self, indicator: str, value: Any) -> ParamValue:
        """``value`` as this parameter's kind.

        Raises:
            BadIndicatorParam: not a number of the right kind (bools are not numbers), not finite, or out of bounds.
        """
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if self.kind is int:
            ok = is_number and float(value).is_integer()
            what = "an integer"
        else:
            ok = is_number and bool(np.isfinite(value))
            what = "a number"
        if not ok or not self.minimum <= value <= self.maximum:
            raise BadIndicatorParam(
                f"{indicator}: {self.name} must be {what} {self.minimum}..{self.maximum}, got {value!r}"
            )
        return int(value) if self.kind is int else float(value)


Compute = Callable[[Mapping[str, Array], Mapping[str, ParamValue]], tuple[Array, ...]]


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One indicator: ``name`` (lower case), what it is, its ``params``, the ``inputs`` columns it reads,
    ``outputs`` (series names, in ``compute``'s order) and their ``unit``; ``source`` names the TA-Lib function."""

    name: str
    description: str
    params: tuple[Param, ...]
    inputs: tuple[Column, ...]
    outputs: tuple[str, ...]
    unit: Unit
    source: str
    compute: Compute

    def describe(self) -> dict[str, Any]:
        """The spec as JSON: name, description, unit, outputs, params with kind, default and bounds, source."""
        return {
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            "outputs": list(self.outputs),
            "params": {
                p.name: {
                    "type": "integer" if p.kind is int else "number",
                    "default": p.default,
                    "minimum": p.minimum,
                    "maximum": p.maximum,
                    "description": p.description,
                }
                for p in self.params
            },
            "source": self.source,
        }


class IndicatorError(ValueError):
    """A request the catalogue refuses (base of :class:`UnknownIndicator` and :class:`BadIndicatorParam`)."""


class UnknownIndicator(IndicatorError):
    """No indicator of that name; the message lists the known ones."""


class BadIndicatorParam(IndicatorError):
    """An unknown parameter, a value of the wrong kind or out of bounds, or parameters that contradict each other."""


def _period(name: str = "timeperiod", default: int = 14, minimum: int = 2, what: str = "bars") -> Param:
    return Param(name, int, default, minimum, PERIOD_MAX, f"window length ({what})")


def _matype(name: str) -> Param:
    return Param(name, int, 0, 0, MATYPE_MAX, "TA-Lib MA_Type: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, ...")


def _nbdev(name: str) -> Param:
    return Param(name, float, 2.0, 0.1, 10.0, "band width (standard deviations)")


def _one(fn: Callable[..., Array], *cols: str) -> Compute:
    """A single-output TA-Lib function fed ``cols`` and the parameters by name."""
    return lambda data, p: (fn(*(data[c] for c in cols), **p),)


def _many(fn: Callable[..., tuple[Array, ...]], *cols: str) -> Compute:
    return lambda data, p: tuple(fn(*(data[c] for c in cols), **p))


def _vwap(data: Mapping[str, Array], params: Mapping[str, ParamValue]) -> tuple[Array, ...]:
    """Volume-weighted average price anchored at the first bar: Σ quote volume / Σ base volume, cumulative.

    TA-Lib has no VWAP. The libraries that do (pandas-ta, ta) compute it from each bar's typical price
    ``(high+low+close)/3`` and need pandas; a kline carries the exact traded value of each bar (``quote_volume``), so
    the ratio of the cumulative sums is the exact VWAP of every trade since the first bar. Null (NaN) until some
    volume has traded.
    """
    volume = np.cumsum(data["volume"])
    value = np.cumsum(data["quote_volume"])
    return (np.divide(value, volume, out=np.full_like(value, np.nan), where=volume > 0),)


def _spec(
    name: str,
    description: str,
    params: tuple[Param, ...],
    inputs: tuple[Column, ...],
    outputs: tuple[str, ...],
    unit: Unit,
    compute: Compute,
    source: str | None = None,
) -> IndicatorSpec:
    return IndicatorSpec(name, description, params, inputs, outputs, unit, source or f"talib.{name.upper()}", compute)


_HLC: tuple[Column, ...] = ("high", "low", "close")
_C: tuple[Column, ...] = ("close",)

SPECS: dict[str, IndicatorSpec] = {
    s.name: s
    for s in (
        _spec("sma", "simple moving average of close", (_period(default=30),), _C, ("sma",), "quote asset price",
              _one(talib.SMA, "close")),
        _spec("ema", "exponential moving average of close", (_period(default=30),), _C, ("ema",),
              "quote asset price", _one(talib.EMA, "close")),
        _spec("wma", "linearly weighted moving average of close", (_period(default=30),), _C, ("wma",),
              "quote asset price", _one(talib.WMA, "close")),
        _spec("rsi", "relative strength index (Wilder) of close", (_period(),), _C, ("rsi",), "percent 0-100",
              _one(talib.RSI, "close")),
        _spec("macd", "moving average convergence/divergence of close: macd = EMA(fast) - EMA(slow), signal = "
              "EMA(signal) of macd, hist = macd - signal",
              (_period("fastperiod", 12), _period("slowperiod", 26), _period("signalperiod", 9, 1)), _C,
              ("macd", "signal", "hist"), "quote asset price", _many(talib.MACD, "close")),
        _spec("bbands", "Bollinger Bands of close: middle = MA(timeperiod), upper/lower = middle ± nbdev standard "
              "deviations", (_period(default=20), _nbdev("nbdevup"), _nbdev("nbdevdn"), _matype("matype")), _C,
              ("upper", "middle", "lower"), "quote asset price", _many(talib.BBANDS, "close")),
        _spec("atr", "average true range (Wilder)", (_period(minimum=1),), _HLC, ("atr",), "quote asset price",
              _one(talib.ATR, *_HLC)),
        _spec("stoch", "slow stochastic oscillator: k = smoothed %K, d = MA of k",
              (_period("fastk_period", 5, 1), _period("slowk_period", 3, 1), _matype("slowk_matype"),
               _period("slowd_period", 3, 1), _matype("slowd_matype")), _HLC, ("k", "d"), "percent 0-100",
              _many(talib.STOCH, *_HLC)),
        _spec("adx", "average directional movement index (trend strength)", (_period(),), _HLC, ("adx",),
              "percent 0-100", _one(talib.ADX, *_HLC)),
        _spec("cci", "commodity channel index", (_period(),), _HLC, ("cci",), "ratio", _one(talib.CCI, *_HLC)),
        _spec("mfi", "money flow index (volume-weighted RSI)", (_period(),), (*_HLC, "volume"), ("mfi",),
              "percent 0-100", _one(talib.MFI, *_HLC, "volume")),
        _spec("obv", "on-balance volume, cumulative from the first bar", (), ("close", "volume"), ("obv",),
              "base volume", _one(talib.OBV, "close", "volume")),
        _spec("vwap", "volume-weighted average price of every trade since the first bar (cumulative)", (),
              ("volume", "quote_volume"), ("vwap",), "quote asset price", _vwap,
              "Σ quote_volume / Σ volume (TA-Lib has none)"),
    )
}  # fmt: skip
"""Every indicator by name."""


def spec_of(name: str) -> IndicatorSpec:
    """The spec of ``name`` (any case).

    Raises:
        UnknownIndicator: no such indicator.
    """
    spec = SPECS.get(name.lower()) if isinstance(name, str) else None
    if spec is None:
        raise UnknownIndicator(f"unknown indicator {name!r}; known: {', '.join(SPECS)}")
    return spec


def resolve(name: str, params: Mapping[str, Any] | None = None) -> tuple[IndicatorSpec, dict[str, ParamValue]]:
    """The spec of ``name`` and its full parameters (``params`` checked, defaults filled in, in the spec's order).

    Raises:
        UnknownIndicator: no such indicator. BadIndicatorParam: an unknown parameter, a bad value, or (MACD)
            ``fastperiod`` not below ``slowperiod``.
    """
    spec = spec_of(name)
    given = dict(params or {})
    known = {p.name for p in spec.params}
    unknown = sorted(str(k) for k in set(given) - known)
    if unknown:
        expected = ", ".join(sorted(known)) if known else "none"
        raise BadIndicatorParam(f"{spec.name}: unknown parameter(s) {', '.join(unknown)}; expected {expected}")
    full = {p.name: p.check(spec.name, given.get(p.name, p.default)) for p in spec.params}
    if spec.name == "macd" and full["fastperiod"] >= full["slowperiod"]:
        raise BadIndicatorParam(
            f"macd: fastperiod ({full['fastperiod']}) must be below slowperiod ({full['slowperiod']})"
        )
    return spec, full


_ITEM = r"[a-z]+(:[a-z_]+=[0-9]+(\.[0-9]+)?)*"
MAX_REQUESTS = 8
"""Most indicators one request string may ask for."""
MAX_REQUESTS_CHARS = 300
"""Longest request string."""
REQUESTS_PATTERN = rf"^{_ITEM}(,{_ITEM}){{0,{MAX_REQUESTS - 1}}}$"
"""The text form of a list of indicator requests (:func:`parse_requests`)."""
_REQUESTS_RE = re.compile(REQUESTS_PATTERN.replace("$", r"\Z"))


def parse_requests(text: str) -> list[tuple[str, dict[str, ParamValue]]]:
    """Indicator requests written as text, for query strings and command lines: comma-separated indicators, each its
    name then ``:param=value`` pairs, e.g. ``rsi,sma:timeperiod=20,bbands:timeperiod=20:nbdevup=2.5`` (at most
    :data:`MAX_REQUESTS`; the grammar is :data:`REQUESTS_PATTERN`). Values without a point are integers.

    Raises:
        IndicatorError: the text does not follow the grammar. Names and parameters are not checked here
            (:func:`resolve` does).
    """
    if len(text) > MAX_REQUESTS_CHARS or not _REQUESTS_RE.match(text):
        raise IndicatorError(
            f"indicators must be name[:param=value...] joined by commas (at most {MAX_REQUESTS}, "
            f"{MAX_REQUESTS_CHARS} characters), e.g. rsi,sma:timeperiod=20"
        )
    out: list[tuple[str, dict[str, ParamValue]]] = []
    for item in text.split(","):
        name, *pairs = item.split(":")
        params: dict[str, ParamValue] = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            params[key] = float(value) if "." in value else int(value)
        out.append((name, params))
    return out


__all__ = [
    "MATYPE_MAX",
    "MAX_REQUESTS",
    "MAX_REQUESTS_CHARS",
    "PERIOD_MAX",
    "REQUESTS_PATTERN",
    "SPECS",
    "Array",
    "BadIndicatorParam",
    "IndicatorError",
    "IndicatorSpec",
    "Param",
    "ParamValue",
    "Unit",
    "UnknownIndicator",
    "parse_requests",
    "resolve",
    "spec_of",
]
