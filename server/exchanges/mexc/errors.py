"""MEXC error codes → the exchange-neutral error types of :mod:`tradingmcp.server.exchanges.errors`.

MEXC answers failures with HTTP 4xx/5xx and a body ``{"code": <int>, "msg": "<text>"}``; 429 (rate limit) and 418
(IP ban) carry ``Retry-After`` in seconds; 5xx means the outcome is UNKNOWN (an order may exist).
Codes: https://mexcdevelop.github.io/apidocs/spot_v3_en/#error-code; limits: #limits.

Every error keeps MEXC's ``code`` and ``msg`` (``exchange_message``), the HTTP ``status``, and a message that says
what to do. The classes are re-exported here so callers can import them from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from tradingmcp.server.exchanges.venueerrors import VenueErrors, code_and_message

__all__ = [
    "ERRORS",
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
    "TimestampOutOfWindow",
    "UnknownOrder",
    "error_for_code",
    "from_response",
    "mexc_error",
]

# code -> (class, what to do; None = the class's hint)
_CODES: dict[int, tuple[type[ExchangeError], str | None]] = {
    # signing and access
    700001: (AuthError, "the X-MEXC-APIKEY header is missing or malformed; check the API key"),
    700002: (InvalidSignature, None),
    602: (InvalidSignature, None),
    700003: (TimestampOutOfWindow, None),
    10073: (TimestampOutOfWindow, None),
    700004: (BadParameter, "send orderId or origClientOrderId"),
    700005: (BadParameter, "recvWindow must be at most 60000 ms"),
    700006: (AuthError, "this IP is not in the API key's whitelist; add it on MEXC's API management page"),
    700007: (AuthError, "the API key lacks the permission for this endpoint (SPOT_DEAL_WRITE to trade); enable it"),
    700008: (BadParameter, "remove illegal characters from the parameters"),
    10072: (AuthError, "invalid access key"),
    26: (AuthError, "operation not allowed for this account"),
    400: (AuthError, "an API key is required for this endpoint"),
    401: (AuthError, "no authority: check the API key's permissions"),
    403: (AuthError, "access denied (WAF or permissions); do not retry blindly"),
    30020: (AuthError, "the API key has no permission for this symbol"),
    # symbols
    10007: (InvalidSymbol, None),
    30014: (InvalidSymbol, None),
    30021: (InvalidSymbol, None),
    730001: (InvalidSymbol, None),
    # balances and sizes
    10101: (InsufficientBalance, None),
    30004: (InsufficientBalance, "insufficient position: sell at most the free base balance"),
    30002: (FilterFailure, "the order is below the symbol's minimum amount (quoteAmountPrecision); make it larger"),
    30003: (FilterFailure, "the order is above the symbol's maximum amount (maxQuoteAmount); split it"),
    # trading rejections
    30005: (OrderRejected, "oversold: the sell quantity exceeds what can be sold; check the free base balance"),
    30016: (OrderRejected, "trading is disabled for this symbol right now"),
    30000: (OrderRejected, "trading is suspended for this symbol"),
    30001: (OrderRejected, "this side is not allowed on the symbol right now (see tradeSideType)"),
    30010: (OrderRejected, "no valid trade price: the market has no reference price for this order"),
    30018: (OrderRejected, "market orders are disabled for this symbol; use a LIMIT order"),
    30019: (OrderRejected, "API market orders are disabled for this symbol; use a LIMIT order"),
    30025: (OrderRejected, "no opposite order to match (IOC/FOK/market found no liquidity)"),
    30027: (OrderRejected, "buying is suspended: the currency reached its position limit"),
    30028: (OrderRejected, "selling is suspended by the platform's risk control"),
    30029: (OrderRejected, "too many open orders (max 500); cancel some first"),
    30032: (OrderRejected, "the maximum position would be exceeded"),
    30041: (OrderRejected, "this order type cannot be placed on the symbol"),
    # orders: MEXC's -2011 "Unknown order sent" answers both queries and cancels of an order it does not know
    -2011: (UnknownOrder, None),
    -2013: (UnknownOrder, 'no such order on this symbol ("Order does not exist.")'),
    30026: (UnknownOrder, "invalid order ids"),
    # parameters
    33333: (BadParameter, None),
    44444: (BadParameter, None),
    730002: (BadParameter, None),
}


EXCHANGE = "mexc"

ERRORS = VenueErrors(EXCHANGE, "MEXC", _CODES, ban_s=120)
"""How this venue's errors are built (its adapter raises through it too)."""

mexc_error = ERRORS.error
"""Build one error of class ``cls`` with message ``"MEXC error <code>: <msg> — <what to do>"`` (see
:meth:`~tradingmcp.server.exchanges.venueerrors.VenueErrors.error`)."""


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def error_for_code(
    code: int, msg: str, *, status: int | None = 400, retry_after_s: float | None = None
) -> ExchangeError:
    """The typed error for a MEXC ``code`` (``ExchangeError`` itself for codes not in the table)."""
    return ERRORS.for_code(code, msg, status=status, retry_after_s=retry_after_s)


def from_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None, now_ms: int | None = None
) -> ExchangeError:
    """Map a failed MEXC HTTP response to a typed error (returned, not raised).

    Args:
        status: the HTTP status (>= 400, or 200 with an error body).
        body: the decoded JSON body (``{"code", "msg"}``), or text/None when it was not JSON.
        headers: response headers (``Retry-After`` is read case-insensitively).
        now_ms: the current time, to compute an IP ban's end (``IpBanned.banned_until_ms``).

    Returns:
        418 → ``IpBanned``; 429 → ``RateLimited``; 5xx → ``ExchangeUnavailable``; otherwise by MEXC code.
    """
    retry_after = _retry_after(headers)
    code, msg = code_and_message(status, body, "code", ("msg", "message"))
    if status == 418:
        wait = f"{retry_after:.0f}" if retry_after is not None else "the Retry-After"
        return mexc_error(
            IpBanned,
            code,
            msg or "IP banned",
            status=418,
            hint=f"the IP is banned for ignoring 429s; send nothing for {wait} s",
            retry_after_s=retry_after,
            now_ms=now_ms,
        )
    if status == 429:
        wait = f"{retry_after:g}" if retry_after is not None else "a few"
        return mexc_error(
            RateLimited,
            code,
            msg or "Too Many Requests",
            status=429,
            hint=f"wait {wait} s before calling this endpoint again, or the IP gets banned",
            retry_after_s=retry_after,
        )
    if status >= 500:
        return mexc_error(ExchangeUnavailable, code, msg or f"HTTP {status}", status=status)
    return error_for_code(code, msg or f"HTTP {status}", status=status, retry_after_s=retry_after)
