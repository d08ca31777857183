"""Bybit V5 request signing (sans-I/O): the ``X-BAPI-*`` headers of a REST request and the WebSocket ``auth`` args.

Follows https://bybit-exchange.github.io/docs/v5/guide#authentication: ``X-BAPI-SIGN`` = HMAC-SHA256, lower-case
hex, of ``timestamp + api_key + recv_window + payload``, where the payload is the query string exactly as sent (GET)
or the JSON body exactly as sent (POST); ``X-BAPI-TIMESTAMP`` is the time in ms and ``X-BAPI-RECV-WINDOW`` the
validity. A request is accepted when ``server_time - recv_window <= timestamp < server_time + 1000``.

WebSocket ``auth`` (https://bybit-exchange.github.io/docs/v5/ws/connect#authentication): ``{"op": "auth", "args":
[api_key, expires, signature]}`` with ``signature`` = HMAC-SHA256 hex of ``"GET/realtime" + expires`` (ms, future).

Never log the secret or a signature.
"""

from __future__ import annotations

from tradingmcp.server.exchanges.wire import hmac_sha256_signer

API_KEY_HEADER = "X-BAPI-API-KEY"
TIMESTAMP_HEADER = "X-BAPI-TIMESTAMP"
RECV_WINDOW_HEADER = "X-BAPI-RECV-WINDOW"
SIGN_HEADER = "X-BAPI-SIGN"


class Signer:
    """Signs Bybit requests (builds strings only).

    Args:
        api_key: sent in ``X-BAPI-API-KEY`` (and the ``auth`` args).
        api_secret: the HMAC key; never in ``repr``.
        recv_window_ms: ``X-BAPI-RECV-WINDOW``.
    """

    __slots__ = ("_sign", "api_key", "recv_window_ms")

    def __init__(self, api_key: str, api_secret: str, recv_window_ms: int = 5000) -> None:
        self.api_key = api_key
        self.recv_window_ms = recv_window_ms
        self._sign = hmac_sha256_signer(api_secret)

    def __repr__(self) -> str:
        return f"Signer(api_key={self.api_key[:4]}…, recv_window_ms={self.recv_window_ms})"

    def headers(self, payload: str, timestamp_ms: int) -> dict[str, str]:
        """The signed headers for a request whose query string (GET) or JSON body (POST) is ``payload``."""
        ts, window = str(timestamp_ms), str(self.recv_window_ms)
        return {
            API_KEY_HEADER: self.api_key,
            TIMESTAMP_HEADER: ts,
            RECV_WINDOW_HEADER: window,
            SIGN_HEADER: self._sign(ts + self.api_key + window + payload),
            "X-BAPI-SIGN-TYPE": "2",
        }

    def ws_auth_args(self, expires_ms: int) -> list[str]:
        """``args`` of the WebSocket ``auth`` op valid until ``expires_ms``."""
        return [self.api_key, str(expires_ms), self._sign(f"GET/realtime{expires_ms}")]
