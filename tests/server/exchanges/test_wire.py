"""The shared request builder (:func:`wire.encode_query`, :func:`wire.signed_query`): every value travels
percent-encoded, decodes back to exactly itself as one parameter, and the signature covers exactly the text sent."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl, unquote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradingmcp.server.exchanges import wire
from tradingmcp.sim.signing import strip_signature

HOSTILE = ("zz&orderId=1", "a=b", "100%", "x#y", "a b", "a\nb", "ордер", "a+b", "50%25", "?x=1", "a;b")


@pytest.mark.parametrize("value", HOSTILE)
def test_each_value_is_one_parameter_that_decodes_to_itself(value: str) -> None:
    query = wire.encode_query([("symbol", "BTCUSDT"), ("origClientOrderId", value), ("limit", 5)])
    assert query.isascii() and not any(c in query for c in " \n#+;?")
    assert query.count("&") == 2 and query.count("=") == 3  # the value added no pair and no separator
    assert parse_qsl(query, keep_blank_values=True, strict_parsing=True) == [
        ("symbol", "BTCUSDT"),
        ("origClientOrderId", value),
        ("limit", "5"),
    ]


def test_ordinary_values_read_as_in_the_exchange_docs() -> None:
    assert wire.encode_query({"symbol": "BTCUSDT", "quantity": "0.001", "newClientOrderId": "tmcp-ab_12"}) == (
        "symbol=BTCUSDT&quantity=0.001&newClientOrderId=tmcp-ab_12"
    )
    assert (
        wire.encode_query([("omitZeroBalances", True), ("recvWindow", 5000)]) == "omitZeroBalances=true&recvWindow=5000"
    )
    assert wire.encode_query({"a": "ü"}) == "a=%C3%BC"  # UTF-8, upper-case hex
    assert wire.encode_query([("streams", "btcusdt@trade/ethusdt@depth@100ms")], safe="@/") == (
        "streams=btcusdt@trade/ethusdt@depth@100ms"
    )
    assert wire.encode_query([]) == ""


@pytest.mark.parametrize("value", HOSTILE)
def test_the_signature_covers_exactly_the_encoded_text_sent(value: str) -> None:
    signed = wire.signed_query([("origClientOrderId", value), ("timestamp", 1)], wire.hmac_sha256_signer("secret"))
    text, signature = strip_signature(signed)
    assert signature == wire.hmac_sha256_hex("secret", text)
    assert text == wire.encode_query([("origClientOrderId", value), ("timestamp", 1)])
    assert signature != wire.hmac_sha256_hex("secret", unquote(text))  # not the decoded values


def test_a_base64_signature_is_percent_encoded_too() -> None:
    key = Ed25519PrivateKey.generate()

    def sign(payload: str) -> str:
        return base64.b64encode(key.sign(payload.encode())).decode()

    signed = wire.signed_query([("symbol", "BTCUSDT"), ("timestamp", 1)], sign)
    text, signature = strip_signature(signed)
    assert signature is not None and not any(c in signature for c in "+/=")
    key.public_key().verify(base64.b64decode(unquote(signature)), text.encode())
