"""The MEXC face's REST routes: ``/api/v3/*`` with MEXC's signature rules, error bodies and limits (aiohttp shell).

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#general-info:

* signed endpoints need ``X-MEXC-APIKEY`` (missing → 700001, unknown key → 10072) and ``signature`` = lowercase
  HMAC-SHA256 hex of query string + body (700002 when wrong), ``timestamp`` within ``recvWindow`` (700003; a
  recvWindow above 60000 → 700005) — checked by :func:`tradingmcp.sim.mexc.signing.verify`;
* errors are ``{"code": <int>, "msg": "..."}`` with HTTP 400 (404 for an unknown path);
* each endpoint allows ``max_requests_per_10s`` per IP (MEXC: 500 per 10 s); over it → 429 + ``Retry-After`` (s);
* ``/api/v3/userDataStream`` POST/PUT/DELETE/GET manage listenKeys (valid 60 min, extended by PUT);
* ``GET /api/v1/contract/detail`` answers ``{"success": true, "code": 0, "data": []}`` (ccxt's fetchMarkets asks);
* ``GET /api/v3/capital/config/getall`` (signed) lists the served assets with deposits and withdrawals disabled
  (ccxt's fetchCurrencies, which its loadMarkets runs, asks); ``GET /api/v3/tradeFee`` (signed) gives the commission
  rates of a symbol;
* any other path: 404 with ``{"code": 404, "msg": "Not Found: METHOD PATH"}``.

Tests steer it with ``faults`` (``{"POST /order": ["503_before" | "503_after" | "hang_after"]}``) and read ``calls``
(method, path, params without the signature).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tradingmcp.sim.mexc import signing
from tradingmcp.sim.mexc.orders import MexcTrading
from tradingmcp.sim.mexc.public import PUBLIC, MarketView
from tradingmcp.sim.mexc.wire import MexcError, listen_key_unknown, parameter_error

__all__ = ["ListenKeys", "RestState", "make_rest_routes"]

log = logging.getLogger(__name__)

LISTEN_KEY_TTL_MS = 60 * 60 * 1000
"""A listenKey lives 60 min after its creation or last keepalive."""


class ListenKeys:
    """listenKeys per account (sans-I/O; times in ms)."""

    def __init__(self, ttl_ms: int = LISTEN_KEY_TTL_MS) -> None:
        self.ttl_ms = ttl_ms
        self._keys: dict[str, tuple[str, int]] = {}

    def create(self, api_key: str, now_ms: int) -> str:
        """A new key for ``api_key``."""
        key = secrets.token_hex(32)
        self._keys[key] = (api_key, now_ms + self.ttl_ms)
        return key

    def owner(self, listen_key: str, now_ms: int | None = None) -> str | None:
        """The account of a live key, else None (expired keys are forgotten)."""
        found = self._keys.get(listen_key)
        now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        if found is None:
            return None
        if found[1] < now:
            del self._keys[listen_key]
            return None
        return found[0]

    def keepalive(self, api_key: str, listen_key: str, now_ms: int) -> None:
        """Extend a key by the TTL. Raises MexcError 730706 when unknown or not the caller's."""
        if self.owner(listen_key, now_ms) != api_key:
            raise listen_key_unknown()
        self._keys[listen_key] = (api_key, now_ms + self.ttl_ms)

    def delete(self, api_key: str, listen_key: str) -> None:
        """Close a key. Raises MexcError 730706 when unknown or not the caller's."""
        if self._keys.get(listen_key, ("", 0))[0] != api_key:
            raise listen_key_unknown()
        del self._keys[listen_key]

    def of(self, api_key: str) -> list[str]:
        """The caller's keys."""
        return [k for k, (owner, _) in self._keys.items() if owner == api_key]

    def forget_all(self) -> None:
        """Expire every key (tests: MEXC lost them)."""
        self._keys.clear()


