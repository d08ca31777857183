"""Exchange-neutral error hierarchy, the one place every adapter error type is documented.

Each exchange's ``errors`` module maps its wire errors onto these classes (Binance: ``binance.errors
.from_binance_exception``), so the tools layer handles every exchange alike. Messages say what went wrong AND what
to do. ``retryable`` tells whether re-sending the same request can succeed; ``retry_after_s`` when to retry.

Hierarchy::

    ExchangeError
    ├── RateLimited            429 / -1003 / -1015: too many requests or orders; wait ``retry_after_s``
    │   └── IpBanned           418: the IP is banned until ``banned_until_ms``
    ├── TimestampOutOfWindow   -1021 (MEXC 700003): clock offset / recvWindow
    ├── AuthError              -2014/-2015 (MEXC 700001/700006/700007): key format, key, IP or permission
    │   └── InvalidSignature   -1022 (MEXC 700002/602): wrong secret or signing
    ├── BadParameter           -1100..-1106 (and other -11xx): a malformed or missing parameter
    │   └── InvalidSymbol      -1121 (MEXC 10007/30014): unknown symbol
    ├── OrderRejected          -2010: the exchange refused a new order
    │   ├── FilterFailure      -1013: a symbol filter (LOT_SIZE, PRICE_FILTER, NOTIONAL...) failed
    │   └── InsufficientBalance  -2010 "insufficient balance" (MEXC 10101)
    ├── CancelRejected         -2011: the order cannot be cancelled (already closed?)
    ├── UnknownOrder           -2013 (-2018 for an order list): no such order
    ├── ExchangeUnavailable    5xx / timeout: the outcome is UNKNOWN (query before re-sending an order)
    └── NotSupported           the exchange has no such feature (e.g. OCO on MEXC)
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of every adapter error.

    Attributes:
        exchange: ``binance``/``mexc``.
        code: the exchange's error code (Binance ``code``, e.g. -1013), or None.
        status: the HTTP status (or WS API ``status``), or None.
        exchange_message: the exchange's own ``msg``.
        retry_after_s: seconds to wait before retrying, when known.
    """

    retryable = False
    hint = ""

    def __init__(
        self,
        message: str,
        *,
        exchange: str = "",
        code: int | None = None,
        status: int | None = None,
        exchange_message: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.exchange = exchange
        self.code = code
        self.status = status
        self.exchange_message = exchange_message
        self.retry_after_s = retry_after_s

    def should_retry(self) -> bool:
        """True when re-sending the same request may succeed (after ``retry_after_s`` if set)."""
        return self.retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, status={self.status}, message={str(self)!r})"


class RateLimited(ExchangeError):
    """Too many requests (429, -1003) or orders (-1015). Wait ``retry_after_s`` then retry."""

    retryable = True
    hint = "slow down: wait for the Retry-After period before sending more requests"


class IpBanned(RateLimited):
    """HTTP 418: the IP is banned for ignoring 429s. Nothing may be sent until ``banned_until_ms``."""

    retryable = False
    hint = "the IP is banned for ignoring rate limits; wait until the ban ends (no requests meanwhile)"

    def __init__(
        self,
        message: str,
        *,
        banned_until_ms: int | None = None,
        exchange: str = "",
        code: int | None = None,
        status: int | None = None,
        exchange_message: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(
            message,
            exchange=exchange,
            code=code,
            status=status,
            exchange_message=exchange_message,
            retry_after_s=retry_after_s,
        )
        self.banned_until_ms = banned_until_ms


class TimestampOutOfWindow(ExchangeError):
    """-1021: the request's timestamp is outside recvWindow. The adapter resyncs its clock; retry once."""

    retryable = True
    hint = "the local clock is off from the exchange's; the adapter resyncs its offset, retry the request"


class AuthError(ExchangeError):
    """-2014/-2015: API key malformed, invalid, not allowed from this IP, or lacking the permission."""

    hint = "check the API key, its permissions (spot trading) and its IP whitelist; testnet keys differ from mainnet"


class InvalidSignature(AuthError):
    """-1022: the signature does not match (wrong API secret, or the secret does not belong to the key)."""

    hint = "the API secret does not match the API key (or the request was altered); check the secret"


class BadParameter(ExchangeError):
    """-1100..-1106 and other -11xx codes: a parameter is malformed, missing, unexpected or out of range."""

    hint = "fix the named parameter (see the exchange message)"


class InvalidSymbol(BadParameter):
    """-1121: the symbol does not exist (on this exchange/testnet)."""

    hint = "use a symbol listed by exchange info (e.g. BTCUSDT; testnet lists fewer symbols than mainnet)"


class OrderRejected(ExchangeError):
    """-2010: the exchange rejected the new order (see ``exchange_message``)."""

    hint = "the order was not placed; read the reason and adjust the order"


class FilterFailure(OrderRejected):
    """-1013: the order breaks a symbol filter (LOT_SIZE, PRICE_FILTER, NOTIONAL, PERCENT_PRICE_BY_SIDE...)."""

    hint = "round quantity to the step size and price to the tick size, and respect min/max quantity and notional"


class InsufficientBalance(OrderRejected):
    """-2010 "Account has insufficient balance": not enough free balance for the order."""

    hint = "reduce the quantity or free balance (cancel open orders); check balances first"


class CancelRejected(ExchangeError):
    """-2011: the cancel was refused (the order is already filled, cancelled or unknown)."""

    hint = "the order is probably no longer open; query it to see its final status"


class UnknownOrder(ExchangeError):
    """-2013: no order with that id / client id exists on that symbol."""

    hint = "check the symbol and the order id or client order id"


class ExchangeUnavailable(ExchangeError):
    """5xx, timeout or connection failure: the exchange may or may not have executed the request."""

    retryable = True
    hint = "the outcome is unknown; query the order by its client order id before re-sending"


class NotSupported(ExchangeError):
    """The exchange (or its testnet) has no such feature."""

    hint = "this exchange does not offer this feature"
