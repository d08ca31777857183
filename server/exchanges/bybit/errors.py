"""Bybit V5 ``retCode`` values → the exchange-neutral error types of :mod:`tradingmcp.server.exchanges.errors`.

Bybit answers most failures with HTTP 200 and ``{"retCode": <non-zero>, "retMsg": "..."}``; HTTP 403 is an IP rate
limit ("access too frequent", wait at least 10 minutes); HTTP 5xx means the outcome is UNKNOWN.
Codes: https://bybit-exchange.github.io/docs/v5/error; limits: /v5/rate-limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradingmcp.server.exchanges import errors as e
from tradingmcp.server.exchanges.venueerrors import VenueErrors, code_and_message

__all__ = ["ERRORS", "bybit_error", "error_for_code", "from_response"]

_CODES: dict[int, tuple[type[e.ExchangeError], str | None]] = {
    10001: (e.BadParameter, None),
    10002: (e.TimestampOutOfWindow, None),
    10003: (e.AuthError, "the API key is invalid or belongs to another environment (testnet/mainnet)"),
    10004: (e.InvalidSignature, None),
    10005: (e.AuthError, "the API key lacks the permission for this endpoint"),
    10006: (e.RateLimited, None),
    10007: (e.AuthError, "user authentication failed"),
    10010: (e.AuthError, "this IP is not bound to the API key"),
    10016: (e.ExchangeUnavailable, None),
    10018: (e.RateLimited, "the IP rate limit was exceeded; slow down"),
    10027: (e.AuthError, "trading is banned for this account"),
    170121: (e.InvalidSymbol, None),
    170130: (e.BadParameter, None),
    170131: (e.InsufficientBalance, None),
    170134: (e.FilterFailure, "the price is not a multiple of the symbol's tickSize"),
    170135: (e.FilterFailure, "the quantity is above the symbol's maxOrderQty"),
    170136: (e.FilterFailure, "the quantity is below the symbol's minOrderQty"),
    170137: (e.FilterFailure, "the quantity is not a multiple of the symbol's basePrecision"),
    170140: (e.FilterFailure, "the order value is below the symbol's minOrderAmt; make it larger"),
    170124: (e.FilterFailure, "the order value is above the symbol's maxOrderAmt; split it"),
    170141: (e.OrderRejected, "an order with this orderLinkId already exists; use a new client order id"),
    170142: (e.CancelRejected, "the order is already cancelled"),
    170143: (e.CancelRejected, "the order is already filled"),
    170213: (e.UnknownOrder, None),
    110001: (e.UnknownOrder, None),
    170218: (e.OrderRejected, "a post-only (LIMIT_MAKER) order would have taken liquidity"),
}

EXCHANGE = "bybit"

ERRORS = VenueErrors(EXCHANGE, "Bybit", _CODES, ban_s=600)
"""How this venue's errors are built (its adapter raises through it too)."""

bybit_error = ERRORS.error
"""One error of class ``cls`` with message ``"Bybit error <code>: <msg> — <what to do>"`` (see
:meth:`~tradingmcp.server.exchanges.venueerrors.VenueErrors.error`)."""


def error_for_code(
    code: int, msg: str, *, status: int | None = 200, retry_after_s: float | None = None
) -> e.ExchangeError:
    """The typed error for a Bybit ``retCode`` (``ExchangeError`` itself for codes not in the table)."""
    if _CODES.get(code, (e.ExchangeError,))[0] is e.RateLimited and retry_after_s is None:
        retry_after_s = 1.0
    return ERRORS.for_code(code, msg, status=status, retry_after_s=retry_after_s)


def from_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None, now_ms: int | None = None
) -> e.ExchangeError:
    """Map a failed Bybit HTTP response (HTTP error, or HTTP 200 with a non-zero ``retCode``) to a typed error.

    403 → ``IpBanned`` (Bybit's IP limit: wait ≥ 10 minutes); 429 → ``RateLimited``; 5xx → ``ExchangeUnavailable``;
    otherwise by ``retCode``. A 10006 carries the wait until ``X-Bapi-Limit-Reset-Timestamp`` when given.
    """
    code, msg = code_and_message(status, body, "retCode", ("retMsg",))
    if status == 403:
        return bybit_error(e.IpBanned, code, msg or "access too frequent", status=403,
                           hint="the IP exceeded 600 requests per 5 s; stop every request for 10 minutes",
                           retry_after_s=600.0, now_ms=now_ms)  # fmt: skip
    if status >= 500:
        return bybit_error(e.ExchangeUnavailable, code, msg or f"HTTP {status}", status=status)
    retry_after: float | None = None
    if code == 10006 and headers and now_ms is not None:
        reset = next((v for k, v in headers.items() if k.lower() == "x-bapi-limit-reset-timestamp"), None)
        if reset and reset.isdigit():
            retry_after = max(0.0, (int(reset) - now_ms) / 1000)
    if status == 429:
        return bybit_error(
            e.RateLimited, code, msg or "Too Many Requests", status=429, retry_after_s=retry_after or 1.0
        )
    return error_for_code(code, msg or f"HTTP {status}", status=status, retry_after_s=retry_after)
