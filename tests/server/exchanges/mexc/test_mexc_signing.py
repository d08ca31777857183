"""Signing matches MEXC's documented examples."""

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


def test_signer_rejects_bad_recv_window() -> None:
    with pytest.raises(ValueError):
        Signer("k", "s", recv_window_ms=60_001)
