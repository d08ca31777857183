"""Signed requests over the Binance WebSocket API (``/ws-api/v3``) on python-binance's ``client.ws_api``
connection — the one the user data stream already holds open — for the latency-critical order requests.

Follows "WebSocket API" (https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/general-api-information):
a request ``{"id", "method", "params"}`` (signed: ``apiKey``, ``timestamp``, ``recvWindow``, ``signature`` over the
params sorted by name) is answered on the same connection by ``{"id", "status", "result" | "error", "rateLimits"}``.
Every reply's ``rateLimits`` (``REQUEST_WEIGHT``/``ORDERS`` ``count``) replaces the limiter's own counts, like the
``X-MBX-*`` headers of a REST reply; a 429/418 error carries ``data.retryAfter`` (epoch ms).

The channel never opens or waits for a connection: it uses the one the user data stream keeps open (and reopens after
a drop, see :mod:`.userdata`); when it is not open, :class:`WsApiDown` says nothing was sent and the caller uses REST.

Relies on python-binance 1.0.37 internals: ``WebsocketAPI._responses`` (id → future, resolved with the whole reply;
a non-200 reply sets a ``BinanceAPIException`` whose ``response`` is the reply) and ``_sign_ws_params``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from binance.ws.constants import WSListenerState

from tradingmcp.server.exchanges.binance.errors import (
    ExchangeError,
    ExchangeUnavailable,
    error_for_code,
    from_binance_exception,
)

log = logging.getLogger(__name__)

_HEADER_PREFIX = {"REQUEST_WEIGHT": "X-MBX-USED-WEIGHT-", "ORDERS": "X-MBX-ORDER-COUNT-"}


class WsApiDown(ExchangeUnavailable):
    """The WS API connection is not open (or closed before the request was written): nothing was sent."""


def rate_limit_headers(rate_limits: Any) -> dict[str, str]:
    """A reply's ``rateLimits`` array as the equivalent ``X-MBX-USED-WEIGHT-1M``/``X-MBX-ORDER-COUNT-10S`` headers."""
    out: dict[str, str] = {}
    if not isinstance(rate_limits, list):
        return out
    for entry in rate_limits:
        if not isinstance(entry, Mapping):
            continue
        prefix = _HEADER_PREFIX.get(str(entry.get("rateLimitType")))
        if prefix is None or "count" not in entry:
            continue
        out[f"{prefix}{entry.get('intervalNum', 1)}{str(entry.get('interval', 'M'))[:1]}"] = str(entry["count"])
    return out


def error_data(exc: BaseException) -> dict[str, Any] | None:
    """The ``error.data`` object of a WS API error reply behind ``exc`` (cancelReplace partial failure), or None."""
    reply = getattr(exc.__cause__, "response", None)
    if not isinstance(reply, Mapping):
        return None
    error = reply.get("error")
    data = error.get("data") if isinstance(error, Mapping) else None
    return data if isinstance(data, dict) else None


class WsApiChannel:
    """Signed WS API requests on ``client.ws_api``.

    Args:
        client: the python-binance client (its ``ws_api`` URL already set).
        timeout_s: how long to wait for a reply before the outcome is unknown (s).
        recv_window_ms: ``recvWindow`` of each request (ms).
        on_rate_limits: gets every reply's ``rateLimits`` as ``X-MBX-*`` headers (the limiter's
            ``update_from_headers``).
        server_ms: the exchange clock (ms), to turn ``retryAfter`` into seconds.

    Attributes:
        requests: requests answered (any status) over the WS API, by method.
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        timeout_s: float,
        recv_window_ms: int,
        on_rate_limits: Callable[[Mapping[str, str]], None],
        server_ms: Callable[[], int],
    ) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.recv_window_ms = recv_window_ms
        self.on_rate_limits = on_rate_limits
        self.server_ms = server_ms
        self.requests: dict[str, int] = {}

    @property
    def connected(self) -> bool:
        """True when the WS API connection is open and read."""
        api = self.client.ws_api
        return (
            api is not None
            and api.ws is not None
            and api.ws_state == WSListenerState.STREAMING
            and api._handle_read_loop is not None
        )

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send one signed request and return its ``result``.

        Raises:
            WsApiDown: the connection is not open; nothing was sent.
            ExchangeUnavailable: no reply within ``timeout_s`` or the connection failed after sending (outcome
                unknown).
            ExchangeError: a typed subclass for an error reply (its ``__cause__.response`` is the reply).
        """
        api = self.client.ws_api
        if not self.connected or api.ws is None:
            raise WsApiDown("the Binance WS API connection is not open", exchange="binance")
        client: Any = self.client  # python-binance's signing helpers are untyped
        req_id = client.uuid22()
        query = {**params, "recvWindow": self.recv_window_ms}
        payload = {
            "id": req_id,
            "method": method,
            "params": client._sign_ws_params(query, client._generate_ws_api_signature),
        }
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        api._responses[req_id] = future
        try:
            try:
                await api.ws.send(api.json_dumps(payload))
            except Exception as exc:  # the frame was not written: the order surely did not reach the exchange
                raise WsApiDown(
                    f"the Binance WS API connection failed ({type(exc).__name__})", exchange="binance"
                ) from exc
            try:
                async with asyncio.timeout(self.timeout_s):
                    reply = await future
            except BinanceAPIException as exc:
                self._count(method)
                body = exc.response if isinstance(exc.response, Mapping) else {}
                self.on_rate_limits(rate_limit_headers(body.get("rateLimits")))
                raise self._error(body, exc.status_code) from exc
            except Exception as exc:
                raise from_binance_exception(exc, self.server_ms()) from exc
        finally:
            api._responses.pop(req_id, None)
        self._count(method)
        self.on_rate_limits(rate_limit_headers(reply.get("rateLimits")))
        return reply.get("result", reply)

    def _count(self, method: str) -> None:
        self.requests[method] = self.requests.get(method, 0) + 1

    def _error(self, body: Mapping[str, Any], status: Any) -> ExchangeError:
        error = body.get("error")
        error = error if isinstance(error, Mapping) else {}
        code = error.get("code")
        data = error.get("data")
        headers: dict[str, str] = {}
        if isinstance(data, Mapping) and isinstance(data.get("retryAfter"), int):
            headers["Retry-After"] = str(max(0.0, (data["retryAfter"] - self.server_ms()) / 1000))
        return error_for_code(
            int(code) if isinstance(code, int) else None,
            str(error.get("msg", "")),
            int(status) if isinstance(status, int) else None,
            headers,
            self.server_ms(),
        )
