"""``BybitRestClient``: Bybit V5 REST (spot) on aiohttp — public market data, signed trading and account calls.

Signed calls carry the ``X-BAPI-*`` headers of :mod:`.signing` over the exact query string (GET) or JSON body (POST)
sent. The client tracks the server clock offset (``sync_time``) so the timestamp stays inside the receive window; on
10002 it resyncs once and resends (the request was rejected, so resending is safe). Every answer's
``X-Bapi-Limit-*`` headers feed :class:`~.ratelimit.HeaderLimiter`, so a call waits for its endpoint's reset instead
of drawing a 10006; a 10006 blocks the client until the reset and is retried once when that is at most
``max_retry_after_s``; an HTTP 403 (IP limit) blocks every call for ten minutes.
API doc: https://bybit-exchange.github.io/docs/v5/intro

Errors: every failure is a typed ``errors.ExchangeError``; transport failures and 5xx are ``ExchangeUnavailable``
(outcome unknown for placements: query by ``orderLinkId`` before resending).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from tradingmcp.server.exchanges.bybit import parse
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.bybit.errors import bybit_error, from_response
from tradingmcp.server.exchanges.bybit.params import CATEGORY, order_body, order_ref
from tradingmcp.server.exchanges.bybit.ratelimit import HeaderLimiter
from tradingmcp.server.exchanges.bybit.signing import Signer
from tradingmcp.server.exchanges.errors import (
    AuthError,
    ExchangeUnavailable,
    IpBanned,
    RateLimited,
    TimestampOutOfWindow,
    UnknownOrder,
)
from tradingmcp.server.exchanges.models import (
    Balance,
    Fill,
    Kline,
    Order,
    OrderBookSnapshot,
    OrderRequest,
    SymbolRules,
    Trade,
)
from tradingmcp.server.exchanges.wire import encode_query

MAX_PAGES = 20
"""Most cursor pages one listing call follows."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class BybitRestClient:
    """Async Bybit V5 REST client.

    Args:
        config: URLs, keys, receive window, timeouts.
        clock_ms: local wall clock in ms (tests inject one).

    Attributes:
        time_offset_ms: server time − local time, from the last ``sync_time``.
        limiter: the per-endpoint limits read from the answers.
    """

    def __init__(self, config: BybitConfig, *, clock_ms: Callable[[], int] = _now_ms) -> None:
        self.config = config
        self.time_offset_ms = 0
        self.limiter = HeaderLimiter()
        self._clock_ms = clock_ms
        self._session: aiohttp.ClientSession | None = None
        self._signer = (
            Signer(config.api_key, config.api_secret, config.recv_window_ms) if config.has_credentials else None
        )
        self._base = config.effective_rest_url.rstrip("/")

    def __repr__(self) -> str:
        return f"BybitRestClient({self._base}, signed={self._signer is not None}, offset_ms={self.time_offset_ms})"

    @property
    def signer(self) -> Signer | None:
        """The request signer (None without credentials)."""
        return self._signer

    def server_ms(self) -> int:
        """Estimated server time (ms)."""
        return self._clock_ms() + self.time_offset_ms

    async def close(self) -> None:
        """Close the HTTP session; idempotent."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.request_timeout_s))
        return self._session

    # ------------------------------------------------------------------------------------------ transport

    async def _wait_for_limits(self, endpoint: str) -> None:
        now = self._clock_ms()
        delay_ms = self.limiter.delay_ms(endpoint, now)
        if delay_ms <= 0:
            return
        if self.limiter.banned:
            raise bybit_error(IpBanned, 403, "IP rate limit", retry_after_s=delay_ms / 1000, now_ms=now)
        if delay_ms / 1000 > self.config.max_retry_after_s:
            raise bybit_error(RateLimited, 10006, f"{endpoint} is rate-limited for {delay_ms / 1000:.1f} s",
                              retry_after_s=delay_ms / 1000)  # fmt: skip
        await asyncio.sleep(delay_ms / 1000)

    async def request(
        self, method: str, path: str, params: Mapping[str, Any] | None = None, *, signed: bool = False
    ) -> Any:
        """Send one request and return its ``result``.

        Args:
            method: ``GET`` or ``POST``.
            path: e.g. ``/v5/market/orderbook``.
            params: query parameters (GET, in order) or the JSON body (POST).
            signed: add the ``X-BAPI-*`` headers.

        Raises:
            AuthError: a signed call without credentials.
            ExchangeError: the typed error for Bybit's answer (see ``errors``).
        """
        endpoint = f"{method} {path}"
        resynced = retried = False
        while True:
            await self._wait_for_limits(endpoint)
            try:
                return await self._send(method, path, dict(params or {}), signed, endpoint)
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

    async def _send(self, method: str, path: str, params: dict[str, Any], signed: bool, endpoint: str) -> Any:
        headers = {"Content-Type": "application/json"}
        if method == "GET":
            payload = encode_query([(k, v) for k, v in params.items() if v is not None])
            url = URL(f"{self._base}{path}{'?' + payload if payload else ''}", encoded=True)
            data: str | None = None
        else:
            payload = json.dumps({k: v for k, v in params.items() if v is not None}, separators=(",", ":"))
            url, data = URL(f"{self._base}{path}", encoded=True), payload
        if signed:
            if self._signer is None:
                raise bybit_error(AuthError, None, "no API key/secret configured", hint="set api_key and api_secret")
            headers.update(self._signer.headers(payload, self.server_ms()))
        try:
            async with self._get_session().request(method, url, data=data, headers=headers) as resp:
                text = await resp.text()
                status, resp_headers = resp.status, dict(resp.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise bybit_error(ExchangeUnavailable, None, f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        self.limiter.on_headers(endpoint, resp_headers)
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        if status == 200 and isinstance(body, dict) and body.get("retCode") == 0:
            return body.get("result")
        if status == 200 and not isinstance(body, dict):
            raise bybit_error(
                ExchangeUnavailable, None, f"{endpoint}: non-JSON 200 body: {str(body)[:120]}", status=200
            )
        now = self._clock_ms()
        error = from_response(status, body, resp_headers, now_ms=now)
        if isinstance(error, RateLimited):
            wait = error.retry_after_s if error.retry_after_s is not None else 1.0
            self.limiter.on_limited(now + int(wait * 1000), banned=isinstance(error, IpBanned))
        raise error

    async def _pages(self, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Follow ``nextPageCursor`` until ``limit`` rows or the last page."""
        rows: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            result = await self.request("GET", path, {**params, **({"cursor": cursor} if cursor else {})}, signed=True)
            rows.extend(result.get("list", ()))
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor or len(rows) >= limit:
                break
        return rows[:limit]

    # ------------------------------------------------------------------------------------------ public

    async def server_time(self) -> int:
        """``GET /v5/market/time`` → server time in ms."""
        result = await self.request("GET", "/v5/market/time")
        return int(result["timeNano"]) // 1_000_000

    async def sync_time(self) -> int:
        """Measure server − local clock offset (ms, midpoint of the round trip), store and return it."""
        before = self._clock_ms()
        server = await self.server_time()
        after = self._clock_ms()
        self.time_offset_ms = server - (before + after) // 2
        return self.time_offset_ms

    async def instruments(self) -> dict[str, SymbolRules]:
        """``GET /v5/market/instruments-info?category=spot`` → ``{symbol: SymbolRules}`` (every page)."""
        out: dict[str, SymbolRules] = {}
        cursor = ""
        for _ in range(MAX_PAGES):
            params = {"category": CATEGORY, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            result = await self.request("GET", "/v5/market/instruments-info", params)
            out.update(parse.instruments(result))
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor:
                break
        return out

    async def orderbook(self, symbol: str, limit: int = 50) -> OrderBookSnapshot:
        """``GET /v5/market/orderbook`` (spot limit 1..200)."""
        result = await self.request("GET", "/v5/market/orderbook", {"category": CATEGORY, "symbol": symbol,
                                                                   "limit": max(1, min(limit, 200))})  # fmt: skip
        return parse.orderbook(result)

    async def recent_trades(self, symbol: str, limit: int = 60) -> list[Trade]:
        """``GET /v5/market/recent-trade`` (spot limit 1..60), oldest first."""
        result = await self.request("GET", "/v5/market/recent-trade", {"category": CATEGORY, "symbol": symbol,
                                                                       "limit": max(1, min(limit, 60))})  # fmt: skip
        return parse.recent_trades(symbol, result)

    async def klines(
        self, symbol: str, interval: str, limit: int = 200, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[Kline]:
        """``GET /v5/market/kline`` (``interval`` neutral or Bybit spelling, limit 1..1000), oldest first.

        Raises:
            ValueError: not a Bybit interval.
        """
        bybit = parse.bybit_interval(interval)
        params: dict[str, Any] = {"category": CATEGORY, "symbol": symbol, "interval": bybit,
                                  "limit": max(1, min(limit, 1000))}  # fmt: skip
        if start_ms is not None:
            params["start"] = start_ms
        if end_ms is not None:
            params["end"] = end_ms
        result = await self.request("GET", "/v5/market/kline", params)
        return parse.klines(symbol, bybit, result, self.server_ms())

    async def ticker_row(self, symbol: str) -> dict[str, Any]:
        """``GET /v5/market/tickers`` row of ``symbol``.

        Raises:
            InvalidSymbol: Bybit lists no such symbol.
        """
        result = await self.request("GET", "/v5/market/tickers", {"category": CATEGORY, "symbol": symbol})
        rows = result.get("list") or []
        if not rows:
            raise from_response(200, {"retCode": 170121, "retMsg": f"no ticker for {symbol}"})
        row: dict[str, Any] = rows[0]
        return row

    # ------------------------------------------------------------------------------------------ trading

    async def place_order(self, request: OrderRequest, client_order_id: str) -> Order:
        """``POST /v5/order/create`` → the order as acknowledged (status NEW, nothing executed; read it back for
        fills). Always sends ``orderLinkId`` so an unknown outcome can be looked up."""
        body = order_body(request, client_order_id)
        result = await self.request("POST", "/v5/order/create", body, signed=True)
        now = self.server_ms()
        return parse.order({**body, "orderId": result["orderId"], "orderLinkId": result.get("orderLinkId") or
                            client_order_id, "orderStatus": "New", "createdTime": now, "updatedTime": now})  # fmt: skip

    async def cancel_order(
        self, symbol: str, order_id: str | int | None, client_order_id: str | None
    ) -> dict[str, Any]:
        """``POST /v5/order/cancel`` → ``{orderId, orderLinkId}``."""
        result: dict[str, Any] = await self.request(
            "POST", "/v5/order/cancel", order_ref(symbol, order_id, client_order_id), signed=True
        )
        return result

    async def cancel_all(self, symbol: str | None) -> list[dict[str, Any]]:
        """``POST /v5/order/cancel-all`` (one symbol, or every spot symbol) → ``[{orderId, orderLinkId}]``."""
        body: dict[str, Any] = {"category": CATEGORY, **({"symbol": symbol} if symbol else {})}
        result = await self.request("POST", "/v5/order/cancel-all", body, signed=True)
        return list(result.get("list") or [])

    async def get_order(
        self, symbol: str, order_id: str | int | None = None, client_order_id: str | None = None
    ) -> Order:
        """One order in any state: ``GET /v5/order/realtime`` by ``orderId``/``orderLinkId``, then
        ``/v5/order/history`` (a closed order may have left ``realtime``).

        Raises:
            UnknownOrder: neither lists it (170213).
        """
        params = order_ref(symbol, order_id, client_order_id)
        for path in ("/v5/order/realtime", "/v5/order/history"):
            result = await self.request("GET", path, params, signed=True)
            rows = result.get("list") or []
            if rows:
                return parse.order(rows[0])
        raise bybit_error(UnknownOrder, 170213, f"Order does not exist. ({client_order_id or order_id})")

    async def open_orders(self, symbol: str | None) -> list[Order]:
        """``GET /v5/order/realtime`` without an id: open orders (all pages; Bybit lists newest first), oldest first."""
        params: dict[str, Any] = {"category": CATEGORY, "limit": 50, **({"symbol": symbol} if symbol else {})}
        rows = await self._pages("/v5/order/realtime", params, 10_000)
        return sorted((parse.order(r) for r in reversed(rows)), key=lambda o: o.time_ms)

    async def order_history(self, symbol: str, limit: int) -> list[Order]:
        """``GET /v5/order/history`` (all states), oldest first."""
        rows = await self._pages("/v5/order/history", {"category": CATEGORY, "symbol": symbol, "limit": 50}, limit)
        return sorted((parse.order(r) for r in reversed(rows)), key=lambda o: o.time_ms)

    async def executions(
        self,
        symbol: str,
        limit: int,
        order_id: str | int | None = None,
        *,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Fill]:
        """``GET /v5/execution/list`` (``startTime``/``endTime`` in ms, at most 7 days apart), oldest first."""
        params: dict[str, Any] = {"category": CATEGORY, "symbol": symbol, "limit": 100}
        if order_id is not None:
            params["orderId"] = str(order_id)
        if start_time_ms is not None:
            params["startTime"] = start_time_ms
        if end_time_ms is not None:
            params["endTime"] = end_time_ms
        rows = await self._pages("/v5/execution/list", params, limit)
        return sorted((parse.fill(r) for r in reversed(rows)), key=lambda f: f.time_ms)

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED`` → balances."""
        result = await self.request("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, signed=True)
        return parse.balances(result, non_zero)
