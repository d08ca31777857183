"""The MEXC face's signature check (``sim.mexc.signing``, sans-I/O): MEXC's documented example signatures, requests
signed by the adapter's ``Signer`` (separate code: each checks the other), and MEXC's code for each failure."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tradingmcp.server.exchanges.mexc.signing import Signer
from tradingmcp.sim.mexc.signing import API_KEY_HEADER, verify
from tradingmcp.sim.mexc.wire import MexcError

# MEXC Spot v3 docs, "SIGNED Endpoint Examples for POST /api/v3/order" (apiKey mx0aBYs33eIilxBWC5).
DOC_KEY = "mx0aBYs33eIilxBWC5"
DOC_SECRET = "45d0b3c26f2644f19bfb98b07741b2f5"
DOC_TS = 1644489390087
DOC_TOTAL = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
DOC_SIG_ALL = "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"  # example 2
DOC_SIG_MIXED = "d1a676610ceb39174c8039b3f548357994b2a34139a8addd33baadba65684592"  # example 3: query + body
KEYS = {DOC_KEY: DOC_SECRET}


def code_of(query: str, body: str = "", *, now: int, api_key: str | None = DOC_KEY, secret: str = DOC_SECRET) -> int:
    """MEXC's code for a refused request (fails the test when it is accepted)."""
    with pytest.raises(MexcError) as caught:
        verify(api_key, {DOC_KEY: secret}, query, body, now)
    return caught.value.code


def test_verify_accepts_both_placements_and_reports_codes() -> None:
    server = DOC_TS + 100
    key, params = verify(DOC_KEY, KEYS, f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", "", server)
    assert key == DOC_KEY and params["symbol"] == "BTCUSDT"
    assert verify(DOC_KEY, KEYS, "", f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", server)[1]["price"] == "11"
    _, mixed = verify(
        DOC_KEY,
        KEYS,
        "symbol=BTCUSDT&side=BUY&type=LIMIT",
        f"quantity=1&price=11&recvWindow=5000&timestamp={DOC_TS}&signature={DOC_SIG_MIXED}",
        server,
    )
    assert mixed["price"] == "11"
    # uppercase hex is the same signature
    assert verify(DOC_KEY, KEYS, f"{DOC_TOTAL}&signature={DOC_SIG_ALL.upper()}", "", server)[0] == DOC_KEY

    assert code_of(f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", now=server, secret="wrong-secret") == 700002
    tampered = DOC_TOTAL.replace("price=11", "price=12")
    assert code_of(f"{tampered}&signature={DOC_SIG_ALL}", now=server) == 700002
    assert code_of(DOC_TOTAL, now=server) == 44444
    assert code_of(f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", now=server, api_key=None) == 700001
    assert code_of(f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", now=server, api_key="someone-else") == 10072


def signed(params: str) -> str:
    return f"{params}&signature={hmac.new(DOC_SECRET.encode(), params.encode(), hashlib.sha256).hexdigest()}"


@pytest.mark.parametrize(
    ("server_minus_ts", "recv_window", "ok_or_code"),
    [
        (0, 5000, True),
        (5000, 5000, True),  # server - timestamp <= recvWindow
        (5001, 5000, 700003),
        (-999, 5000, True),  # timestamp < server + 1000
        (-1000, 5000, 700003),
        (59_000, 60_000, True),
        (0, 60_001, 700005),
    ],
)
def test_timestamp_window(server_minus_ts: int, recv_window: int, ok_or_code: bool | int) -> None:
    query = signed(f"timestamp={DOC_TS}&recvWindow={recv_window}")
    now = DOC_TS + server_minus_ts
    if ok_or_code is True:
        assert verify(DOC_KEY, KEYS, query, "", now)[1]["recvWindow"] == str(recv_window)
    else:
        assert code_of(query, now=now) == ok_or_code
    assert code_of(signed(f"timestamp={DOC_TS}"), now=DOC_TS + 5001) == 700003  # default 5000


def test_accepts_what_the_adapter_signs_in_the_query_or_the_body() -> None:
    signer = Signer(DOC_KEY, DOC_SECRET)
    req = signer.sign_query([("symbol", "BTCUSDT"), ("batchOrders", '[{"price":"1"}]')], DOC_TS)
    assert req.headers == {API_KEY_HEADER: DOC_KEY}
    _, params = verify(DOC_KEY, KEYS, req.query, req.body, DOC_TS)
    assert params["batchOrders"] == '[{"price":"1"}]' and params["timestamp"] == str(DOC_TS)
    split = signer.sign_split([("symbol", "BTCUSDT")], [("side", "BUY")], DOC_TS - 4000)
    assert verify(DOC_KEY, KEYS, split.query, split.body, DOC_TS)[1]["side"] == "BUY"
