"""Arguments of the market tools and stream keys: the ``symbol`` / ``symbols`` schemas and checks, kline intervals,
book levels, and the per-symbol fan-out of a many-symbol call with its ``exchange_error`` results (sans-I/O but for
:func:`per_symbol`, which awaits the fetches it is given).

Malformed arguments are JSON-RPC -32602 errors naming ``arguments.<path>``; exchange failures are ``isError`` results
with ``error.code == "exchange_error"``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import ExchangeError, InvalidSymbol
from tradingmcp.server.exchanges.paramrules import BINANCE_KLINE_INTERVALS
from tradingmcp.server.mcp.registry import ToolError, ToolResult
from tradingmcp.server.venue_args import SYMBOL_PATTERN, quoted
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

T = TypeVar("T")

KLINE_INTERVALS = BINANCE_KLINE_INTERVALS
"""Binance kline intervals (https://developers.binance.com/docs/binance-spot-api-docs/enums#kline-intervals); a venue
may serve fewer (:attr:`~tradingmcp.server.exchanges.paramrules.ParamRules.kline_intervals`)."""
MAX_BOOK_LEVELS = 100
"""Most levels per side a book tool or ``book:`` stream returns."""
DEFAULT_BOOK_LEVELS = 10
"""Levels per side when none are asked for."""
MAX_SYMBOLS = 20
SYMBOL_RE = re.compile(SYMBOL_PATTERN)
"""A compiled :data:`SYMBOL_PATTERN`."""

SYMBOL_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 2,
    "maxLength": 20,
    "pattern": SYMBOL_PATTERN,
    "description": "exchange symbol, e.g. BTCUSDT (case-insensitive)",
}
"""JSON Schema of a ``symbol`` tool argument."""
SYMBOLS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": SYMBOL_SCHEMA,
    "minItems": 1,
    "maxItems": MAX_SYMBOLS,
    "description": f"several symbols at once (at most {MAX_SYMBOLS}), instead of symbol",
}
"""JSON Schema of a ``symbols`` tool argument (the alternative to ``symbol``)."""


def check_symbol(value: str, path: str = "symbol") -> str:
    """``value`` upper-cased, after checking it against :data:`SYMBOL_PATTERN`.

    Raises:
        JsonRpcError: -32602 naming ``arguments.<path>`` when it is not a legal symbol.
    """
    if not SYMBOL_RE.fullmatch(value):
        raise invalid(path, f"{quoted(value)} is not a symbol (letters and digits, e.g. BTCUSDT)")
    return value.upper()


def invalid(path: str, message: str) -> JsonRpcError:
    """A -32602 error about ``arguments.<path>`` (the engine's wording for schema failures)."""
    return JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: arguments.{path}: {message}", {"path": path})


def symbols_arg(args: dict[str, Any]) -> tuple[list[str], bool]:
    """The symbols of a ``symbol`` | ``symbols`` call, upper-cased and de-duplicated, and whether it asked for many.

    Raises:
        JsonRpcError: -32602 when both or neither are given, or a symbol is malformed.
    """
    if ("symbol" in args) == ("symbols" in args):
        raise invalid("symbol", "give exactly one of symbol or symbols")
    if "symbol" in args:
        return [check_symbol(args["symbol"])], False
    out = [check_symbol(s, f"symbols[{i}]") for i, s in enumerate(args["symbols"])]
    return list(dict.fromkeys(out)), True


async def listed_symbol(adapter: ExchangeAdapter, exchange: str, key: str, symbol: str) -> None:
    """Check that ``exchange`` lists ``symbol`` (its cached exchange info) before stream ``key`` starts: an exchange
    stream of an unknown symbol subscribes fine and then stays silent forever.

    Raises:
        JsonRpcError: -32602 naming ``key`` when the exchange does not list ``symbol``.
        ExchangeError: exchange info could not be read.
    """
    try:
        await adapter.symbol_rules(symbol)
    except InvalidSymbol:
        raise JsonRpcError(
            ErrorCode.INVALID_PARAMS,
            f"Invalid symbol {symbol!r} in stream {key!r}: {exchange} does not list it",
            {"stream": key, "path": "stream"},
        ) from None


def exchange_error(exc: ExchangeError, symbol: str | None = None) -> ToolError:
    """An adapter error as an ``isError`` result: code ``exchange_error``, the error class, exchange code, retry;
    the message names ``symbol`` when given."""
    message = str(exc) if symbol is None or symbol in str(exc) else f"{symbol}: {exc}"
    details: dict[str, Any] = {"exchange_error": type(exc).__name__}
    if exc.code is not None:
        details["exchange_code"] = exc.code
    if exc.retry_after_s is not None:
        details["retry_after_s"] = exc.retry_after_s
    return ToolError(message, "exchange_error", details)


async def per_symbol(
    symbols: list[str], many: bool, fetch: Callable[[str], Awaitable[T]]
) -> tuple[list[T], list[dict[str, Any]]]:
    """Run ``fetch`` for each symbol concurrently: (results, errors ``[{symbol, code, message}]``).

    Raises:
        ToolError: ``exchange_error`` for a single symbol that failed, or when every one of many failed.
    """
    results = await asyncio.gather(*(fetch(s) for s in symbols), return_exceptions=True)
    ok: list[T] = []
    errors: list[dict[str, Any]] = []
    first: tuple[str, ExchangeError] | None = None
    for sym, res in zip(symbols, results, strict=True):
        if isinstance(res, ExchangeError):
            first = first or (sym, res)
            errors.append({"symbol": sym, "code": "exchange_error", "message": str(res)})
        elif isinstance(res, BaseException):
            raise res
        else:
            ok.append(res)
    if first is not None and not ok:
        err = exchange_error(first[1], first[0])
        if many:
            err.details["errors"] = errors
        raise err from first[1]
    return ok, errors


def per_symbol_result(
    exchange: str, many: bool, key: str, rows: list[dict[str, Any]], errors: list[dict[str, Any]], text: str
) -> ToolResult:
    """The tool result of a :func:`per_symbol` fetch: one symbol's row itself, or ``{key: rows, "errors": errors}``
    for many (the errors also appended to ``text``, a line each)."""
    if not many:
        return ToolResult({"exchange": exchange, **rows[0]}, text)
    text += "".join(f"\n{e['symbol']}: {e['message']}" for e in errors)
    return ToolResult({"exchange": exchange, key: rows, "errors": errors}, text)
