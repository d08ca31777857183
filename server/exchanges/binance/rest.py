"""``BinanceRest``: the REST request builder and sender, the exchange clock, and the request choke point.

Every REST call (https://developers.binance.com/docs/binance-spot-api-docs/rest-api) goes through
:meth:`BinanceRest._rest`, every WS API order request (:mod:`.wsapi`, our own connection) through
:meth:`BinanceRest._ws_call`; both wait in the same weight-aware limiter, adopt the exchange's usage counts
(``X-MBX-*`` headers / ``rateLimits``), turn failures into typed errors, honour 429/418, and on -1021 resync the clock
offset and retry. :class:`~tradingmcp.server.exchanges.binance.adapter.BinanceAdapter` builds the endpoints on top of
it.

The REST request is built here, not by python-binance (whose query builder puts every value but ``symbol`` into the
query string unencoded, and signs a POST body other than the one aiohttp sends): every parameter goes into the query
string through :func:`~tradingmcp.server.exchanges.wire.encode_query` (Binance takes the parameters of GET, POST and
DELETE there alike, "General API information"), and the signature is computed over exactly that encoded text
(:func:`~tradingmcp.server.exchanges.wire.signed_query`; "SIGNED endpoint security": HMAC-SHA256 hex, or base64
Ed25519/RSA, itself percent-encoded). python-binance's ``AsyncClient`` still provides the HTTP session, the configured
REST base URL (``client.API_URL``) and the fallback signer for keys ``cryptography`` cannot read.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
from binance import AsyncClient
from yarl import URL

from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.binance.errors import (
    ExchangeError,
    ExchangeUnavailable,
    IpBanned,
    RateLimited,
    TimestampOutOfWindow,
    from_binance_exception,
    from_rest_response,
    quoted_text,
)
from tradingmcp.server.exchanges.binance.ratelimit import RateLimitCore, RateLimiter
from tradingmcp.server.exchanges.binance.signing import SignFn, WsApiSigner, hmac_signer, private_key_signer
from tradingmcp.server.exchanges.binance.wsapi import WsApiChannel, WsApiDown
from tradingmcp.server.exchanges.wire import encode_query, signed_query

NO_DEFLATE: dict[str, Any] = {"compression": None}
"""websockets ``connect`` kwargs for python-binance's connections (``ReconnectingWebsocket(**kwargs)``,
``BinanceSocketManager.ws_kwargs``): do not offer permessage-deflate. Binance's frames are small JSON on a
low-latency link; deflating and inflating every one costs CPU on both ends (and latency) for almost no bytes saved."""


class BinanceRest:
    """A configured ``AsyncClient`` (URLs, keys, ``recvWindow``, timeout), its rate limiter and clock offset.

    Args:
        config: URLs, keys and limits (Spot Testnet by default).

    Attributes:
        client: the python-binance client (owned: close it with ``client.close_connection()``).
        limiter: the weight-aware limiter every call waits in.
        ws: the WS API order channel, a connection of our own (see :mod:`.wsapi`); opened by ``start_orders``.
        clock_offset_ms: exchange time minus local time (ms), from ``GET /api/v3/time``.
        reachable: whether the last REST call reached the exchange.
    """

    def __init__(self, config: BinanceConfig) -> None:
        self.config = config
        self.client = AsyncClient(
            config.api_key or None,
            config.api_secret or None,
            testnet=config.testnet,
            private_key=config.private_key or None,  # Ed25519 (or RSA) key: python-binance signs with it
            private_key_pass=config.private_key_pass or None,
        )
        rest = config.effective_rest_url
        self.client.API_URL = self.client.API_TESTNET_URL = rest
        self.client.ws_api._url = config.effective_ws_api_url
        self.client.ws_api._ws_kwargs.update(NO_DEFLATE)  # unused by the adapter; if anything opens it
        self.client.REQUEST_RECVWINDOW = config.recv_window_ms
        self.client.REQUEST_TIMEOUT = config.request_timeout_s
        self.limiter = RateLimiter(
            RateLimitCore(safety_fraction=config.rate_safety_fraction),
            max_wait_s=config.max_rate_wait_s,
            clock_ms=self.server_ms,
        )
        self.clock_offset_ms = 0
        """Exchange time minus local time (ms), from ``GET /api/v3/time``."""
        self.reachable = False
        self._sign = self._ws_sign_fn()
        self._timeout = aiohttp.ClientTimeout(total=config.request_timeout_s)
        self.ws = WsApiChannel(
            config.effective_ws_api_url,
            WsApiSigner(config.api_key, self._sign, config.recv_window_ms, self.server_ms),
            timeout_s=config.request_timeout_s,
            on_rate_limits=self.limiter.update_from_headers,
            server_ms=self.server_ms,
            reconnect_base_s=config.reconnect_delay_s,
            reconnect_max_s=config.ws_api_reconnect_max_s,
        )

    def _ws_sign_fn(self) -> SignFn:
        """The signature function of REST and WS API requests: Ed25519/RSA with ``private_key`` (python-binance's
        signer for a key ``cryptography`` cannot read), else HMAC with ``api_secret``."""
        config = self.config
        if config.private_key:
            sign = private_key_signer(config.private_key, config.private_key_pass)
            if sign is not None:
                return sign
            client: Any = self.client  # python-binance's signing helpers are untyped
            return client._rsa_signature if client._is_rsa else client._ed25519_signature  # type: ignore[no-any-return]
        return hmac_signer(config.api_secret)

    async def start_orders(self) -> bool:
        """Open the WS API order channel (when the config has an API key) and wait for the first attempt.

        Returns:
            Whether it is open; if not, it keeps reconnecting in the background and orders use REST meanwhile.
        """
        if not self.config.api_key:
            return False
        return await self.ws.start(self.config.request_timeout_s)

    def server_ms(self) -> int:
        """Estimated exchange time (ms): local wall clock + ``clock_offset_ms``."""
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    async def sync_time(self) -> int:
        """Measure the exchange clock (``GET /api/v3/time``, weight 1) and set the signing offset; returns it (ms)."""
        before = time.time_ns() // 1_000_000
        body = await self._rest(1, "GET", "time")
        after = time.time_ns() // 1_000_000
        self.clock_offset_ms = int(body["serverTime"]) - (before + after) // 2
        self.client.timestamp_offset = self.clock_offset_ms
        self.reachable = True
        return self.clock_offset_ms

    # --- the choke point -----------------------------------------------------------------------------------------
    async def _rest(
        self,
        weight: int,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        is_order: bool = False,
    ) -> Any:
        """One REST request (``<method> /api/v3/<path>``) under the limiter; map errors; retry 429 (after the wait) and
        -1021 (after a clock resync, except for ``time`` itself).

        Args:
            weight: the request weight (waited for in the limiter).
            method: ``GET``, ``POST`` or ``DELETE``.
            path: the endpoint below ``/api/v3/`` (``order``, ``ticker/bookTicker``...).
            params: the request parameters (values as on the wire: strings, ints); encoded by :meth:`_http`.
            signed: a SIGNED endpoint (adds ``recvWindow``, ``timestamp``, ``signature``).
            is_order: counts against the order limits.

        Raises:
            ExchangeError: a typed subclass for every failure.
        """
        query = dict(params or {})
        return await self._send(
            weight, is_order, lambda: self._http(method, path, query, signed), rest=True, resync=path != "time"
        )

    async def _http(self, method: str, path: str, params: Mapping[str, Any], signed: bool) -> Any:
        """Build and send one REST request; returns the decoded JSON body of a 2xx answer.

        Every parameter goes into the query string through the shared builder (percent-encoded), signed requests get
        ``recvWindow`` and ``timestamp`` (exchange clock) and then ``signature`` over exactly that encoded text.

        Raises:
            ExchangeError: the typed error of a non-2xx answer (Binance's code and msg quoted) or of a 2xx answer
                that is not JSON. aiohttp.ClientError, TimeoutError: the transport failed (mapped by the caller).
        """
        items = list(params.items())
        headers = {"X-MBX-APIKEY": self.config.api_key} if self.config.api_key else {}
        if signed:
            items += [("recvWindow", self.config.recv_window_ms), ("timestamp", self.server_ms())]
            query = signed_query(items, self._sign)
        else:
            query = encode_query(items)
        url = URL(f"{self.client.API_URL}/v3/{path}" + (f"?{query}" if query else ""), encoded=True)
        async with self.client.session.request(method, url, headers=headers, timeout=self._timeout) as response:
            text = await response.text()
            status = response.status
            self.limiter.update_from_headers(response.headers)
            if 200 <= status < 300:
                try:
                    return orjson.loads(text) if text else {}
                except orjson.JSONDecodeError:
                    raise ExchangeUnavailable(
                        f"Binance answered {method} /api/v3/{path} with HTTP {status} and a body that is not JSON: "
                        f"{quoted_text(text)}; {ExchangeUnavailable.hint}",
                        exchange="binance",
                        status=status,
                    ) from None
            raise from_rest_response(status, text, response.headers, self.server_ms())

    async def _ws_call(self, weight: int, method: str, params: dict[str, Any], *, is_order: bool = False) -> Any:
        """Run one signed WS API request (e.g. ``order.place``) under the same limiter and error handling.

        Raises:
            WsApiDown: the WS API connection is not open; nothing was sent (use REST).
            ExchangeError: a typed subclass for every other failure.
        """
        return await self._send(weight, is_order, lambda: self.ws.request(method, dict(params)), rest=False)

    async def _order_call(
        self, ws_method: str, rest_method: str, rest_path: str, req: dict[str, Any], *, is_order: bool
    ) -> Any:
        """One signed order request (weight 1) over the WS API order channel (``ws_method``) when it is open, else
        (nothing sent) over REST (``rest_method /api/v3/rest_path``)."""
        if self.ws.connected:
            try:
                return await self._ws_call(1, ws_method, req, is_order=is_order)
            except WsApiDown:
                pass  # nothing was sent
        return await self._rest(1, rest_method, rest_path, req, signed=True, is_order=is_order)

    async def _send(
        self, weight: int, is_order: bool, send: Callable[[], Awaitable[Any]], *, rest: bool, resync: bool = True
    ) -> Any:
        retries = 0
        while True:
            await self.limiter.acquire(weight, is_order)
            try:
                result = await send()
            except Exception as exc:
                error = from_binance_exception(exc, self.server_ms())
                if isinstance(error, IpBanned):
                    self.limiter.on_ip_ban(error.retry_after_s)
                elif isinstance(error, RateLimited):
                    self.limiter.on_too_many_requests(error.retry_after_s)
                elif isinstance(error, TimestampOutOfWindow) and resync:
                    await self.sync_time()
                if isinstance(error, ExchangeUnavailable) and (rest or not isinstance(exc, ExchangeError)):
                    self.reachable = False  # REST: transport failure or 5xx; WS API: the connection failed
                if retries < 2 and isinstance(error, RateLimited | TimestampOutOfWindow) and error.should_retry():
                    retries += 1
                    continue
                if error is exc:
                    raise
                raise error from exc
            self.reachable = True
            return result
