"""Signing matches MEXC's documented examples; the verifier answers with MEXC's codes."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl

import pytest

from tradingmcp.server.exchanges.mexc import signing
from tradingmcp.server.exchanges.mexc.signing import Signer

# MEXC Spot v3 docs, "SIGNED Endpoint Examples for POST /api/v3/order" (apiKey mx0aBYs33eIilxBWC5).
DOC_SECRET = "45d0b3c26f2644f19bfb98b07741b2f5"
DOC_PARAMS = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "1"), ("price", "11")]
DOC_TS = 1644489390087
DOC_TOTAL = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
# Example 2 (query string or body). The docs' example 1 prints 323c96ab… for the same text; openssl and every
# HMAC implementation give fd3e4e85… (the docs' example 2), so example 1 is a typo in the docs.
DOC_SIG_ALL = "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
# Example 3: query "symbol=BTCUSDT&side=BUY&type=LIMIT" + body "quantity=1&..." with NO "&" between them.
DOC_SIG_MIXED = "d1a676610ceb39174c8039b3f548357994b2a34139a8addd33baadba65684592"


def test_documented_examples() -> None:
    assert signing.sign(DOC_SECRET, DOC_TOTAL) == DOC_SIG_ALL
    assert hmac.new(DOC_SECRET.encode(), DOC_TOTAL.encode(), hashlib.sha256).hexdigest() == DOC_SIG_ALL
    signer = Signer("mx0aBYs33eIilxBWC5", DOC_SECRET, recv_window_ms=5000)
    req = signer.sign_query(DOC_PARAMS, DOC_TS)
    assert req.query == f"{DOC_TOTAL}&signature={DOC_SIG_ALL}"
    assert req.body == "" and req.headers == {"X-MEXC-APIKEY": "mx0aBYs33eIilxBWC5"}
    split = signer.sign_split(DOC_PARAMS[:3], DOC_PARAMS[3:], DOC_TS)
    assert split.query == "symbol=BTCUSDT&side=BUY&type=LIMIT"
    assert split.body == f"quantity=1&price=11&recvWindow=5000&timestamp={DOC_TS}&signature={DOC_SIG_MIXED}"
    assert DOC_SECRET not in repr(signer) and "45d0" not in repr(signer)


def test_batch_orders_json_is_percent_encoded_uppercase() -> None:
    batch = json.dumps([{"symbol": "BTCUSDT", "side": "BUY", "price": "1"}], separators=(",", ":"))
    encoded = signing.encode_params([("batchOrders", batch)])
    assert encoded.startswith("batchOrders=%5B%7B%22symbol%22%3A%22BTCUSDT%22%2C")
    assert not re.search(r"%[0-9a-fA-F]?[a-f]", encoded)  # MEXC: uppercase hex only
    assert dict(parse_qsl(encoded))["batchOrders"] == batch


def test_verify_accepts_both_placements_and_reports_codes() -> None:
    server = DOC_TS + 100
    ok = signing.verify(DOC_SECRET, f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", "", server_time_ms=server)
    assert ok.ok and ok.params is not None and ok.params["symbol"] == "BTCUSDT"
    ok = signing.verify(DOC_SECRET, "", f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", server_time_ms=server)
    assert ok.ok
    mixed = signing.verify(
        DOC_SECRET,
        "symbol=BTCUSDT&side=BUY&type=LIMIT",
        f"quantity=1&price=11&recvWindow=5000&timestamp={DOC_TS}&signature={DOC_SIG_MIXED}",
        server_time_ms=server,
    )
    assert mixed.ok and mixed.params is not None and mixed.params["price"] == "11"
    # uppercase hex is the same signature
    assert signing.verify(DOC_SECRET, f"{DOC_TOTAL}&signature={DOC_SIG_ALL.upper()}", "", server_time_ms=server).ok

    bad = signing.verify("wrong-secret", f"{DOC_TOTAL}&signature={DOC_SIG_ALL}", "", server_time_ms=server)
    assert (bad.ok, bad.code) == (False, 700002)
    tampered = DOC_TOTAL.replace("price=11", "price=12")
    assert signing.verify(DOC_SECRET, f"{tampered}&signature={DOC_SIG_ALL}", "", server_time_ms=server).code == 700002
    assert signing.verify(DOC_SECRET, DOC_TOTAL, "", server_time_ms=server).code == 44444
    key = signing.verify(DOC_SECRET, DOC_TOTAL, "", server_time_ms=server, api_key="x", expected_api_key="y")
    assert key.code == 700001


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
    result = signing.check_timestamp(
        {"timestamp": str(DOC_TS), "recvWindow": str(recv_window)}, DOC_TS + server_minus_ts
    )
    assert result.ok if ok_or_code is True else result.code == ok_or_code
    assert signing.check_timestamp({"timestamp": str(DOC_TS)}, DOC_TS + 5001).code == 700003  # default 5000


def test_signer_rejects_bad_recv_window() -> None:
    with pytest.raises(ValueError):
        Signer("k", "s", recv_window_ms=60_001)
