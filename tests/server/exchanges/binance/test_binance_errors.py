"""Binance error mapping: codes and HTTP statuses → typed errors with actionable messages."""

from __future__ import annotations

import pytest
from binance.exceptions import BinanceAPIException, BinanceRequestException

from tradingmcp.server.exchanges.binance import errors as E


class _Resp:
    """The minimal response python-binance keeps on its exception (status, headers, text)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.text = ""


def api_exc(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> BinanceAPIException:
    return BinanceAPIException(_Resp(headers or {}), status, f'{{"code":{code},"msg":"{msg}"}}')


@pytest.mark.parametrize(
    ("status", "code", "msg", "cls"),
    [
        (400, -1013, "Filter failure: LOT_SIZE", E.FilterFailure),
        (400, -1021, "Timestamp for this request is outside of the recvWindow.", E.TimestampOutOfWindow),
        (400, -1022, "Signature for this request is not valid.", E.InvalidSignature),
        (400, -2010, "Account has insufficient balance for requested action.", E.InsufficientBalance),
        (400, -2010, "Order would immediately match and take.", E.OrderRejected),
        (400, -2011, "Unknown order sent.", E.CancelRejected),
        (400, -2013, "Order does not exist.", E.UnknownOrder),
        (400, -1121, "Invalid symbol.", E.InvalidSymbol),
        (400, -1102, "Mandatory parameter 'quantity' was not sent.", E.BadParameter),
        (401, -2015, "Invalid API-key, IP, or permissions for action.", E.AuthError),
        (401, -2014, "API-key format invalid.", E.AuthError),
        (503, -1001, "Internal error", E.ExchangeUnavailable),
    ],
)
def test_codes_map_to_types(status: int, code: int, msg: str, cls: type[E.ExchangeError]) -> None:
    err = E.from_binance_exception(api_exc(status, code, msg))
    assert type(err) is cls
    assert err.code == code and err.status == status and err.exchange_message == msg
    assert msg in str(err)


def test_rate_limit_and_ban_read_retry_after() -> None:
    err = E.from_binance_exception(api_exc(429, -1003, "Too many requests", {"Retry-After": "12"}))
    assert isinstance(err, E.RateLimited) and err.retry_after_s == 12 and err.should_retry()
    assert "wait 12 s" in str(err)
    ban = E.from_binance_exception(api_exc(418, -1003, "IP banned", {"Retry-After": "300"}), now_ms=1_000)
    assert isinstance(ban, E.IpBanned) and ban.banned_until_ms == 301_000 and not ban.should_retry()


def test_retry_policy_and_transport_errors() -> None:
    assert E.should_retry(api_exc(400, -1021, "Timestamp"))
    assert not E.should_retry(api_exc(400, -1013, "Filter failure: NOTIONAL"))
    assert E.should_retry(TimeoutError())
    unavailable = E.from_binance_exception(BinanceRequestException("<html>"))
    assert isinstance(unavailable, E.ExchangeUnavailable) and "client order id" in str(unavailable)
    assert isinstance(E.from_binance_exception(ConnectionRefusedError()), E.ExchangeUnavailable)
