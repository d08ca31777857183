"""Binance error codes → the exchange-neutral error types of :mod:`tradingmcp.server.exchanges.errors`.

Codes from "Error codes for Binance" (https://developers.binance.com/docs/binance-spot-api-docs/errors). Messages
quote Binance's own ``code`` and ``msg`` (a body that is not Binance's JSON error is quoted as text, never as a Python
object) and add what to do. Re-exports the error classes so callers can import them from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from binance.exceptions import (
    BinanceAPIException,
    BinanceRequestException,
    BinanceWebsocketClosed,
    BinanceWebsocketQueueOverflow,
    BinanceWebsocketUnableToConnect,
)

from tradingmcp.server.exchanges.errors import (
    AuthError,
    BadParameter,
    CancelRejected,
    ExchangeError,
    ExchangeUnavailable,
    FilterFailure,
    InsufficientBalance,
    InvalidSignature,
    InvalidSymbol,
    IpBanned,
    NotSupported,
    OrderRejected,
    RateLimited,
    TimestampOutOfWindow,
    UnknownOrder,
)

__all__ = [
    "AuthError",
    "BadParameter",
    "CancelRejected",
    "ExchangeError",
    "ExchangeUnavailable",
    "FilterFailure",
    "InsufficientBalance",
    "InvalidSignature",
    "InvalidSymbol",
    "IpBanned",
    "NotSupported",
    "OrderRejected",
    "RateLimited",
    "RestReply",
    "TimestampOutOfWindow",
    "UnknownOrder",
    "error_for_code",
    "from_binance_exception",
    "from_rest_response",
    "should_retry",
]

MAX_QUOTED_BODY = 200
"""Most characters of a non-JSON error body quoted in an error message."""

_BY_CODE: dict[int, type[ExchangeError]] = {
    -1003: RateLimited,
    -1015: RateLimited,
    -1013: FilterFailure,
    -1021: TimestampOutOfWindow,
    -1022: InvalidSignature,
    -1121: InvalidSymbol,
    -2010: OrderRejected,
    -2011: CancelRejected,
    -2013: UnknownOrder,
    -2018: UnknownOrder,  # NO_SUCH_ORDER_LIST: GET /api/v3/orderList of an unknown list
    -2014: AuthError,
    -2015: AuthError,
}


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_for_code(
    code: int | None,
    message: str,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    now_ms: int | None = None,
) -> ExchangeError:
    """Build the typed error for a Binance ``{"code", "msg"}`` error (REST or WS API) and HTTP ``status``.

    HTTP 418 → IpBanned, 429 → RateLimited (with ``Retry-After``), 5xx → ExchangeUnavailable, then by code; -2010
    with "insufficient balance" → InsufficientBalance; other -11xx → BadParameter.
    """
    retry_after = _retry_after(headers)
    kw: dict[str, Any] = {"exchange": "binance", "code": code, "status": status, "exchange_message": message}
    if status == 418:
        until = now_ms + int((retry_after or 120) * 1000) if now_ms is not None else None
        text = f"IP banned by Binance (HTTP 418: {message}); wait {retry_after or 120:.0f} s before any request"
        return IpBanned(text, banned_until_ms=until, retry_after_s=retry_after, **kw)
    if status == 429 or code in (-1003, -1015):
        wait = f"wait {retry_after:.0f} s" if retry_after is not None else "wait for the next minute"
        detail = f"{code}: {message}" if code is not None else message
        return RateLimited(f"rate limited by Binance ({detail}); {wait} and retry", retry_after_s=retry_after, **kw)
    if status is not None and status >= 500:
        return ExchangeUnavailable(f"Binance server error {status} ({message}); {ExchangeUnavailable.hint}", **kw)
    cls: type[ExchangeError]
    if code == -2010 and "insufficient balance" in message.lower():
        cls = InsufficientBalance
    elif code in _BY_CODE:
        cls = _BY_CODE[code]
    elif code is not None and -1199 <= code <= -1100:
        cls = BadParameter
    else:
        cls = ExchangeError
    head = f"Binance error {code}" if code is not None else f"Binance error (HTTP {status})"
    return cls(f"{head}: {message}" + (f" — {cls.hint}" if cls.hint else ""), **kw)


class RestReply(Exception):
    """The answer behind a typed REST error (its ``__cause__``): HTTP ``status`` and the decoded JSON ``body`` (None
    when it was not JSON). cancelReplace's HTTP 409 carries the two outcomes in ``body["data"]``."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


def quoted_text(text: str, limit: int = MAX_QUOTED_BODY) -> str:
    """``text`` as one line (whitespace runs collapsed) cut to ``limit`` characters, for quoting in a message."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def from_rest_response(
    status: int, text: str, headers: Mapping[str, str] | None = None, now_ms: int | None = None
) -> ExchangeError:
    """The typed error of a non-2xx REST answer (returned, not raised; its ``__cause__`` is a :class:`RestReply`).

    Binance's body ``{"code": -1121, "msg": "Invalid symbol."}`` goes through :func:`error_for_code` (its code and
    msg quoted); any other body (an HTML page from a proxy, a plain-text 400 from an HTTP server) is quoted as text.
    """
    try:
        body: Any = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        body = None
    raw_code = body.get("code") if isinstance(body, dict) else None
    if isinstance(raw_code, int) and not isinstance(raw_code, bool):
        error = error_for_code(raw_code, str(body.get("msg", "")), status, headers, now_ms)
    else:
        message = f"HTTP {status} with a body that is not Binance's JSON error: {quoted_text(text) or '(empty)'}"
        error = error_for_code(None, message, status, headers, now_ms)
    error.__cause__ = RestReply(status, body)
    return error


def from_binance_exception(exc: BaseException, now_ms: int | None = None) -> ExchangeError:
    """Map a python-binance / transport exception to an ExchangeError (returned, not raised).

    ``BinanceAPIException`` (``status_code``, ``code``, ``message``, ``response.headers``) goes through
    :func:`error_for_code`; ``BinanceRequestException`` (non-JSON 2xx), aiohttp client errors and timeouts become
    ExchangeUnavailable (outcome unknown); websocket failures become ExchangeUnavailable too.
    """
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, BinanceAPIException):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        code = int(exc.code) if isinstance(exc.code, int | str) and str(exc.code).lstrip("-").isdigit() else None
        status = int(exc.status_code) if exc.status_code is not None else None
        return error_for_code(code, str(exc.message or ""), status, headers, now_ms)
    if isinstance(exc, BinanceRequestException):
        return ExchangeUnavailable(
            f"Binance sent an unreadable response ({exc.message}); {ExchangeUnavailable.hint}", exchange="binance"
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return ExchangeUnavailable(f"Binance did not answer in time; {ExchangeUnavailable.hint}", exchange="binance")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return ExchangeUnavailable(
            f"cannot reach Binance ({type(exc).__name__}: {exc}); {ExchangeUnavailable.hint}", exchange="binance"
        )
    if isinstance(exc, BinanceWebsocketUnableToConnect | BinanceWebsocketClosed | BinanceWebsocketQueueOverflow):
        return ExchangeUnavailable(f"Binance websocket failed ({type(exc).__name__})", exchange="binance")
    return ExchangeError(f"unexpected error talking to Binance: {type(exc).__name__}: {exc}", exchange="binance")


def should_retry(error: BaseException) -> bool:
    """True when re-sending the same request may succeed (rate limits after the wait, -1021 after a clock resync,
    5xx/timeouts for reads; for order placement query by client order id first)."""
    mapped = from_binance_exception(error)
    return mapped.should_retry()
