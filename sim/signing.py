"""Signed-request checks for the simulator: API key, timestamp/recvWindow rule, HMAC-SHA256 (sans-I/O).

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/endpoint-security-type and
https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/request-security:

- REST: header ``X-MBX-APIKEY``; ``signature`` = HMAC-SHA256 hex over the query string concatenated with the body
  (no separator), without the ``signature`` pair itself, exactly as received (still percent-encoded: a client that
  signed other text than it sent, e.g. the decoded values, is refused with -1022). Hex signatures compare
  case-insensitively.
- WS API: params (including ``apiKey`` and ``timestamp``) sorted by name, joined ``k=v&...``, HMAC-SHA256 hex.
- ``timestamp`` in ms (or µs, detected by size); ``recvWindow`` default 5000 ms, max 60000, up to 3 decimals. Accepted
  only when ``timestamp < server + 1000`` and ``server - timestamp <= recvWindow``; else -1021.

HMAC keys (the dev key is ``sim-key``/``sim-secret``; never use real secrets with it) and Ed25519 keys: an API key
whose entry in ``keys`` is an Ed25519 public key in PEM (``-----BEGIN PUBLIC KEY-----``) is checked as Binance does
for Ed25519 API keys — ``signature`` is the base64 Ed25519 signature of the same payload
(https://developers.binance.com/docs/binance-spot-api-docs/rest-api/endpoint-security-type, "SIGNED Endpoint
Example for POST /api/v3/order - Ed25519 Keys").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tradingmcp.sim.errors import (
    bad_api_key_format,
    bad_recv_window,
    bad_signature,
    bad_timestamp,
    mandatory_param,
    rejected_api_key,
    timestamp_ahead,
)

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_RECV_WINDOW_MS",
    "check_api_key",
    "check_timestamp",
    "hmac_hex",
    "strip_signature",
    "verify_rest",
    "verify_ws",
]

DEFAULT_RECV_WINDOW_MS = 5000.0
MAX_RECV_WINDOW_MS = 60000.0
_MICROS_THRESHOLD = 10**14  # a ms epoch stays below this until year 5138
_INT_FLOAT_EXACT = 2**63  # ints a JSON number can hold (float() of them never overflows)


def hmac_hex(secret: str, payload: str) -> str:
    """The HMAC signature Binance (and MEXC) check: HMAC-SHA256 of ``payload`` keyed with ``secret``, lower-case hex.

    The HMAC keyed with ``secret`` is built once and copied per call (the key schedule is not computed again); up to
    1024 secrets are kept, then the cache starts afresh.
    """
    sign = _HMAC_SIGNERS.get(secret)
    if sign is None:
        if len(_HMAC_SIGNERS) >= _MAX_CACHED_KEYS:
            _HMAC_SIGNERS.clear()
        sign = _HMAC_SIGNERS[secret] = _hmac_signer(secret)
    return sign(payload)


def _hmac_signer(secret: str) -> Callable[[str], str]:
    """HMAC-SHA256 keyed with ``secret`` once: the returned ``payload -> hex`` copies the keyed HMAC instead of
    computing the key schedule per call."""
    template = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(payload: str) -> str:
        mac = template.copy()
        mac.update(payload.encode())
        return mac.hexdigest()

    return sign


def strip_signature(raw: str) -> tuple[str, str | None]:
    """Remove the ``signature=...`` pair from a raw query string or form body, exactly as received.

    Returns:
        ``(raw without the pair, the signature value or None)``; other pairs keep their order and encoding.
    """
    if "signature=" not in raw:
        return raw, None
    kept: list[str] = []
    signature: str | None = None
    for pair in raw.split("&"):
        if pair.startswith("signature="):
            signature = pair[len("signature=") :]
        else:
            kept.append(pair)
    return "&".join(kept), signature


def check_api_key(api_key: str | None, keys: Mapping[str, str]) -> str:
    """Return the secret of ``api_key``.

    Raises:
        BinanceError: -2014 (HTTP 401) when the key is missing or blank; -2015 (HTTP 401) when unknown.
    """
    if not api_key or not api_key.strip():
        raise bad_api_key_format()
    secret = keys.get(api_key)
    if secret is None:
        raise rejected_api_key()
    return secret


def check_timestamp(params: Mapping[str, Any], now_ms: int) -> None:
    """Apply Binance's timestamp/recvWindow rule to a request's params.

    Args:
        params: request params; ``timestamp`` (ms or µs) is mandatory, ``recvWindow`` (ms, ≤ 60000) optional.
        now_ms: the server clock (epoch ms).

    Raises:
        BinanceError: -1102 missing/malformed timestamp or recvWindow; -1131 recvWindow above 60000;
            -1021 timestamp ahead of server + 1000 ms or older than recvWindow.
    """
    raw_ts = params.get("timestamp")
    if raw_ts.__class__ is int:  # a WS API JSON number: int(str(n)) == n
        timestamp: int = raw_ts
    else:
        try:
            timestamp = int(str(raw_ts))
        except ValueError:
            raise mandatory_param("timestamp") from None
    raw_window = params.get("recvWindow")
    recv_window = DEFAULT_RECV_WINDOW_MS
    if raw_window is not None and raw_window != "":
        if raw_window.__class__ is int and -_INT_FLOAT_EXACT <= raw_window <= _INT_FLOAT_EXACT:
            recv_window = float(raw_window)  # == float(str(n)): both round the same integer once
        else:
            try:
                recv_window = float(str(raw_window))
            except ValueError:
                raise mandatory_param("recvWindow") from None
        if recv_window > MAX_RECV_WINDOW_MS or recv_window <= 0:
            raise bad_recv_window()
    ts_ms = timestamp / 1000 if timestamp >= _MICROS_THRESHOLD else float(timestamp)
    if ts_ms >= now_ms + 1000:
        raise timestamp_ahead()
    if now_ms - ts_ms > recv_window:
        raise bad_timestamp()


_PEM_PUBLIC = "-----BEGIN PUBLIC KEY-----"
_HMAC_SIGNERS: dict[str, Callable[[str], str]] = {}
"""secret -> its keyed HMAC-SHA256 signer (the key schedule, computed once per secret)."""
_ED25519_KEYS: dict[str, Ed25519PublicKey | None] = {}
"""public key PEM -> its Ed25519 key (None: the PEM holds another key type)."""
_MAX_CACHED_KEYS = 1024


def _ed25519_key(public_pem: str) -> Ed25519PublicKey | None:
    """The Ed25519 public key of a PEM (parsed once per PEM); None for another key type.

    Raises:
        ValueError: the PEM cannot be parsed (not cached: raised again on every use, as before).
    """
    if public_pem in _ED25519_KEYS:
        return _ED25519_KEYS[public_pem]
    key = serialization.load_pem_public_key(public_pem.encode())
    if len(_ED25519_KEYS) >= _MAX_CACHED_KEYS:
        _ED25519_KEYS.clear()
    ed_key = _ED25519_KEYS[public_pem] = key if isinstance(key, Ed25519PublicKey) else None
    return ed_key


def _matches(secret: str, signature: str, first: str, more: Callable[[], Iterable[str]]) -> bool:
    """Whether ``signature`` signs ``first`` or (tried only when it does not) one of ``more()``, in order."""
    if secret.startswith(_PEM_PUBLIC):
        return _ed25519_matches(secret, signature, first, more)
    wanted = signature.lower()
    if hmac.compare_digest(hmac_hex(secret, first), wanted):
        return True
    return any(hmac.compare_digest(hmac_hex(secret, c), wanted) for c in more())


def _ed25519_matches(public_pem: str, signature: str, first: str, more: Callable[[], Iterable[str]]) -> bool:
    """Base64 Ed25519 signature (case-sensitive) of one of the candidate payloads."""
    key = _ed25519_key(public_pem)
    if key is None:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(raw, first.encode())
    except InvalidSignature:
        pass
    else:
        return True
    for payload in more():
        try:
            key.verify(raw, payload.encode())
        except InvalidSignature:
            continue
        return True
    return False


def verify_rest(
    api_key: str | None,
    query: str,
    body: str,
    params: Mapping[str, str],
    keys: Mapping[str, str],
    now_ms: int,
) -> str:
    """Check a signed REST request (``SIGNED`` endpoints: TRADE and USER_DATA).

    Args:
        api_key: the ``X-MBX-APIKEY`` header, or None.
        query: the raw (still percent-encoded) query string, without ``?``.
        body: the raw form-encoded body (``""`` for none).
        params: the decoded params of query and body together.
        keys: ``{api_key: secret}`` known to the simulator.
        now_ms: server clock (epoch ms).

    Returns:
        The API key (the account id inside the simulator).

    Raises:
        BinanceError: -2014/-2015 key, -1102 no signature/timestamp, -1131/-1021 timing, -1022 bad signature.
    """
    secret = check_api_key(api_key, keys)
    check_timestamp(params, now_ms)
    q, sig_q = strip_signature(query)
    b, sig_b = strip_signature(body)
    signature = sig_q or sig_b
    if not signature:
        raise mandatory_param("signature")
    if not _matches(secret, unquote_plus(signature), q + b, lambda: ()):
        raise bad_signature()
    return api_key or ""


def _ws_value(value: Any, python_bools: bool) -> str:
    if isinstance(value, bool):
        return str(value) if python_bools else ("true" if value else "false")
    return str(value)


def verify_ws(params: Mapping[str, Any], keys: Mapping[str, str], now_ms: int) -> str:
    """Check a signed WS API request's params (``apiKey``, ``timestamp``, ``signature``, optional ``recvWindow``).

    The payload is the params minus ``signature``, sorted by name and joined ``k=v&...`` (also accepted
    percent-encoded, as python-binance's ``urlencode`` produces).

    Returns:
        The API key.

    Raises:
        BinanceError: as :func:`verify_rest`.
    """
    api_key = params.get("apiKey")
    secret = check_api_key(api_key if isinstance(api_key, str) else None, keys)
    check_timestamp(params, now_ms)
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise mandatory_param("signature")
    names = sorted(params)  # unique names: the order of the (name, value) pairs sorted
    names.remove("signature")
    # the payload as sent (JSON spellings of booleans), built directly: it is the one that usually matches
    # (``f"{v}"`` is ``str(v)`` for every JSON type but bool)
    first = "&".join(
        [f"{k}={v}" if (v := params[k]).__class__ is not bool else f"{k}={_ws_value(v, False)}" for k in names]
    )
    if not _matches(secret, signature, first, lambda: _ws_fallbacks([(k, params[k]) for k in names], first)):
        raise bad_signature()
    assert isinstance(api_key, str)
    return api_key


def _ws_fallbacks(items: list[tuple[str, Any]], first: str) -> Iterator[str]:
    """The other payloads a WS API client may have signed, most likely first, built lazily: ``k=v&...`` and
    percent-encoded (``urlencode``), each with JSON then Python spellings of booleans; ``first`` (``k=v&...`` with
    JSON booleans) already tried."""
    seen = {first}
    has_bool = any(isinstance(v, bool) for _, v in items)
    for python_bools in (False, True) if has_bool else (False,):
        pairs = [(k, _ws_value(v, python_bools)) for k, v in items]
        for text in ("&".join([f"{k}={v}" for k, v in pairs]), urlencode(pairs)):
            if text not in seen:
                seen.add(text)
                yield text
