"""WS API signing (``binance.signing``) gives the exact payload and signature python-binance 1.0.37 gives (HMAC,
Ed25519 and RSA are all deterministic), so the exchange sees the same bytes as before the order channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from binance import AsyncClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradingmcp.server.exchanges.binance.signing import WsApiSigner, hmac_signer, private_key_signer, ws_payload

PARAMS = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "50000.5",
    "newClientOrderId": "tmcp-0123456789abcdef012345",
    "orderId": 12345,
}


def pem(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
async def clients() -> AsyncIterator[dict[str, AsyncClient]]:
    """python-binance clients (no I/O) with an HMAC secret, an Ed25519 key and an RSA key."""
    ed_pem = pem(Ed25519PrivateKey.generate())
    rsa_pem = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    made = {
        "hmac": AsyncClient("key", "secret-1"),
        ed_pem: AsyncClient("key", private_key=ed_pem),
        rsa_pem: AsyncClient("key", private_key=rsa_pem),
    }
    try:
        yield made
    finally:
        for client in made.values():
            await client.close_connection()


def test_payload_is_python_binances_urlencode() -> None:
    unsafe = {**PARAMS, "newClientOrderId": "a b/c:d&e=f+ü"}  # percent-encoded like urlencode does
    for params in (PARAMS, unsafe):
        assert ws_payload(params) == urlencode(dict(sorted(params.items())))
    assert ws_payload(PARAMS).startswith("newClientOrderId=tmcp-0123456789abcdef012345&orderId=12345&price=")


async def test_signatures_match_python_binance(clients: dict[str, AsyncClient]) -> None:
    for key, client in clients.items():
        sign = hmac_signer("secret-1") if key == "hmac" else private_key_signer(key)
        assert sign is not None
        signer = WsApiSigner("key", sign, 5000, lambda: 1_700_000_000_000)
        ours = signer.sign(PARAMS)
        theirs = client._sign_ws_params(  # python-binance 1.0.37's WS API signing
            {**PARAMS, "recvWindow": 5000, "timestamp": 1_700_000_000_000}, client._generate_ws_api_signature
        )
        assert ours == theirs
        assert ours["apiKey"] == "key" and ours["timestamp"] == 1_700_000_000_000 and ours["recvWindow"] == 5000
        assert "signature" not in PARAMS  # the caller's dict is left alone


def test_caller_values_win_and_unreadable_keys_fall_back() -> None:
    signer = WsApiSigner("key", hmac_signer("s"), 5000, lambda: 1)
    assert signer.sign({"recvWindow": 60000, "timestamp": 7})["recvWindow"] == 60000
    assert private_key_signer("not a PEM key") is None  # the adapter then uses python-binance's signer
