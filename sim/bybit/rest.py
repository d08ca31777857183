"""The Bybit face's REST routes: ``/v5/*`` with Bybit's signature rules, envelopes, error codes and limits (aiohttp
shell).

Follows https://bybit-exchange.github.io/docs/v5/guide and /v5/rate-limit:

* signed endpoints are checked by :func:`tradingmcp.sim.bybit.signing.verify` (headers ``X-BAPI-*``; payload = the
  raw query for GET, the raw JSON body for POST);
* every answer is ``{"retCode", "retMsg", "result", "retExtInfo", "time"}``, errors mostly with HTTP 200; an unknown
  path is HTTP 404;
* each (API key, endpoint) has a per-second limit; every signed answer carries ``X-Bapi-Limit-Status`` (remaining),
  ``X-Bapi-Limit`` and ``X-Bapi-Limit-Reset-Timestamp`` (ms); over it → retCode 10006 "Too many visits!".

Tests steer it with ``faults`` (``{"POST /order/create": ["503_before" | "503_after" | "hang_after"]}``: an HTTP 503
before or after the engine acted, or an answer held ``hang_s``) and read ``calls`` (method, path, params).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tradingmcp.sim.bybit import signing, wire
from tradingmcp.sim.bybit.orders import BybitTrading
from tradingmcp.sim.bybit.public import PUBLIC, MarketView
from tradingmcp.sim.bybit.wire import BybitError, envelope

__all__ = ["RestState", "SecondWindow", "make_rest_routes"]

log = logging.getLogger(__name__)

LIMITS_PER_S: dict[str, int] = {
    "POST /order/create": 20, "POST /order/cancel": 20, "POST /order/cancel-all": 20, "GET /order/realtime": 50,
    "GET /order/history": 50, "GET /execution/list": 50, "GET /account/wallet-balance": 50,
}  # fmt: skip
"""Per-second limits per UID of the signed endpoints (Bybit's spot defaults)."""


class SecondWindow:
    """Requests per (API key, endpoint) in a sliding one-second window (sans-I/O; times in ms)."""

    def __init__(self, limits: Mapping[str, int], scale: float = 1.0) -> None:
        self.limits = {k: max(1, int(v * scale)) for k, v in limits.items()}
        self._seen: dict[tuple[str, str], deque[int]] = {}

    def charge(self, key: str, endpoint: str, now_ms: int) -> tuple[bool, int, int, int]:
        """Count one request → (allowed, remaining, limit, reset time in ms)."""
        limit = self.limits.get(endpoint, 50)
        seen = self._seen.setdefault((key, endpoint), deque())
        while seen and now_ms - seen[0] >= 1000:
            seen.popleft()
        if len(seen) >= limit:
            return False, 0, limit, seen[0] + 1000
        seen.append(now_ms)
        return True, limit - len(seen), limit, now_ms


@dataclass
class RestState:
    """What the routes use (built by :class:`~tradingmcp.sim.bybit.face.BybitFace`)."""

    view: MarketView
    trading: BybitTrading
    api_keys: Mapping[str, str]
    on_engine_events: Callable[[], None]
    limiter: SecondWindow
    hang_s: float = 1.0
    faults: dict[str, list[str]] = field(default_factory=dict)
    calls: deque[tuple[str, str, dict[str, str]]] = field(default_factory=lambda: deque(maxlen=10_000))


SIGNED: dict[tuple[str, str], Callable[[BybitTrading, str, Mapping[str, str]], Any]] = {
    ("POST", "order/create"): lambda t, k, p: t.create(k, p),
    ("POST", "order/cancel"): lambda t, k, p: t.cancel(k, p),
    ("POST", "order/cancel-all"): lambda t, k, p: t.cancel_all(k, p),
    ("GET", "order/realtime"): lambda t, k, p: t.realtime(k, p),
    ("GET", "order/history"): lambda t, k, p: t.history(k, p),
    ("GET", "execution/list"): lambda t, k, p: t.executions(k, p),
    ("GET", "account/wallet-balance"): lambda t, k, p: t.wallet(k, p),
    ("GET", "asset/coin/query-info"): lambda t, k, p: t.coins(k, p),
    ("GET", "user/query-api"): lambda t, k, p: t.api_key_info(k, p),
    ("GET", "account/info"): lambda t, k, p: t.account_info(k, p),
}
"""(method, endpoint under /v5) → handler(trading, api_key, params)."""


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def _body_params(body: str) -> dict[str, str]:
    if not body:
        return {}
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise wire.params_error("the body is not JSON") from None
    if not isinstance(obj, dict):
        raise wire.params_error("the body must be a JSON object")
    return {str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in obj.items()
            if v is not None}  # fmt: skip


def make_rest_routes(app: web.Application, state: RestState) -> None:
    """Add ``/v5/{endpoint}`` to ``app``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["endpoint"].strip("/")
        method = request.method
        name = f"{method} /{endpoint}"
        now = state.view.server_ms()
        try:
            if method == "GET" and endpoint in PUBLIC:
                params = dict(request.query)
                state.calls.append((method, "/" + endpoint, params))
                return _json(envelope(PUBLIC[endpoint](state.view, params), now))
            handler = SIGNED.get((method, endpoint))
            if handler is None:
                return _json({"retCode": 404, "retMsg": f"Not Found: {method} /v5/{endpoint}"}, 404)
            payload = request.rel_url.raw_query_string if method == "GET" else await request.text()
            api_key = signing.verify(request.headers, state.api_keys, payload, now)
            params = dict(request.query) if method == "GET" else _body_params(payload)
            allowed, remaining, limit, reset = state.limiter.charge(api_key, name, int(time.time() * 1000))
            headers = {"X-Bapi-Limit-Status": str(remaining), "X-Bapi-Limit": str(limit),
                       "X-Bapi-Limit-Reset-Timestamp": str(reset)}  # fmt: skip
            if not allowed:
                return _json(envelope({}, now, wire.TOO_MANY_VISITS, "Too many visits!"), headers=headers)
            state.calls.append((method, "/" + endpoint, params))
            faults = state.faults.get(name)
            fault = faults.pop(0) if faults else None
            if fault == "503_before":
                return _json({"retCode": wire.SERVER_ERROR, "retMsg": "Server error"}, 503)
            try:
                result = handler(state.trading, api_key, params)
            finally:
                state.on_engine_events()
            if fault == "503_after":
                return _json({"retCode": wire.SERVER_ERROR, "retMsg": "Server error"}, 503)
            if fault == "hang_after":
                await asyncio.sleep(state.hang_s)
            return _json(envelope(result, state.view.server_ms()), headers=headers)
        except BybitError as exc:
            return _json(envelope({}, now, exc.code, exc.msg), exc.status)
        except Exception:  # a simulator bug: answer like Bybit's 5xx (outcome unknown), keep serving
            log.exception("internal error on %s /v5/%s", method, endpoint)
            return _json({"retCode": wire.SERVER_ERROR, "retMsg": "Internal error"}, 500)

    app.router.add_route("*", "/v5/{endpoint:.+}", handle)
