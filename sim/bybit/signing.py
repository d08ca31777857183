"""The Bybit face's check of a signed V5 request and of a WebSocket ``auth`` (sans-I/O), with Bybit's codes.

Follows https://bybit-exchange.github.io/docs/v5/guide#authentication: the key travels in ``X-BAPI-API-KEY``, the
time in ``X-BAPI-TIMESTAMP`` (ms), the validity in ``X-BAPI-RECV-WINDOW`` (default 5000), and ``X-BAPI-SIGN`` is the
HMAC-SHA256 hex of ``timestamp + api_key + recv_window + payload``, where the payload is the raw query string for GET
and the raw JSON body for POST. The request is accepted when ``server_time - recv_window <= timestamp <
server_time + 1000``.

Codes: 10003 missing or unknown key, 10004 missing or wrong signature, 10002 timestamp outside the window (or
missing/malformed).

WebSocket ``auth`` (https://bybit-exchange.github.io/docs/v5/ws/connect#authentication): ``args = [api_key,
expires, signature]`` with ``signature`` = HMAC-SHA256 hex of ``"GET/realtime" + expires`` and ``expires`` (ms) in
the future.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from tradingmcp.sim.bybit import wire
from tradingmcp.sim.bybit.wire import BybitError
from tradingmcp.sim.signing import hmac_hex

API_KEY = "X-BAPI-API-KEY"
TIMESTAMP = "X-BAPI-TIMESTAMP"
RECV_WINDOW = "X-BAPI-RECV-WINDOW"
SIGN = "X-BAPI-SIGN"
DEFAULT_RECV_WINDOW_MS = 5000
FUTURE_TOLERANCE_MS = 1000


def verify(headers: Mapping[str, str], keys: Mapping[str, str], payload: str, server_time_ms: int) -> str:
    """Check one signed request; returns the caller's API key.

    Args:
        headers: the request headers (case-insensitive mapping, as aiohttp gives them).
        keys: ``{api_key: secret}``.
        payload: the raw query string (GET) or raw body (POST).
        server_time_ms: the face's clock.

    Raises:
        BybitError: 10003, 10004 or 10002.
    """
    api_key = headers.get(API_KEY) or ""
    secret = keys.get(api_key)
    if secret is None:
        raise BybitError(wire.INVALID_API_KEY, "API key is invalid.")
    given = headers.get(SIGN) or ""
    timestamp = headers.get(TIMESTAMP) or ""
    recv_window = headers.get(RECV_WINDOW) or ""
    if not given:
        raise BybitError(wire.SIGN_ERROR, "error sign! origin_string[]")
    expected = hmac_hex(secret, f"{timestamp}{api_key}{recv_window}{payload}")
    if not hmac.compare_digest(expected, given.lower()):
        raise BybitError(wire.SIGN_ERROR, "error sign! please check your signature generation algorithm")
    try:
        ts = int(timestamp)
        window = int(recv_window) if recv_window else DEFAULT_RECV_WINDOW_MS
    except ValueError:
        raise BybitError(wire.TIMESTAMP_ERROR, "invalid request, please check your timestamp") from None
    if not server_time_ms - window <= ts < server_time_ms + FUTURE_TOLERANCE_MS:
        raise BybitError(
            wire.TIMESTAMP_ERROR,
            f"invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],"
            f"server_timestamp[{server_time_ms}],recv_window[{window}]",
        )
    return api_key


def verify_ws_auth(args: object, keys: Mapping[str, str], now_ms: int) -> str:
    """Check a WebSocket ``auth`` op's ``args``; returns the API key.

    Raises:
        BybitError: ``args`` malformed or ``expires`` past (10001), unknown key (10003), wrong signature (10004).
    """
    if not isinstance(args, list) or len(args) != 3:
        raise wire.params_error("auth args must be [api_key, expires, signature]")
    api_key, expires, signature = (str(a) for a in args)
    secret = keys.get(api_key)
    if secret is None:
        raise BybitError(wire.INVALID_API_KEY, "Invalid apikey")
    if not expires.isdigit() or int(expires) <= now_ms:
        raise wire.params_error("auth expires must be a future time in ms")
    if not hmac.compare_digest(hmac_hex(secret, f"GET/realtime{expires}"), signature.lower()):
        raise BybitError(wire.SIGN_ERROR, "Signature verification failed")
    return api_key
