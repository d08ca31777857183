"""Signing of Binance WebSocket API requests (sans-I/O): ``apiKey``, ``timestamp``, ``recvWindow``, ``signature``.

Follows "Request security" (https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/request-security)
the way python-binance 1.0.37 does it (``BaseClient._sign_ws_params`` + ``_generate_ws_api_signature``), so the
exchange sees the same bytes as before: the params plus ``apiKey`` and ``timestamp`` sorted by name, url-encoded as
``k=v&...`` (``urllib.parse.urlencode``), then

* HMAC-SHA256 lower-case hex with the API secret, or
* Ed25519 (Binance's recommended key type) or RSA PKCS#1 v1.5 SHA-256, base64, with ``BinanceConfig.private_key``.

Cheaper than python-binance's path: the HMAC key schedule is computed once, the payload is joined directly when every
value is made of unreserved characters (then it equals ``urlencode``'s output), and Ed25519/RSA use ``cryptography``
(OpenSSL, faster than pycryptodome here). A key that
``cryptography`` cannot read falls back to python-binance's signer, so every key python-binance accepts still works.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tradingmcp.server.exchanges.wire import hmac_sha256_signer

_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*")
"""Characters ``urlencode`` (``quote_plus``, ``safe=''``) leaves alone."""

SignFn = Callable[[str], str]
"""payload → signature text (hex for HMAC, base64 for Ed25519/RSA)."""


def ws_payload(params: Mapping[str, Any]) -> str:
    """The signature payload of WS API ``params`` (which must not hold ``signature``): sorted by name and
    url-encoded as ``k=v&...``, exactly as python-binance's ``urlencode(dict(sorted(params.items())))``."""
    items = sorted(params.items())
    values = [str(v) for _, v in items]
    if _UNRESERVED.fullmatch("".join(values)):
        return "&".join(f"{k}={v}" for (k, _), v in zip(items, values, strict=True))
    return urlencode(items)


def hmac_signer(secret: str) -> SignFn:
    """HMAC-SHA256 lower-case hex with ``secret`` (the key schedule is computed once:
    :func:`~tradingmcp.server.exchanges.wire.hmac_sha256_signer`)."""
    return hmac_sha256_signer(secret)


def private_key_signer(pem: str, passphrase: str = "") -> SignFn | None:
    """Ed25519 or RSA (PKCS#1 v1.5, SHA-256) base64 signer for a PEM private key; None if ``cryptography`` cannot
    load it as one of those (the caller then falls back to python-binance's signer)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), passphrase.encode() or None)
    except (ValueError, TypeError):
        return None
    if isinstance(key, Ed25519PrivateKey):
        ed_key = key

        def sign_ed25519(payload: str) -> str:
            return base64.b64encode(ed_key.sign(payload.encode())).decode()

        return sign_ed25519
    if isinstance(key, RSAPrivateKey):
        rsa_key = key

        def sign_rsa(payload: str) -> str:
            return base64.b64encode(rsa_key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()

        return sign_rsa
    return None


class WsApiSigner:
    """Adds ``apiKey``, ``timestamp`` (exchange clock, ms) and ``recvWindow`` to request params and signs them.

    Args:
        api_key: the API key (sent as ``apiKey``).
        sign: payload → signature (:func:`hmac_signer`, :func:`private_key_signer`, or python-binance's).
        recv_window_ms: ``recvWindow`` of every request (ms).
        clock_ms: the exchange clock (epoch ms): local time plus the measured offset.
    """

    __slots__ = ("api_key", "clock_ms", "recv_window_ms", "sign_payload")

    def __init__(self, api_key: str, sign: SignFn, recv_window_ms: int, clock_ms: Callable[[], int]) -> None:
        self.api_key = api_key
        self.sign_payload = sign
        self.recv_window_ms = recv_window_ms
        self.clock_ms = clock_ms

    def sign(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` plus ``apiKey``, ``timestamp``, ``recvWindow`` (the caller's own values win) and ``signature``
        (a new dict; ``params`` is not changed). The signature is over the sorted params; JSON key order is free."""
        signed = {"apiKey": self.api_key, "recvWindow": self.recv_window_ms, "timestamp": self.clock_ms(), **params}
        signed["signature"] = self.sign_payload(ws_payload(signed))
        return signed
