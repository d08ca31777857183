"""Signed-request checks and rate limits, without sockets (the wire round trips are in test_sim_rest.py)."""

from __future__ import annotations

from urllib.parse import unquote, urlencode

import pytest

from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.signing import check_timestamp, hmac_hex, strip_signature, verify_rest, verify_ws
from tradingmcp.sim.weights import RateLimitConfig, RateLimitedError, RateLimiter, rest_weight, ws_weight

KEYS = {"sim-key": "sim-secret"}
NOW = 1_723_161_255_000


def _code(exc: pytest.ExceptionInfo[BinanceError]) -> int:
    return exc.value.code


def test_timestamp_rule() -> None:
    check_timestamp({"timestamp": str(NOW - 4999)}, NOW)
    check_timestamp({"timestamp": str(NOW + 999)}, NOW)
    check_timestamp({"timestamp": str((NOW - 100) * 1000)}, NOW)  # microseconds
    check_timestamp({"timestamp": str(NOW - 59_000), "recvWindow": "60000"}, NOW)
    with pytest.raises(BinanceError) as ahead:
        check_timestamp({"timestamp": str(NOW + 1000)}, NOW)
    with pytest.raises(BinanceError) as old:
        check_timestamp({"timestamp": str(NOW - 5001)}, NOW)
    with pytest.raises(BinanceError) as window:
        check_timestamp({"timestamp": str(NOW), "recvWindow": "60001"}, NOW)
    with pytest.raises(BinanceError) as missing:
        check_timestamp({}, NOW)
    assert (_code(ahead), _code(old), _code(window), _code(missing)) == (-1021, -1021, -1131, -1102)


def test_rest_signature_over_query_plus_body() -> None:
    query = "symbol=BTCUSDT"
    body = f"quantity=0.001&side=BUY&timestamp={NOW}&type=MARKET"
    sig = hmac_hex("sim-secret", query + body)
    params = {"symbol": "BTCUSDT", "quantity": "0.001", "side": "BUY", "timestamp": str(NOW), "type": "MARKET"}
    assert verify_rest("sim-key", query, f"{body}&signature={sig}", params, KEYS, NOW) == "sim-key"
    assert verify_rest("sim-key", query, f"{body}&signature={sig.upper()}", params, KEYS, NOW) == "sim-key"
    with pytest.raises(BinanceError) as bad:
        verify_rest("sim-key", query, f"{body}&signature={hmac_hex('wrong', query + body)}", params, KEYS, NOW)
    with pytest.raises(BinanceError) as unknown:
        verify_rest("other", query, f"{body}&signature={sig}", params, KEYS, NOW)
    with pytest.raises(BinanceError) as no_key:
        verify_rest(None, query, f"{body}&signature={sig}", params, KEYS, NOW)
    assert (_code(bad), _code(unknown), _code(no_key)) == (-1022, -2015, -2014)
    assert unknown.value.http_status == 401
    assert strip_signature("a=1&signature=ff&b=2") == ("a=1&b=2", "ff")


def test_rest_signature_covers_the_query_exactly_as_received() -> None:
    """Binance signs the query string as sent, still percent-encoded: a signature over the decoded text (what a
    client that signs one string and sends another produces) is refused."""
    query = f"origClientOrderId=a%20b%26orderId%3D1%0A%D0%BE&symbol=BTCUSDT&timestamp={NOW}"
    params = {"origClientOrderId": "a b&orderId=1\nо", "symbol": "BTCUSDT", "timestamp": str(NOW)}
    exact = hmac_hex("sim-secret", query)
    assert verify_rest("sim-key", f"{query}&signature={exact}", "", params, KEYS, NOW) == "sim-key"
    decoded = hmac_hex("sim-secret", unquote(query))
    with pytest.raises(BinanceError) as bad:
        verify_rest("sim-key", f"{query}&signature={decoded}", "", params, KEYS, NOW)
    assert _code(bad) == -1022


def test_ws_signature_sorted_params() -> None:
    params = {"symbol": "BTCUSDT", "apiKey": "sim-key", "timestamp": NOW, "quantity": 0.001, "side": "BUY"}
    payload = urlencode(sorted(params.items()))
    assert verify_ws(params | {"signature": hmac_hex("sim-secret", payload)}, KEYS, NOW) == "sim-key"
    with pytest.raises(BinanceError) as bad:
        verify_ws(params | {"signature": hmac_hex("nope", payload)}, KEYS, NOW)
    assert _code(bad) == -1022


def test_weights_table() -> None:
    assert rest_weight("GET", "depth", {"limit": "100"}) == 5
    assert rest_weight("GET", "depth", {"limit": "1000"}) == 50
    assert rest_weight("GET", "depth", {"limit": "5000"}) == 250
    assert rest_weight("GET", "exchangeInfo", {}) == 20
    assert rest_weight("GET", "ticker/24hr", {}) == 80
    assert rest_weight("GET", "ticker/24hr", {"symbol": "BTCUSDT"}) == 2
    assert rest_weight("GET", "openOrders", {}) == 80
    assert rest_weight("GET", "myTrades", {"orderId": "5"}) == 5
    assert ws_weight("depth", {"limit": 500}) == 25
    assert ws_weight("account.status", {}) == 20


def test_weight_limit_then_ban() -> None:
    limiter = RateLimiter(RateLimitConfig(weight_limit_1m=10, ban_after_429=2, ban_s=90))
    t = 1_699_999_980_000  # at a minute boundary
    assert limiter.charge("ip", 5, t) == 5
    assert limiter.charge("ip", 5, t + 1) == 10
    with pytest.raises(RateLimitedError) as first:
        limiter.charge("ip", 1, t + 2000)
    assert (first.value.http_status, first.value.code, first.value.retry_after_s) == (429, -1003, 58)
    with pytest.raises(RateLimitedError):
        limiter.charge("ip", 1, t + 2001)
    with pytest.raises(RateLimitedError) as banned:
        limiter.charge("ip", 1, t + 2002)
    assert banned.value.http_status == 418 and banned.value.retry_after_s == 90
    with pytest.raises(RateLimitedError) as still:
        limiter.charge("ip", 1, t + 61_000)  # new minute, still banned
    assert still.value.http_status == 418
    assert limiter.charge("other-ip", 1, t + 3000) == 1


def test_order_count_limit() -> None:
    limiter = RateLimiter(RateLimitConfig(orders_limit_10s=2))
    t = 1_700_000_000_000
    assert limiter.count_order("k", t) == (1, 1)
    assert limiter.count_order("k", t + 1) == (2, 2)
    with pytest.raises(RateLimitedError) as exc:
        limiter.count_order("k", t + 2)
    assert (exc.value.code, exc.value.http_status) == (-1015, 429)
    assert limiter.count_order("k", t + 10_000) == (1, 4)
    limits = limiter.rate_limits("ip", "k", t + 10_000)
    assert [x["rateLimitType"] for x in limits] == ["REQUEST_WEIGHT", "ORDERS", "ORDERS"]
