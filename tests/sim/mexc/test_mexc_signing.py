"""The MEXC face's signature check (``sim.mexc.signing``, sans-I/O) against requests signed by the adapter's
``Signer`` (separate code: each checks the other), and MEXC's code for each failure."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tradingmcp.server.exchanges.mexc.signing import Signer
from tradingmcp.sim.mexc.signing import API_KEY_HEADER, verify
from tradingmcp.sim.mexc.wire import MexcError

KEYS = {"k": "s3cret"}
NOW = 1_723_161_254_000


def test_accepts_what_the_adapter_signs_in_the_query_or_the_body() -> None:
    signer = Signer("k", "s3cret")
    req = signer.sign_query([("symbol", "BTCUSDT"), ("batchOrders", '[{"price":"1"}]')], NOW)
    assert req.headers == {API_KEY_HEADER: "k"}
    key, params = verify("k", KEYS, req.query, req.body, NOW)
    assert key == "k" and params["batchOrders"] == '[{"price":"1"}]' and params["timestamp"] == str(NOW)
    split = signer.sign_split([("symbol", "BTCUSDT")], [("side", "BUY")], NOW - 4000)
    assert verify("k", KEYS, split.query, split.body, NOW)[1]["side"] == "BUY"


def _code(api_key: str | None, query: str, body: str = "", now: int = NOW) -> int:
    with pytest.raises(MexcError) as caught:
        verify(api_key, KEYS, query, body, now)
    return caught.value.code


def test_each_failure_has_mexcs_code() -> None:
    good = Signer("k", "s3cret").sign_query([("symbol", "BTCUSDT")], NOW).query
    assert _code(None, good) == 700001
    assert _code("other", good) == 10072
    assert _code("k", good.replace("symbol=BTCUSDT", "symbol=ETHUSDT")) == 700002  # not what was signed
    assert _code("k", good.split("&signature=")[0]) == 44444
    assert _code("k", good, now=NOW + 5001) == 700003  # too old for the 5000 ms window
    assert _code("k", good, now=NOW - 1000) == 700003  # from the future
    wide = Signer("k", "s3cret", recv_window_ms=60000)
    assert verify("k", KEYS, wide.sign_query([], NOW).query, "", NOW + 59_000)[0] == "k"
    too_wide = f"recvWindow=70000&timestamp={NOW}"  # the Signer refuses to make one: signed by hand
    signature = hmac.new(b"s3cret", too_wide.encode(), hashlib.sha256).hexdigest()
    assert _code("k", f"{too_wide}&signature={signature}") == 700005
