"""MEXC error bodies map to the typed errors (same class names as the Binance adapter)."""

from __future__ import annotations

import pytest

from tradingmcp.server.exchanges.mexc import errors as e


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (700001, e.AuthError),
        (700002, e.InvalidSignature),
        (602, e.InvalidSignature),
        (700003, e.TimestampOutOfWindow),
        (700004, e.BadParameter),
        (700005, e.BadParameter),
        (700006, e.AuthError),
        (700007, e.AuthError),
        (10007, e.InvalidSymbol),
        (30014, e.InvalidSymbol),
        (30021, e.InvalidSymbol),
        (10101, e.InsufficientBalance),
        (30002, e.FilterFailure),
        (30003, e.FilterFailure),
        (30004, e.InsufficientBalance),
        (30005, e.OrderRejected),
        (30016, e.OrderRejected),
        (30029, e.OrderRejected),
        (-2011, e.UnknownOrder),
        (123456789, e.ExchangeError),
    ],
)
def test_codes_map_to_types(code: int, cls: type[e.ExchangeError]) -> None:
    err = e.from_response(400, {"code": code, "msg": "some text"})
    assert type(err) is cls
    assert (err.exchange, err.code, err.exchange_message, err.status) == ("mexc", code, "some text", 400)
    assert str(err).startswith(f"MEXC error {code}: some text")
    if cls is not e.ExchangeError:
        assert " — " in str(err)  # says what to do


def test_rate_limits_and_server_errors() -> None:
    limited = e.from_response(429, {"code": 429, "msg": "Too Many Requests"}, {"Retry-After": "3"})
    assert isinstance(limited, e.RateLimited) and limited.retry_after_s == 3.0 and limited.should_retry()
    banned = e.from_response(418, None, {"retry-after": "120"}, now_ms=1_000)
    assert isinstance(banned, e.IpBanned) and banned.retry_after_s == 120.0
    assert banned.banned_until_ms == 121_000 and not banned.should_retry()
    down = e.from_response(503, "<html>busy</html>")
    assert isinstance(down, e.ExchangeUnavailable) and down.should_retry() and "unknown" in str(down)
    assert not e.from_response(400, {"code": 30002, "msg": "min"}).should_retry()
    assert e.from_response(400, {"code": 700003, "msg": "ts"}).should_retry()
    assert e.from_response(400, {"code": "10101", "msg": "x"}).code == 10101  # numeric strings are accepted


def test_errors_are_the_shared_exchange_neutral_types() -> None:
    from tradingmcp.server.exchanges import errors as shared

    for name in ("ExchangeError", "RateLimited", "IpBanned", "TimestampOutOfWindow", "InvalidSignature",
                 "FilterFailure", "InsufficientBalance", "OrderRejected", "CancelRejected", "UnknownOrder",
                 "InvalidSymbol", "BadParameter", "AuthError", "ExchangeUnavailable", "NotSupported"):  # fmt: skip
        assert getattr(e, name) is getattr(shared, name)
    assert isinstance(e.error_for_code(30002, "min"), shared.OrderRejected)  # FilterFailure is an OrderRejected
