"""Bybit V5 ``retCode`` values → the exchange-neutral error types of :mod:`tradingmcp.server.exchanges.errors`.

Bybit answers most failures with HTTP 200 and ``{"retCode": <non-zero>, "retMsg": "..."}``; HTTP 403 is an IP rate
limit ("access too frequent", wait at least 10 minutes); HTTP 5xx means the outcome is UNKNOWN.
Codes: https://bybit-exchange.github.io/docs/v5/error; limits: /v5/rate-limit.
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
    "TimestampOutOfWindow",
    "UnknownOrder",
    "bybit_error",
    "error_for_code",
    "from_response",
]

EXCHANGE = "bybit"

_CODES: dict[int, tuple[type[ExchangeError], str | None]] = {
    10001: (BadParameter, None),
    10002: (TimestampOutOfWindow, None),
    10003: (AuthError, "the API key is invalid or belongs to another environment (testnet/mainnet)"),
    10004: (InvalidSignature, None),
    10005: (AuthError, "the API key lacks the permission for this endpoint"),
    10006: (RateLimited, None),
    10007: (AuthError, "user authentication failed"),
    10010: (AuthError, "this IP is not bound to the API key"),
    10016: (ExchangeUnavailable, None),
    10018: (RateLimited, "the IP rate limit was exceeded; slow down"),
    10027: (AuthError, "trading is banned for this account"),
    170121: (InvalidSymbol, None),
    170130: (BadParameter, None),
    170131: (InsufficientBalance, None),
    170134: (FilterFailure, "the price is not a multiple of the symbol's tickSize"),
    170135: (FilterFailure, "the quantity is above the symbol's maxOrderQty"),
    170136: (FilterFailure, "the quantity is below the symbol's minOrderQty"),
    170137: (FilterFailure, "the quantity is not a multiple of the symbol's basePrecision"),
    170140: (FilterFailure, "the order value is below the symbol's minOrderAmt; make it larger"),
    170124: (FilterFailure, "the order value is above the symbol's maxOrderAmt; split it"),
    170141: (OrderRejected, "an order with this orderLinkId already exists; use a new client order id"),
    170142: (CancelRejected, "the order is already cancelled"),
    170143: (CancelRejected, "the order is already filled"),
    170213: (UnknownOrder, None),
    110001: (UnknownOrder, None),
    170218: (OrderRejected, "a post-only (LIMIT_MAKER) order would have taken liquidity"),
}


def bybit_error(
    cls: type[ExchangeError],
    code: int | None,
    msg: str,
    *,
    status: int | None = None,
    hint: str | None = None,
    retry_after_s: float | None = None,
    now_ms: int | None = None,
) -> ExchangeError:
    """One error of class ``cls`` with message ``"Bybit error <code>: <msg> — <what to do>"``."""
    todo = hint or cls.hint
    text = f"Bybit error {code}: {msg}" + (f" — {todo}" if todo else "")
    kw: dict[str, Any] = {"exchange": EXCHANGE, "code": code, "status": status, "exchange_message": msg,
                          "retry_after_s": retry_after_s}  # fmt: skip
    if issubclass(cls, IpBanned):
        wait_ms = int((retry_after_s if retry_after_s is not None else 600) * 1000)
        return cls(text, banned_until_ms=now_ms + wait_ms if now_ms is not None else None, **kw)
    return cls(text, **kw)


def error_for_code(
    code: int, msg: str, *, status: int | None = 200, retry_after_s: float | None = None
) -> ExchangeError:
    """The typed error for a Bybit ``retCode`` (``ExchangeError`` itself for codes not in the table)."""
    cls, hint = _CODES.get(code, (ExchangeError, None))
    if cls is RateLimited and retry_after_s is None:
        retry_after_s = 1.0
    return bybit_error(cls, code, msg, status=status, hint=hint, retry_after_s=retry_after_s)


def from_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None, now_ms: int | None = None
) -> ExchangeError:
    """Map a failed Bybit HTTP response (HTTP error, or HTTP 200 with a non-zero ``retCode``) to a typed error.

    403 → ``IpBanned`` (Bybit's IP limit: wait ≥ 10 minutes); 429 → ``RateLimited``; 5xx → ``ExchangeUnavailable``;
    otherwise by ``retCode``. A 10006 carries the wait until ``X-Bapi-Limit-Reset-Timestamp`` when given.
    """
    code, msg = status, ""
    if isinstance(body, Mapping):
        try:
            code = int(body.get("retCode", status))
        except (TypeError, ValueError):
            code = status
        msg = str(body.get("retMsg") or "")
    elif body:
        msg = str(body)[:200]
    if status == 403:
        return bybit_error(IpBanned, code, msg or "access too frequent", status=403,
                           hint="the IP exceeded 600 requests per 5 s; stop every request for 10 minutes",
                           retry_after_s=600.0, now_ms=now_ms)  # fmt: skip
    if status >= 500:
        return bybit_error(ExchangeUnavailable, code, msg or f"HTTP {status}", status=status)
    retry_after: float | None = None
    if code == 10006 and headers and now_ms is not None:
        reset = next((v for k, v in headers.items() if k.lower() == "x-bapi-limit-reset-timestamp"), None)
        if reset and reset.isdigit():
            retry_after = max(0.0, (int(reset) - now_ms) / 1000)
    if status == 429:
        return bybit_error(RateLimited, code, msg or "Too Many Requests", status=429, retry_after_s=retry_after or 1.0)
    return error_for_code(code, msg or f"HTTP {status}", status=status, retry_after_s=retry_after)
