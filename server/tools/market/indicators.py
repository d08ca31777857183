"""The market tool ``get_indicators`` (read scope): technical indicators of a symbol's candles, computed by TA-Lib
through :mod:`tradingmcp.research.indicators` (the same module the bot's strategies and the backtests use).

The candles are the venue's latest :data:`~tradingmcp.server.market.data.KLINES_FETCHED` of the interval, read
through the server's :class:`~tradingmcp.server.market.data.MarketData` (the TTL cache ``get_klines`` shares), oldest
first; every indicator is computed over all of them, so the ``limit`` points returned (the latest) start past the
lookback whenever the venue has enough history. The latest candle may still be open (``last_closed`` false).

Result (``structuredContent``, bounded: ≤ :data:`MAX_POINTS` points × ≤ :data:`MAX_INDICATORS` indicators × ≤ 3
series)::

    {"exchange", "symbol", "interval", "count", "candles": <candles computed over>, "last_closed": bool,
     "close_time_ms": [int, ...],
     "indicators": [{"name", "params": {...defaults filled in}, "unit", "source", "outputs": {series: [float|null]}}]}

Each series is aligned with ``close_time_ms``; ``null`` where the indicator's lookback is not yet filled. Units:
``quote asset price``, ``percent 0-100``, ``ratio``, ``base volume``. An unknown indicator or a bad parameter is a
JSON-RPC -32602 error naming ``arguments.indicators[i]``; exchange failures are ``isError`` results with
``error.code == "exchange_error"``.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.research.indicators import SPECS, IndicatorError, Ohlcv, as_json_list, compute, resolve
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import Kline
from tradingmcp.server.market.data import KLINES_FETCHED, MarketData
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolResult
from tradingmcp.server.tools.market.args import KLINE_INTERVALS, SYMBOL_SCHEMA, check_symbol, exchange_error, invalid
from tradingmcp.server.tools.market.shapes import hms
from tradingmcp.server.venues import Venues

MAX_POINTS, DEFAULT_POINTS = KLINES_FETCHED, 100
MAX_INDICATORS = 8

PARAM_NAMES = sorted({p.name for spec in SPECS.values() for p in spec.params})
"""Every parameter name of any indicator (the ``params`` schema's properties; each indicator checks its own)."""


def _signature(name: str, params: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})"


def _last(values: list[float | None]) -> str:
    value = values[-1] if values else None
    return "null" if value is None else f"{value:.6g}"


def catalogue_text() -> str:
    """One line per indicator for the tool description: name(params=defaults) → outputs [unit]."""
    lines = []
    for spec in SPECS.values():
        params = ", ".join(f"{p.name}={p.default}" for p in spec.params)
        lines.append(f"{spec.name}({params}) → {'/'.join(spec.outputs)} [{spec.unit}]")
    return "; ".join(lines)


INPUT_SCHEMA_INDICATOR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "enum": list(SPECS), "description": "indicator name"},
        "params": {
            "type": "object",
            "properties": {name: {"type": "number"} for name in PARAM_NAMES},
            "additionalProperties": False,
            "description": "parameters by name; omitted ones take their defaults",
        },
    },
    "required": ["name"],
    "additionalProperties": False,
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "exchange": {"type": "string"},
        "symbol": {"type": "string"},
        "interval": {"type": "string"},
        "count": {"type": "integer", "minimum": 0, "maximum": MAX_POINTS},
        "candles": {"type": "integer", "minimum": 0},
        "last_closed": {"type": "boolean"},
        "close_time_ms": {"type": "array", "items": {"type": "integer"}, "maxItems": MAX_POINTS},
        "indicators": {
            "type": "array",
            "maxItems": MAX_INDICATORS,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "params": {"type": "object"},
                    "unit": {"enum": ["quote asset price", "percent 0-100", "ratio", "base volume"]},
                    "source": {"type": "string"},
                    "outputs": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": ["number", "null"]},
                            "maxItems": MAX_POINTS,
                        },
                    },
                },
                "required": ["name", "params", "unit", "source", "outputs"],
            },
        },
    },
    "required": ["exchange", "symbol", "interval", "count", "candles", "last_closed", "close_time_ms", "indicators"],
}


