"""ccxt's exceptions (https://docs.ccxt.com/#/README?id=error-hierarchy) → the exchange-neutral error types of
:mod:`tradingmcp.server.exchanges.errors`.

ccxt already maps each exchange's own codes onto its hierarchy; this maps that hierarchy onto ours, keeping ccxt's
message (which quotes the exchange's body) as ``exchange_message``. The order matters: ccxt's classes nest
(``InvalidOrder`` ⊃ ``OrderNotFound``, ``NetworkError`` ⊃ ``RequestTimeout``...), so the most specific comes first.
A :class:`~tradingmcp.server.exchanges.errors.ExchangeUnavailable` means the outcome of the request is UNKNOWN: ccxt's
``NetworkError`` (timeout, unreachable) and every other ``OperationFailed`` (e.g. Binance's -1000 "An unknown error
occurred while processing the request.", which ccxt classifies by its code, before the HTTP 5xx it came with).
"""

from __future__ import annotations

import re

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
    NotSupported,
    OrderRejected,
    RateLimited,
    TimestampOutOfWindow,
    UnknownOrder,
)

__all__ = ["ccxt_error"]

# (ccxt class name, our class, what to do), most specific first
_MAP: tuple[tuple[str, type[ExchangeError], str], ...] = (
    ("OrderNotFound", UnknownOrder, "the exchange has no such order"),
    ("OrderNotCached", UnknownOrder, "the exchange has no such order"),
    ("InsufficientFunds", InsufficientBalance, "not enough balance for this order"),
    ("OrderImmediatelyFillable", OrderRejected, "a post-only order would have traded at once"),
    ("OrderNotFillable", OrderRejected, "the order cannot be filled"),
    ("CancelPending", CancelRejected, "a cancel is already pending"),
    ("InvalidOrder", FilterFailure, "the exchange refused the order's values; check the symbol rules"),
    ("BadSymbol", InvalidSymbol, "the exchange does not list this symbol"),
    ("InvalidNonce", TimestampOutOfWindow, "the request's timestamp or nonce was refused; check the clock"),
    ("AuthenticationError", AuthError, "check the API key, secret and password"),
    ("PermissionDenied", AuthError, "the API key lacks the permission"),
    ("AccountSuspended", AuthError, "the account is suspended"),
    ("DDoSProtection", RateLimited, "too many requests; wait before retrying"),
    ("RateLimitExceeded", RateLimited, "too many requests; wait before retrying"),
    ("NotSupported", NotSupported, "ccxt does not offer this call for this exchange"),
    ("ArgumentsRequired", BadParameter, "a parameter is missing"),
    ("BadRequest", BadParameter, "the exchange refused a parameter"),
    ("NetworkError", ExchangeUnavailable, "the outcome is unknown; query before re-sending an order"),
    ("OperationFailed", ExchangeUnavailable, "the outcome is unknown; query before re-sending an order"),
)


_NO_SUCH_ORDER = re.compile(r'"code"\s*:\s*-2013\b|order does not exist|unknown order', re.IGNORECASE)
"""An answer saying the order does not exist that ccxt leaves as a plain ``ExchangeError`` (MEXC's ``-2013 Order does
not exist.`` is not in ccxt's MEXC table)."""


def _signature_error(exc: BaseException) -> bool:
    return "signature" in str(exc).lower()


def ccxt_error(exc: BaseException, exchange: str) -> ExchangeError:
    """Our error for ccxt's ``exc`` (any other ``ccxt.BaseError`` → :class:`ExchangeError`)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc)
    for name, mapped, hint in _MAP:
        if name in names:
            ours = InvalidSignature if mapped is AuthError and _signature_error(exc) else mapped
            return ours(f"{exchange}: {hint}: {text}", exchange=exchange, exchange_message=text)
    if _NO_SUCH_ORDER.search(text):
        return UnknownOrder(
            f"{exchange}: the exchange has no such order: {text}", exchange=exchange, exchange_message=text
        )
    return ExchangeError(f"{exchange}: {text}", exchange=exchange, exchange_message=text)
