"""Technical indicators computed by TA-Lib: the catalogue (:mod:`.specs`: names, parameters with defaults and bounds,
output names, units) and the batch computation over OHLCV candles (:mod:`.batch`), shared by the ``get_indicators``
tool, the bot's strategies and the backtests."""

from tradingmcp.research.indicators.batch import IndicatorResult, Ohlcv, as_json_list, compute, compute_one
from tradingmcp.research.indicators.specs import (
    SPECS,
    BadIndicatorParam,
    IndicatorError,
    IndicatorSpec,
    UnknownIndicator,
    parse_requests,
    resolve,
    spec_of,
)

__all__ = [
    "SPECS",
    "BadIndicatorParam",
    "IndicatorError",
    "IndicatorResult",
    "IndicatorSpec",
    "Ohlcv",
    "UnknownIndicator",
    "as_json_list",
    "compute",
    "compute_one",
    "parse_requests",
    "resolve",
    "spec_of",
]