class EndpointWindow:
    """Requests per (IP, endpoint) in a sliding 10 s window."""

    def __init__(self, limit: int, window_s: float = 10.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def charge(self, ip: str, endpoint: str, now: float) -> float:
        """Count one request; returns 0 when allowed, else the seconds until the window has room."""
        seen = self._seen.setdefault((ip, endpoint), deque())
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            return self.window_s - (now - seen[0])
        seen.append(now)
        return 0.0


@dataclass
class RestState:
    """What the routes use (built by :class:`~tradingmcp.sim.mexc.face.MexcFace`)."""

    view: MarketView
    trading: MexcTrading
    api_keys: Mapping[str, str]
    listen_keys: ListenKeys
    on_engine_events: Callable[[], None]
    limiter: EndpointWindow
    hang_s: float = 1.0
    faults: dict[str, list[str]] = field(default_factory=dict)
    calls: deque[tuple[str, str, dict[str, str]]] = field(default_factory=lambda: deque(maxlen=10_000))


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def _user_data_stream(state: RestState, method: str, api_key: str, p: Mapping[str, str]) -> Any:
    now = state.view.server_ms()
    if method == "POST":
        return {"listenKey": state.listen_keys.create(api_key, now)}
    if method == "GET":
        return {"listenKey": state.listen_keys.of(api_key)}
    key = p.get("listenKey")
    if not key:
        raise parameter_error("listenKey is mandatory")
    if method == "PUT":
        state.listen_keys.keepalive(api_key, key, now)
    else:
        state.listen_keys.delete(api_key, key)
    return {"listenKey": key}


def _capital_config(state: RestState) -> Any:
    """``GET /api/v3/capital/config/getall``: every asset of the served symbols, one network each; the simulator takes
    no deposits and makes no withdrawals, so each network says so."""
    assets: dict[str, None] = {}
    for entry in state.view.entries.values():
        assets[entry["baseAsset"]] = assets[entry["quoteAsset"]] = None
    return [
        {
            "coin": asset, "Name": asset,
            "networkList": [{
                "coin": asset, "Name": asset, "network": asset, "netWork": asset, "depositEnable": False,
                "withdrawEnable": False, "depositDesc": "simulator: no deposits", "withdrawTips": None,
                "depositTips": None, "minConfirm": 1, "withdrawFee": "0", "withdrawIntegerMultiple": None,
                "withdrawMax": "0", "withdrawMin": "0", "sameAddress": False, "contract": "",
            }],
        }
        for asset in assets
    ]  # fmt: skip


def _trade_fee(state: RestState, p: Mapping[str, str]) -> Any:
    """``GET /api/v3/tradeFee``: the account's commission rates on ``symbol`` (fractions, as numbers)."""
    state.view.market(p)  # 33333 without a symbol, 10007 for one not served
    engine = state.view.engine
    return {
        "data": {"makerCommission": float(engine.maker_fee), "takerCommission": float(engine.taker_fee)},
        "code": 0, "msg": "success", "timestamp": state.view.server_ms(),
    }  # fmt: skip


SIGNED: dict[tuple[str, str], Callable[[RestState, str, Mapping[str, str]], Any]] = {
    ("POST", "order"): lambda s, k, p: s.trading.place(k, p),
    ("POST", "order/test"): lambda s, k, p: s.trading.place(k, p, test=True),
    ("GET", "order"): lambda s, k, p: s.trading.get(k, p),
    ("DELETE", "order"): lambda s, k, p: s.trading.cancel(k, p),
    ("GET", "openOrders"): lambda s, k, p: s.trading.open_orders(k, p),
    ("DELETE", "openOrders"): lambda s, k, p: s.trading.cancel_open(k, p),
    ("GET", "allOrders"): lambda s, k, p: s.trading.all_orders(k, p),
    ("GET", "myTrades"): lambda s, k, p: s.trading.my_trades(k, p),
    ("GET", "account"): lambda s, k, p: s.trading.account(k),
    ("POST", "batchOrders"): lambda s, k, p: s.trading.batch(k, p),
    ("POST", "userDataStream"): lambda s, k, p: _user_data_stream(s, "POST", k, p),
    ("PUT", "userDataStream"): lambda s, k, p: _user_data_stream(s, "PUT", k, p),
    ("DELETE", "userDataStream"): lambda s, k, p: _user_data_stream(s, "DELETE", k, p),
    ("GET", "userDataStream"): lambda s, k, p: _user_data_stream(s, "GET", k, p),
    ("GET", "capital/config/getall"): lambda s, k, p: _capital_config(s),
    ("GET", "tradeFee"): lambda s, k, p: _trade_fee(s, p),
}  # fmt: skip
"""(method, endpoint under /api/v3) → handler(state, api_key, params)."""


def _verify(state: RestState, request: web.Request, query: str, body: str) -> tuple[str, dict[str, str]]:
    api_key = request.headers.get(signing.API_KEY_HEADER)
    return signing.verify(api_key, state.api_keys, query, body, state.view.server_ms())


def make_rest_routes(app: web.Application, state: RestState) -> None:
    """Add ``/api/v3/{endpoint}``, ``/api/v1/contract/detail`` and the catch-all of unknown paths to ``app`` (after
    its other routes: the catch-all answers whatever is not routed before it)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["endpoint"].strip("/")
        method = request.method
        name = f"{method} /{endpoint}"
        query = request.rel_url.raw_query_string
        body = (await request.text()) if request.can_read_body else ""
        wait_s = state.limiter.charge(request.remote or "127.0.0.1", name, time.monotonic())
        if wait_s > 0:
            return _json({"code": 429, "msg": "Too Many Requests"}, 429, {"Retry-After": str(max(1, round(wait_s)))})
        try:
            if method == "GET" and endpoint in PUBLIC:
                params = dict(request.query)
                state.calls.append((method, "/" + endpoint, params))
                return _json(PUBLIC[endpoint](state.view, params))
            handler = SIGNED.get((method, endpoint))
            if handler is None:
                return _json({"code": 404, "msg": f"Not Found: {method} /api/v3/{endpoint}"}, 404)
            api_key, params = _verify(state, request, query, body)
            params.pop("signature", None)
            state.calls.append((method, "/" + endpoint, params))
            faults = state.faults.get(name)
            fault = faults.pop(0) if faults else None
            if fault == "503_before":
                return _json({"code": 503, "msg": "service busy"}, 503)
            try:
                answer = handler(state, api_key, params)
            finally:
                state.on_engine_events()
            if fault == "503_after":
                return _json({"code": 503, "msg": "service busy"}, 503)
            if fault == "hang_after":
                await asyncio.sleep(state.hang_s)
            return _json(answer)
        except MexcError as exc:
            return _json(exc.body(), exc.status)
        except Exception:  # a simulator bug: answer like MEXC's 5xx (outcome unknown), keep serving
            log.exception("internal error on %s /api/v3/%s", method, endpoint)
            return _json({"code": 500, "msg": "Internal error"}, 500)

    async def contract_detail(request: web.Request) -> web.StreamResponse:
        return _json({"success": True, "code": 0, "data": []})

    async def unknown(request: web.Request) -> web.StreamResponse:
        return _json({"code": 404, "msg": f"Not Found: {request.method} {request.path}"}, 404)

    app.router.add_route("*", "/api/v3/{endpoint:.+}", handle)
    app.router.add_get("/api/v1/contract/detail", contract_detail)
    app.router.add_route("*", "/{tail:.*}", unknown)
