"""``MexcRestClient``: MEXC Spot v3 REST on aiohttp — public market data, signed trading/account, listenKeys.

Signed calls put every parameter in the query string (``recvWindow``, ``timestamp``, then ``signature``), which
MEXC accepts for GET, POST, PUT and DELETE alike, with ``X-MEXC-APIKEY`` in the headers (see ``signing``). The client
tracks the server clock offset (``sync_time``) so ``timestamp`` stays inside ``recvWindow``; on 700003 it resyncs
once and resends (the request was rejected, so resending is safe). Weights are accounted per endpoint (MEXC: 500
per 10 s each) so calls wait rather than draw a 429; a 429 blocks the client for ``Retry-After`` seconds and the call
is retried once when that is at most ``max_retry_after_s``; a 418 ban blocks every call until it ends.
API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/

Errors: every failure is a typed ``errors.ExchangeError``; transport failures and 5xx are ``ExchangeUnavailable``
(outcome unknown for placements: query by client order id before resending).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from tradingmcp.server.exchanges import wire
from tradingmcp.server.exchanges.errors import (
    AuthError,
    BadParameter,
    ExchangeError,
    ExchangeUnavailable,
    IpBanned,
    RateLimited,
    TimestampOutOfWindow,
)
from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.server.exchanges.mexc.control import rest_kline_interval
from tradingmcp.server.exchanges.mexc.errors import from_response, mexc_error
from tradingmcp.server.exchanges.mexc.params import Params, new_client_order_id, order_params, order_ref
from tradingmcp.server.exchanges.mexc.ratelimit import EndpointLimiter
from tradingmcp.server.exchanges.mexc.signing import Signer, encode_params
from tradingmcp.server.exchanges.models import (
    Balance,
    Fill,
    Kline,
    Order,
    OrderBookSnapshot,
    OrderRequest,
    Stats24h,
    SymbolRules,
    Ticker,
    Trade,
)

API = "/api/v3"
MAX_BATCH_ORDERS = 20
"""MEXC's limit of orders in one ``batchOrders`` call (one symbol)."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _is_error_body(body: Any) -> bool:
    """MEXC sometimes answers HTTP 200 with ``{"code": <error>, "msg": ...}``; codes 0 and 200 mean success."""
    return isinstance(body, dict) and "msg" in body and body.get("code") not in (None, 0, 200, "0", "200")


