"""Technical indicators computed by TA-Lib: the catalogue (:mod:`.specs`: names, parameters with defaults and bounds,
output names, units) and the batch computation over OHLCV candles (:mod:`.batch`), shared by the ``get_indicators``
tool and the backtests; the one-value-at-a-time forms the live bot's strategies use (:mod:`.incremental`), tested
equal to TA-Lib's batch values."""

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
