"""The simulator's WebSocket API: ``/ws-api/v3`` (JSON requests, user data stream subscriptions).

Follows https://developers.binance.com/docs/binance-spot-api-docs/websocket-api:

- request ``{"id", "method", "params"}`` → ``{"id", "status": 200, "result": ..., "rateLimits": [...]}``, or
  ``{"id", "status": 4xx, "error": {"code", "msg"[, "data"]}, "rateLimits": [...]}``; 429/418 errors carry
  ``data.retryAfter`` (epoch ms) and ``data.serverTime``.
- signed methods carry ``apiKey``, ``timestamp``, ``signature`` (HMAC over the other params sorted by name, see
  :mod:`tradingmcp.server.sim.signing`).
- ``userDataStream.subscribe.signature`` → ``{"subscriptionId": N}``; events then arrive on the same connection as
  ``{"subscriptionId": N, "event": {...}}``; ``userDataStream.unsubscribe`` (one ``subscriptionId`` or all);
  ``session.subscriptions`` lists them.
- connecting costs 2 request weight; requests share the IP's REST weight budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tradingmcp.server.sim.errors import BinanceError, mandatory_param, subscription_active
from tradingmcp.server.sim.outbox import FrameOutbox
from tradingmcp.server.sim.rest import UNKNOWN_ERROR, SimState, run_public, run_signed
from tradingmcp.server.sim.signing import verify_ws
from tradingmcp.server.sim.weights import RateLimitedError, ws_weight

__all__ = ["UserStreamRouter", "WsApiSession", "make_ws_api_handler"]

log = logging.getLogger(__name__)

# method -> public REST endpoint (params pass through)
_PUBLIC = {
    "ping": "ping",
    "time": "time",
    "exchangeInfo": "exchangeInfo",
    "depth": "depth",
    "trades.recent": "trades",
    "trades.historical": "historicalTrades",
    "trades.aggregate": "aggTrades",
    "klines": "klines",
    "avgPrice": "avgPrice",
    "ticker.24hr": "ticker/24hr",
    "ticker.price": "ticker/price",
    "ticker.book": "ticker/bookTicker",
}
# method -> (REST method, endpoint) of the signed engine call; orders counted
_SIGNED = {
    "order.place": ("POST", "order", 1),
    "order.test": ("POST", "order/test", 0),
    "order.status": ("GET", "order", 0),
    "order.cancel": ("DELETE", "order", 0),
    "order.cancelReplace": ("POST", "order/cancelReplace", 1),
    "orderList.place.oco": ("POST", "orderList/oco", 2),
    "orderList.cancel": ("DELETE", "orderList", 0),
    "openOrders.status": ("GET", "openOrders", 0),
    "openOrders.cancelAll": ("DELETE", "openOrders", 0),
    "allOrders": ("GET", "allOrders", 0),
    "myTrades": ("GET", "myTrades", 0),
    "account.status": ("GET", "account", 0),
}
_AUTH = {"apiKey", "signature"}


def _as_str(value: Any) -> str:
    """A JSON param value as the string Binance would parse (floats without exponent, booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


class WsApiSession:
    """One WS API connection: its outbox (replies and events, see :class:`FrameOutbox`) and its user data
    subscriptions (``subscriptionId -> api_key``).

    Args:
        ws: the prepared websocket.
        ip: the peer address (rate limits).
        queue_frames: the outbox limit (frames handed over in one loop turn plus frames queued).
        transport: the connection's transport (``request.transport``); None sends every frame through the
            outbox's writer task.
    """

    def __init__(self, ws: web.WebSocketResponse, ip: str, queue_frames: int, transport: object | None = None) -> None:
        self.ws = ws
        self.ip = ip
        self.outbox = FrameOutbox(ws, queue_frames)
        self.outbox.start(transport)
        self.subscriptions: dict[int, str] = {}
        self.next_subscription_id = 0
        self.dropped = False


class UserStreamRouter:
    """Routes ``engine.drain_events()`` to the WS API sessions subscribed to each account."""

    def __init__(self) -> None:
        self._sessions: set[WsApiSession] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, session: WsApiSession) -> None:
        """Track a connected session."""
        self._sessions.add(session)

    def remove(self, session: WsApiSession) -> None:
        """Forget a closed session."""
        self._sessions.discard(session)

    def dispatch(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Send each ``(api_key, event)`` to every subscription of that key (serialized once per event)."""
        if not events or not self._sessions:
            return
        for api_key, event in events:
            raw: bytes | None = None
            for session in list(self._sessions):
                for sub_id, key in session.subscriptions.items():
                    if key != api_key:
                        continue
                    if raw is None:
                        raw = orjson.dumps(event)
                    frame = b'{"subscriptionId":' + str(sub_id).encode() + b',"event":' + raw + b"}"
                    if not session.outbox.put(frame):
                        self._drop(session)
                        break

    def _drop(self, session: WsApiSession) -> None:
        if session.dropped:
            return
        session.dropped = True
        session.subscriptions.clear()
        log.warning("dropping WS API session from %s: slow consumer (user event queue full)", session.ip)
        task = asyncio.get_running_loop().create_task(session.ws.close(code=1008, message=b"slow consumer"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self) -> None:
        """Close every session."""
        for session in list(self._sessions):
            await session.ws.close(code=1001, message=b"server shutdown")
        await asyncio.gather(*self._tasks, return_exceptions=True)


def handle_request(state: SimState, session: WsApiSession, msg: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one WS API request (sans-I/O apart from the state it drives)."""
    req_id = msg.get("id")
    method = msg.get("method")
    params_raw = msg.get("params") or {}
    now = state.server_ms()
    api_key: str | None = None
    try:
        if not isinstance(method, str):
            raise mandatory_param("method")
        if not isinstance(params_raw, dict):
            raise BinanceError(-1135, "Invalid 'params' in JSON request; expected an object.")
        state.limiter.charge(session.ip, ws_weight(method, params_raw), now)
        params = {k: v if v.__class__ is str else _as_str(v) for k, v in params_raw.items()}
        if method in _PUBLIC:
            result = run_public(state, _PUBLIC[method], params)
        elif method in _SIGNED:
            api_key = verify_ws(params_raw, state.api_keys, now)
            rest_method, endpoint, orders = _SIGNED[method]
            for _ in range(orders):
                state.limiter.count_order(api_key, now)
            engine_params = {k: v for k, v in params.items() if k not in _AUTH}
            placing = method == "order.place"  # the REST faults (state.faults) apply to WS API placements too
            if placing and state.faults.fail_orders_unplaced > 0:
                state.faults.fail_orders_unplaced -= 1
                return {"id": req_id, "status": 503, "error": dict(UNKNOWN_ERROR),
                        "rateLimits": _limits(state, session, api_key, now)}  # fmt: skip
            result = run_signed(state, rest_method, endpoint, api_key, engine_params)
            if placing and state.faults.lose_order_replies > 0:
                state.faults.lose_order_replies -= 1
                return {"id": req_id, "status": 503, "error": dict(UNKNOWN_ERROR),
                        "rateLimits": _limits(state, session, api_key, now)}  # fmt: skip
        elif method == "userDataStream.subscribe.signature":
            api_key = verify_ws(params_raw, state.api_keys, now)
            if api_key in session.subscriptions.values():
                raise subscription_active()
            sub_id = session.next_subscription_id
            session.next_subscription_id += 1
            session.subscriptions[sub_id] = api_key
            result = {"subscriptionId": sub_id}
        elif method == "userDataStream.unsubscribe":
            if "subscriptionId" in params:
                try:
                    sub = int(params["subscriptionId"])
                except ValueError:
                    raise mandatory_param("subscriptionId") from None
                if session.subscriptions.pop(sub, None) is None:
                    raise BinanceError(-2036, "Subscription not active.")
            else:
                session.subscriptions.clear()
            result = {}
        elif method == "session.subscriptions":
            result = [{"subscriptionId": s} for s in session.subscriptions]
        else:
            raise BinanceError(-1020, "Unsupported operation.")
        return {"id": req_id, "status": 200, "result": result, "rateLimits": _limits(state, session, api_key, now)}
    except RateLimitedError as exc:
        error = exc.body() | {"data": {"serverTime": now, "retryAfter": exc.until_ms}}
        return {
            "id": req_id,
            "status": exc.http_status,
            "error": error,
            "rateLimits": _limits(state, session, None, now),
        }
    except BinanceError as exc:
        return {"id": req_id, "status": exc.http_status, "error": exc.body(),
                "rateLimits": _limits(state, session, api_key, now)}  # fmt: skip
    except Exception:  # a simulator bug: a 5xx-style answer, the session stays up
        log.exception("internal error in WS API method %r", method)
        return {
            "id": req_id,
            "status": 500,
            "error": dict(UNKNOWN_ERROR),
            "rateLimits": _limits(state, session, None, now),
        }


def _limits(state: SimState, session: WsApiSession, api_key: str | None, now: int) -> list[dict[str, Any]]:
    return state.limiter.rate_limits(session.ip, api_key, now)


def make_ws_api_handler(
    state: SimState, router: UserStreamRouter, ping_interval_s: float = 20.0, queue_frames: int = 10_000
) -> Callable[[web.Request], Any]:
    """The aiohttp handler for ``/ws-api/v3``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ip = request.remote or "127.0.0.1"
        try:
            state.limiter.charge(ip, 2, state.server_ms())
        except RateLimitedError as exc:
            return web.json_response(
                exc.body(), status=exc.http_status, headers={"Retry-After": str(exc.retry_after_s)}
            )
        ws = web.WebSocketResponse(heartbeat=ping_interval_s, autoping=True)
        await ws.prepare(request)
        session = WsApiSession(ws, ip, queue_frames, request.transport)
        router.add(session)
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    req = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    req = None
                if not isinstance(req, dict):
                    reply: dict[str, Any] = {"id": None, "status": 400,
                                             "error": {"code": -1000, "msg": "Malformed request: expected a JSON object."}}  # fmt: skip
                else:
                    reply = handle_request(state, session, req)
                # the requester's reply goes out first, then the user events fan out (to it and to everyone else)
                if not session.outbox.put(orjson.dumps(reply)):
                    break
                state.on_engine_events()
        finally:
            router.remove(session)
            await session.outbox.aclose()
        return ws

    return handler