class MexcRestClient:
    """Async MEXC Spot REST client. Use ``async with MexcRestClient(config) as rest:``.

    Args:
        config: URLs, keys, recv window and timeouts.
        session: an aiohttp session to use (not closed by ``close``); one is created when None.
        clock_ms: local wall clock in ms (tests inject one).

    Attributes:
        time_offset_ms: server time − local time, from the last ``sync_time``.
        limiter: per-endpoint weight accounting and Retry-After blocking.
    """

    def __init__(
        self,
        config: MexcConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.config = config
        self.time_offset_ms = 0
        self.limiter = EndpointLimiter()
        self._clock_ms = clock_ms
        self._session = session
        self._own_session = session is None
        self._signer = (
            Signer(config.api_key, config.api_secret, config.recv_window_ms) if config.has_credentials else None
        )
        self._base = config.rest_url.rstrip("/")

    def __repr__(self) -> str:
        return f"MexcRestClient({self._base}, signed={self._signer is not None}, offset_ms={self.time_offset_ms})"

    async def __aenter__(self) -> MexcRestClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client created it; idempotent."""
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._own_session else self._session

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.config.request_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._own_session = True
        return self._session

    # ------------------------------------------------------------------------------------------ transport

    async def _wait_for_limits(self, endpoint: str) -> None:
        now = time.monotonic()
        self.limiter.clear_ban(now)
        delay = self.limiter.delay_s(endpoint, now)
        if delay <= 0:
            return
        if self.limiter.banned:
            raise mexc_error(IpBanned, 418, "IP banned", retry_after_s=delay, now_ms=self._clock_ms())
        if delay > self.config.max_retry_after_s:
            raise mexc_error(RateLimited, 429, f"{endpoint} is rate-limited for {delay:.1f} s", retry_after_s=delay)
        await asyncio.sleep(delay)

    async def request(self, method: str, path: str, params: Params | None = None, *, signed: bool = False) -> Any:
        """Send one request and return the decoded JSON body.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: e.g. ``/api/v3/depth``.
            params: (name, value) pairs in order.
            signed: add recvWindow/timestamp/signature and the API-key header.

        Raises:
            AuthError: a signed call without credentials.
            ExchangeError: the typed error for MEXC's answer (see ``errors``).
        """
        endpoint = f"{method} {path}"
        resynced = retried = False
        while True:
            await self._wait_for_limits(endpoint)
            try:
                return await self._send(method, path, params or [], signed, endpoint)
            except TimestampOutOfWindow:
                if resynced:
                    raise
                resynced = True
                await self.sync_time()
            except RateLimited as exc:
                wait = exc.retry_after_s if exc.retry_after_s is not None else 1.0
                if retried or isinstance(exc, IpBanned) or wait > self.config.max_retry_after_s:
                    raise
                retried = True

    async def _send(self, method: str, path: str, params: Params, signed: bool, endpoint: str) -> Any:
        headers = {"Content-Type": "application/json"}
        if signed:
            if self._signer is None:
                raise mexc_error(AuthError, None, "no API key/secret configured", hint="set api_key and api_secret")
            signed_req = self._signer.sign_query(params, self._clock_ms() + self.time_offset_ms)
            query = signed_req.query
            headers.update(signed_req.headers)
        else:
            query = encode_params(params)
        url = URL(f"{self._base}{path}{'?' + query if query else ''}", encoded=True)
        self.limiter.spend(endpoint, time.monotonic())
        try:
            async with self._get_session().request(method, url, headers=headers) as resp:
                text = await resp.text()
                status, resp_headers = resp.status, dict(resp.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise mexc_error(ExchangeUnavailable, None, f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        if status == 200 and not _is_error_body(body):
            if isinstance(body, str):
                raise mexc_error(ExchangeUnavailable, None, f"{endpoint}: non-JSON 200 body: {body[:120]}", status=200)
            return body
        error = from_response(status, body, resp_headers, now_ms=self._clock_ms())
        if isinstance(error, RateLimited):
            wait = error.retry_after_s if error.retry_after_s is not None else 1.0
            self.limiter.on_retry_after(wait, time.monotonic(), banned=isinstance(error, IpBanned))
        raise error

    # ------------------------------------------------------------------------------------------ public

    async def ping(self) -> None:
        """``GET /api/v3/ping``."""
        await self.request("GET", f"{API}/ping")

    async def server_time(self) -> int:
        """``GET /api/v3/time`` → ``serverTime`` in ms."""
        body = await self.request("GET", f"{API}/time")
        return int(body["serverTime"])

    async def sync_time(self) -> int:
        """Measure server − local clock offset (ms, midpoint of the round trip), store and return it."""
        before = self._clock_ms()
        server = await self.server_time()
        after = self._clock_ms()
        self.time_offset_ms = server - (before + after) // 2
        return self.time_offset_ms

    async def exchange_info(self, symbols: Sequence[str] | None = None) -> dict[str, SymbolRules]:
        """``GET /api/v3/exchangeInfo`` (all, or ``symbols``) → ``{symbol: SymbolRules}``."""
        return parse.exchange_info(await self.exchange_info_raw(symbols))

    async def exchange_info_raw(self, symbols: Sequence[str] | None = None) -> dict[str, Any]:
        """``GET /api/v3/exchangeInfo`` body as sent by MEXC."""
        params: Params = []
        if symbols:
            params = [("symbol", symbols[0])] if len(symbols) == 1 else [("symbols", ",".join(symbols))]
        body: dict[str, Any] = await self.request("GET", f"{API}/exchangeInfo", params)
        return body

    async def depth(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``GET /api/v3/depth`` (limit ≤ 5000; use 1000 to seed the local book) → snapshot (version = lastUpdateId)."""
        body = await self.request("GET", f"{API}/depth", [("symbol", symbol), ("limit", limit)])
        return parse.depth(symbol, body, self._clock_ms() + self.time_offset_ms)

    async def trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``GET /api/v3/trades`` (limit ≤ 1000) → recent trades, oldest first."""
        body = await self.request("GET", f"{API}/trades", [("symbol", symbol), ("limit", limit)])
        return parse.rest_trades(symbol, body)

    async def agg_trades(
        self, symbol: str, limit: int = 500, start_time_ms: int | None = None, end_time_ms: int | None = None
    ) -> list[Trade]:
        """``GET /api/v3/aggTrades`` (start and end time must be given together) → aggregate trades, oldest first."""
        params: Params = [("symbol", symbol), ("limit", limit)]
        if start_time_ms is not None and end_time_ms is not None:
            params += [("startTime", start_time_ms), ("endTime", end_time_ms)]
        body = await self.request("GET", f"{API}/aggTrades", params)
        return sorted((parse.agg_trade(symbol, r) for r in body), key=lambda t: t.time_ms)

    async def klines(
        self,
        symbol: str,
        interval: str = "1m",
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """``GET /api/v3/klines``; ``interval`` as ``1m``/``60m``/``4h``/``1d`` (or ``1h``, ``Min1``) → oldest first."""
        rest_interval = rest_kline_interval(interval)
        params: Params = [("symbol", symbol), ("interval", rest_interval), ("limit", limit)]
        if start_time_ms is not None:
            params.append(("startTime", start_time_ms))
        if end_time_ms is not None:
            params.append(("endTime", end_time_ms))
        body = await self.request("GET", f"{API}/klines", params)
        now = self._clock_ms() + self.time_offset_ms
        return [parse.rest_kline(symbol, rest_interval, row, now) for row in body]

    async def ticker_24h(self, symbol: str) -> Stats24h:
        """``GET /api/v3/ticker/24hr`` for one symbol."""
        return parse.stats_24h(await self.request("GET", f"{API}/ticker/24hr", [("symbol", symbol)]))

    async def ticker_price(self, symbol: str) -> Decimal:
        """``GET /api/v3/ticker/price`` → last price."""
        return parse.price(await self.request("GET", f"{API}/ticker/price", [("symbol", symbol)]))

    async def book_ticker(self, symbol: str) -> Ticker:
        """``GET /api/v3/ticker/bookTicker`` → best bid/ask."""
        body = await self.request("GET", f"{API}/ticker/bookTicker", [("symbol", symbol)])
        return parse.book_ticker(body, self._clock_ms() + self.time_offset_ms)

    # ------------------------------------------------------------------------------------------ trading

    async def place_order(self, request: OrderRequest) -> Order:
        """``POST /api/v3/order``: LIMIT, MARKET (quantity or quoteOrderQty), LIMIT_MAKER, LIMIT+IOC
        (``IMMEDIATE_OR_CANCEL``), LIMIT+FOK (``FILL_OR_KILL``). Always sends ``newClientOrderId`` (generated when
        the request has none), so after an ``ExchangeUnavailable`` the order can be looked up before resending.

        Returns:
            The order as MEXC's short answer gives it (status NEW assumed; query it for fills).
        """
        client_id = request.client_order_id or new_client_order_id()
        body = await self.request("POST", f"{API}/order", order_params(request, client_id), signed=True)
        return parse.order({"clientOrderId": client_id, **body})

    async def test_order(self, request: OrderRequest) -> None:
        """``POST /api/v3/order/test``: validate without placing (answer ``{}``)."""
        client_id = request.client_order_id or new_client_order_id()
        await self.request("POST", f"{API}/order/test", order_params(request, client_id), signed=True)

    async def batch_orders(self, requests: Sequence[OrderRequest]) -> list[Order | ExchangeError]:
        """``POST /api/v3/batchOrders``: up to 20 orders on ONE symbol; one Order or typed error per order, in order.

        Raises:
            BadParameter: 0 or more than 20 orders, or several symbols.
        """
        if not 0 < len(requests) <= MAX_BATCH_ORDERS or len({r.symbol for r in requests}) != 1:
            raise mexc_error(BadParameter, None, f"batchOrders takes 1..{MAX_BATCH_ORDERS} orders of one symbol")
        items = []
        for req in requests:
            item = dict(order_params(req, req.client_order_id or new_client_order_id()))
            items.append(item)
        batch = json.dumps(items, separators=(",", ":"))
        body = await self.request("POST", f"{API}/batchOrders", [("batchOrders", batch)], signed=True)
        return parse.batch_orders(body)

    async def cancel_order(
        self, symbol: str, order_id: str | int | None = None, client_order_id: str | None = None
    ) -> Order:
        """``DELETE /api/v3/order`` by ``orderId`` or ``origClientOrderId`` → the cancelled order."""
        params = order_ref(symbol, order_id, client_order_id)
        return parse.order(await self.request("DELETE", f"{API}/order", params, signed=True))

    async def cancel_open_orders(self, symbol: str) -> list[Order]:
        """``DELETE /api/v3/openOrders`` → every cancelled order on ``symbol``."""
        body = await self.request("DELETE", f"{API}/openOrders", [("symbol", symbol)], signed=True)
        return [parse.order(row) for row in body]

    async def get_order(
        self, symbol: str, order_id: str | int | None = None, client_order_id: str | None = None
    ) -> Order:
        """``GET /api/v3/order`` by ``orderId`` or ``origClientOrderId``."""
        params = order_ref(symbol, order_id, client_order_id)
        return parse.order(await self.request("GET", f"{API}/order", params, signed=True))

    async def open_orders(self, symbol: str) -> list[Order]:
        """``GET /api/v3/openOrders`` on ``symbol``."""
        body = await self.request("GET", f"{API}/openOrders", [("symbol", symbol)], signed=True)
        return [parse.order(row) for row in body]

    async def all_orders(
        self, symbol: str, limit: int = 500, start_time_ms: int | None = None, end_time_ms: int | None = None
    ) -> list[Order]:
        """``GET /api/v3/allOrders`` (last 24 h by default, at most 7 days back) → oldest first."""
        params: Params = [("symbol", symbol), ("limit", limit)]
        if start_time_ms is not None:
            params.append(("startTime", start_time_ms))
        if end_time_ms is not None:
            params.append(("endTime", end_time_ms))
        body = await self.request("GET", f"{API}/allOrders", params, signed=True)
        return sorted((parse.order(row) for row in body), key=lambda o: o.time_ms)

    async def my_trades(
        self,
        symbol: str,
        limit: int = 100,
        order_id: str | int | None = None,
        *,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Fill]:
        """``GET /api/v3/myTrades`` (limit ≤ 100, last month; ``startTime``/``endTime`` in ms, inclusive) → our
        fills, oldest first."""
        params: Params = [("symbol", symbol), ("limit", min(limit, 100))]
        if order_id is not None:
            params.append(("orderId", order_id))
        if start_time_ms is not None:
            params.append(("startTime", start_time_ms))
        if end_time_ms is not None:
            params.append(("endTime", end_time_ms))
        body = await self.request("GET", f"{API}/myTrades", params, signed=True)
        return sorted((parse.my_trade(row) for row in body), key=lambda f: f.time_ms)

    async def account(self) -> dict[str, Any]:
        """``GET /api/v3/account`` body (canTrade, balances[{asset, free, locked}], permissions…)."""
        body: dict[str, Any] = await self.request("GET", f"{API}/account", signed=True)
        return body

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """Balances from ``GET /api/v3/account``."""
        return wire.balances(await self.account(), non_zero)

    # ------------------------------------------------------------------------------------------ user data stream

    async def create_listen_key(self) -> str:
        """``POST /api/v3/userDataStream`` → a listenKey valid 60 min (connect ``ws_url?listenKey=…``)."""
        return parse.listen_key(await self.request("POST", f"{API}/userDataStream", signed=True))

    async def keepalive_listen_key(self, listen_key: str) -> None:
        """``PUT /api/v3/userDataStream``: extend the key by 60 min (MEXC suggests every 30 min)."""
        await self.request("PUT", f"{API}/userDataStream", [("listenKey", listen_key)], signed=True)

    async def close_listen_key(self, listen_key: str) -> None:
        """``DELETE /api/v3/userDataStream``: close the stream and invalidate the key."""
        await self.request("DELETE", f"{API}/userDataStream", [("listenKey", listen_key)], signed=True)