def refusal(asked: list[tuple[str, dict[str, Any]]]) -> tuple[int, str] | None:
    """The index and the catalogue's message of the first indicator request it refuses; None when all are good."""
    for i, (name, params) in enumerate(asked):
        try:
            resolve(name, params)
        except IndicatorError as exc:
            return i, str(exc)
    return None


def indicators_json(klines: list[Kline], asked: list[tuple[str, dict[str, Any]]], limit: int) -> dict[str, Any]:
    """The indicators ``asked`` (``(name, params)`` each) over every candle of ``klines``, the latest ``limit``
    points shown: ``{count, candles, last_closed, close_time_ms, indicators}`` (see the module docstring).

    Raises:
        IndicatorError: an unknown indicator or a bad parameter.
    """
    results = compute(Ohlcv.from_klines(klines), asked)
    shown = klines[-limit:]
    cut = len(klines) - len(shown)
    return {
        "count": len(shown),
        "candles": len(klines),
        "last_closed": bool(shown[-1].closed) if shown else True,
        "close_time_ms": [k.close_time_ms for k in shown],
        "indicators": [
            {
                "name": r.name,
                "params": r.params,
                "unit": r.unit,
                "source": r.source,
                "outputs": {k: as_json_list(v[cut:]) for k, v in r.outputs.items()},
            }
            for r in results
        ],
    }


def indicators_text(symbol: str, interval: str, out: dict[str, Any]) -> str:
    """One line for the candles, one per indicator with its latest values."""
    if not out["count"]:
        return f"{symbol} {interval}: no candles"
    head = f"{symbol} {interval}, {out['count']} points to {hms(out['close_time_ms'][-1])} UTC, latest:"
    parts = [
        f"{_signature(r['name'], r['params'])} "
        + " ".join(f"{k} {_last(v)}" for k, v in r["outputs"].items())
        + f" [{r['unit']}]"
        for r in out["indicators"]
    ]
    return "\n".join([head, *parts])


def register_indicator_tools(app: McpApp, venues: Venues, market: MarketData) -> None:
    """Register ``get_indicators`` (read scope); candles are read through ``market`` (its TTL cache)."""

    async def get_indicators(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbol, interval = check_symbol(args["symbol"]), args["interval"]
        limit = int(args.get("limit", DEFAULT_POINTS))
        asked = [(item["name"], item.get("params", {})) for item in args["indicators"]]
        refused = refusal(asked)
        if refused is not None:
            raise invalid(f"indicators[{refused[0]}]", refused[1])
        try:
            klines = (await market.klines(venue, symbol, interval)).value
        except ExchangeError as exc:
            raise exchange_error(exc, symbol) from exc
        out = indicators_json(klines, asked, limit)
        out = {"exchange": venue.name, "symbol": symbol, "interval": interval, **out}
        return ToolResult(out, indicators_text(symbol, interval, out))

    props = {
        "symbol": SYMBOL_SCHEMA,
        "exchange": venues.schema(),
        "interval": {"type": "string", "enum": list(KLINE_INTERVALS), "description": "candle size (1M = month)"},
        "indicators": {
            "type": "array",
            "items": INPUT_SCHEMA_INDICATOR,
            "minItems": 1,
            "maxItems": MAX_INDICATORS,
            "description": f"the indicators, each {{name, params}} (at most {MAX_INDICATORS})",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_POINTS, "default": DEFAULT_POINTS},
    }
    app.add_tool(
        Tool(
            "get_indicators",
            "Technical indicators (TA-Lib) of a symbol's latest candles: the close times and each indicator's "
            f"series, oldest first, null during its lookback; limit 1..{MAX_POINTS} points (default "
            f"{DEFAULT_POINTS}), computed over the latest {KLINES_FETCHED} candles; at most {MAX_INDICATORS} "
            f"indicators: {catalogue_text()}.",
            get_indicators,
            {
                "type": "object",
                "properties": props,
                "required": ["symbol", "interval", "indicators"],
                "additionalProperties": False,
            },
            output_schema=OUTPUT_SCHEMA,
        )
    )
