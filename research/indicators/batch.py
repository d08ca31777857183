"""Batch indicators: OHLCV candles in, named and unit-labelled series out, computed by TA-Lib (sans-I/O).

Input is :class:`Ohlcv`, columns of float64 built from the candles the venues return
(:class:`~tradingmcp.server.exchanges.models.Kline`, :meth:`Ohlcv.from_klines`) or from a ``get_klines`` tool result
(:meth:`Ohlcv.from_rows`), oldest first. Output is one :class:`IndicatorResult` per request, each series as long as
the input and aligned with it bar by bar; the first bars of a series are NaN while the indicator's lookback fills
(TA-Lib's behaviour). The catalogue (names, parameters, units, TA-Lib functions) is
:mod:`tradingmcp.research.indicators.specs`.

Example::

    ohlcv = Ohlcv.from_klines(klines)
    rsi, macd = compute(ohlcv, [("rsi", {"timeperiod": 14}), ("macd", {})])
    rsi.outputs["rsi"][-1], macd.outputs["hist"][-1]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradingmcp.research.indicators.specs import Array, IndicatorError, ParamValue, Unit, resolve
from tradingmcp.server.exchanges.models import Kline

Request = tuple[str, Mapping[str, Any]] | Mapping[str, Any]
"""One indicator asked for: ``(name, params)`` or ``{"name": ..., "params": {...}}`` (``params`` optional)."""

ROW_COLUMNS = ("open_time_ms", "open", "high", "low", "close", "volume", "quote_volume")
"""The ``get_klines`` columns :meth:`Ohlcv.from_rows` needs (others are ignored)."""


@dataclass(frozen=True, slots=True)
class Ohlcv:
    """Candles as columns, oldest first, all of one length: ``open_time_ms`` and ``close_time_ms`` (int64, ms since
    the epoch, UTC; the close time is the bar's last ms), ``open``/``high``/``low``/``close`` (quote asset price),
    ``volume`` (base asset), ``quote_volume`` (quote asset).

    Raises:
        ValueError: columns of different lengths.
    """

    open_time_ms: npt.NDArray[np.int64]
    close_time_ms: npt.NDArray[np.int64]
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    quote_volume: Array

    def __post_init__(self) -> None:
        lengths = {len(getattr(self, name)) for name in self.__slots__}
        if len(lengths) > 1:
            raise ValueError(f"OHLCV columns differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.close)

    def column(self, name: str) -> Array:
        """One price or volume column by name."""
        value: Array = getattr(self, name)
        return value

    @classmethod
    def from_klines(cls, klines: Sequence[Kline]) -> Ohlcv:
        """From venue candles, oldest first (decimals become float64)."""

        def col(attr: str) -> Array:
            return np.array([float(getattr(k, attr)) for k in klines], dtype=np.float64)

        return cls(
            np.array([k.open_time_ms for k in klines], dtype=np.int64),
            np.array([k.close_time_ms for k in klines], dtype=np.int64),
            col("open"),
            col("high"),
            col("low"),
            col("close"),
            col("volume"),
            col("quote_volume"),
        )

    @classmethod
    def from_rows(cls, columns: Sequence[str], rows: Sequence[Sequence[Any]], interval_ms: int) -> Ohlcv:
        """From a ``get_klines`` result (``columns`` and ``rows``: decimal strings, ``open_time_ms`` ints);
        ``interval_ms`` gives each bar's close time (``open_time_ms + interval_ms - 1``).

        Raises:
            ValueError: a column of :data:`ROW_COLUMNS` is missing, or a value is not a number.
        """
        missing = [c for c in ROW_COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"kline rows lack column(s) {', '.join(missing)}")
        at = {c: list(columns).index(c) for c in ROW_COLUMNS}
        opens = np.array([int(r[at["open_time_ms"]]) for r in rows], dtype=np.int64)

        def col(name: str) -> Array:
            return np.array([float(r[at[name]]) for r in rows], dtype=np.float64)

        return cls(
            opens,
            opens + interval_ms - 1,
            col("open"),
            col("high"),
            col("low"),
            col("close"),
            col("volume"),
            col("quote_volume"),
        )


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One computed indicator: ``name``, the full ``params`` used (defaults filled in), ``unit`` of every output,
    ``outputs`` (series name → float64 array as long as the input, NaN during the lookback), ``source`` (the TA-Lib
    function)."""

    name: str
    params: dict[str, ParamValue]
    unit: Unit
    outputs: dict[str, Array]
    source: str

    def lookback(self) -> int:
        """Bars before the first value of every output (NaN at the start of the series)."""
        first = 0
        for values in self.outputs.values():
            finite = np.flatnonzero(~np.isnan(values))
            first = max(first, int(finite[0]) if finite.size else len(values))
        return first


def _request(req: Request) -> tuple[str, Mapping[str, Any]]:
    if isinstance(req, tuple):
        return req
    if not isinstance(req, Mapping) or "name" not in req:
        raise IndicatorError(f"an indicator request is {{name, params}}, got {req!r}")
    params = req.get("params") or {}
    if not isinstance(params, Mapping):
        raise IndicatorError(f"{req['name']}: params must be an object, got {params!r}")
    return str(req["name"]), params


def compute_one(ohlcv: Ohlcv, name: str, params: Mapping[str, Any] | None = None) -> IndicatorResult:
    """One indicator over ``ohlcv``.

    Raises:
        UnknownIndicator: no such indicator. BadIndicatorParam: a bad parameter (see
            :func:`~tradingmcp.research.indicators.specs.resolve`).
    """
    spec, full = resolve(name, params)
    data: dict[str, Array] = {c: np.ascontiguousarray(ohlcv.column(c)) for c in spec.inputs}
    if len(ohlcv) == 0:
        values: tuple[Array, ...] = tuple(np.empty(0, dtype=np.float64) for _ in spec.outputs)
    else:
        values = spec.compute(data, full)
    return IndicatorResult(spec.name, full, spec.unit, dict(zip(spec.outputs, values, strict=True)), spec.source)


def compute(ohlcv: Ohlcv, requests: Iterable[Request]) -> list[IndicatorResult]:
    """Each requested indicator over ``ohlcv``, in request order. Every request is checked before any is computed.

    Raises:
        IndicatorError: a malformed request. UnknownIndicator, BadIndicatorParam: as in :func:`compute_one`.
    """
    asked = [_request(r) for r in requests]
    for name, params in asked:
        resolve(name, params)
    return [compute_one(ohlcv, name, params) for name, params in asked]


def as_json_list(values: Array) -> list[float | None]:
    """A series as JSON numbers, NaN (lookback) as None (``null``)."""
    return [None if np.isnan(v) else float(v) for v in values.tolist()]


__all__ = ["ROW_COLUMNS", "IndicatorResult", "Ohlcv", "Request", "as_json_list", "compute", "compute_one"]
