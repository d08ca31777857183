"""The simulator's WS API fast paths give exactly what the straightforward code gives (ids, HMAC, precision,
timestamp parsing, the signature payload fallbacks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.execution import make_id
from tradingmcp.sim.filters import decimal_places, too_precise
from tradingmcp.sim.signing import check_timestamp, hmac_hex, verify_ws

NOW = 1_723_161_255_000
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # the digits of Binance-looking ids


def _make_id_one_digit_at_a_time(namespace: str, counter: int, length: int) -> str:
    digest = int.from_bytes(hashlib.sha256(f"{namespace}:{counter}".encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, rem = divmod(digest, 62)
        chars.append(BASE62[rem])
    return "".join(chars)


def test_make_id_two_digits_at_a_time_is_the_base62_id() -> None:
    for counter in range(3000):
        for length in (0, 1, 21, 22, 23, 43):
            assert make_id("cid", counter, length) == _make_id_one_digit_at_a_time("cid", counter, length)
    assert len(make_id("cid", 1)) == 22


@pytest.mark.parametrize("secret", ["", "s", "sim-secret", "x" * 63, "x" * 64, "x" * 65, "é" * 40, "k" * 300])
def test_hmac_from_cached_key_schedule_is_hmac_sha256(secret: str) -> None:
    for payload in ("", "a=1", "apiKey=sim-key&timestamp=1", "é&b=ü" * 40):
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        assert hmac_hex(secret, payload) == expected
        assert hmac_hex(secret, payload) == expected  # second call: from the cache


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.from_regex(r"\A[0-9]{1,20}(\.[0-9]{1,20})?\Z").map(Decimal),
    st.integers(min_value=0, max_value=12),
)
def test_precision_shortcut_agrees_with_normalize(value: Decimal, digits: int) -> None:
    assert too_precise(value, digits) == (decimal_places(value) > digits)


def _outcome(params: dict[str, object]) -> int:
    try:
        check_timestamp(params, NOW)
    except BinanceError as exc:
        return exc.code
    return 0


@pytest.mark.parametrize(
    ("timestamp", "window"),
    [
        (NOW, None),
        (NOW - 4999, 5000),
        (NOW - 5001, 5000),
        (NOW + 999, 1),
        (NOW + 1000, 5000),
        ((NOW - 100) * 1000, 5000),
        (NOW - 59_000, 60000),
        (NOW, 60001),
        (NOW, 0),
        (NOW, -5),
    ],
)
def test_int_timestamp_and_window_read_as_their_strings(timestamp: int, window: int | None) -> None:
    as_ints: dict[str, object] = {"timestamp": timestamp} | ({} if window is None else {"recvWindow": window})
    as_strs = {k: str(v) for k, v in as_ints.items()}
    assert _outcome(as_ints) == _outcome(as_strs)


def _hmac_params(params: dict[str, object], payload: str) -> dict[str, object]:
    return params | {"signature": hmac.new(b"sim-secret", payload.encode(), hashlib.sha256).hexdigest()}


def test_ws_signature_payload_spellings() -> None:
    keys = {"sim-key": "sim-secret"}
    params: dict[str, object] = {"apiKey": "sim-key", "timestamp": NOW, "newClientOrderId": "a:b/c", "flag": True}
    items = sorted(params.items())
    json_bools = [(k, ("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in items]
    python_bools = [(k, str(v)) for k, v in items]
    for pairs in (json_bools, python_bools):
        for payload in ("&".join(f"{k}={v}" for k, v in pairs), urlencode(pairs)):
            assert verify_ws(_hmac_params(params, payload), keys, NOW) == "sim-key"
    upper = _hmac_params(params, "&".join(f"{k}={v}" for k, v in json_bools))
    assert verify_ws(upper | {"signature": str(upper["signature"]).upper()}, keys, NOW) == "sim-key"
    with pytest.raises(BinanceError) as bad:
        verify_ws(_hmac_params(params, "flag=true"), keys, NOW)
    assert bad.value.code == -1022


def test_ws_ed25519_signature_with_cached_key() -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    keys = {"ed-key": pem}
    params: dict[str, object] = {"apiKey": "ed-key", "timestamp": NOW, "symbol": "BTCUSDT", "x": "a b"}
    items = sorted((k, str(v)) for k, v in params.items())
    for payload in ("&".join(f"{k}={v}" for k, v in items), urlencode(items)):
        signature = base64.b64encode(private.sign(payload.encode())).decode()
        for _ in range(2):  # the second check uses the cached public key
            assert verify_ws(params | {"signature": signature}, keys, NOW) == "ed-key"
    for signature in ("!!!", base64.b64encode(private.sign(b"other")).decode()):
        with pytest.raises(BinanceError) as bad:
            verify_ws(params | {"signature": signature}, keys, NOW)
        assert bad.value.code == -1022
