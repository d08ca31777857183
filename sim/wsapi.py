"""The simulator's WebSocket API: ``/ws-api/v3`` (JSON requests, user data stream subscriptions).

Follows https://developers.binance.com/docs/binance-spot-api-docs/websocket-api:

- request ``{"id", "method", "params"}`` → ``{"id", "status": 200, "result": ..., "rateLimits": [...]}``, or
  ``{"id", "status": 4xx, "error": {"code", "msg"[, "data"]}, "rateLimits": [...]}``; 429/418 errors carry
  ``data.retryAfter`` (epoch ms) and ``data.serverTime``.
- signed methods carry ``apiKey``, ``timestamp``, ``signature`` (HMAC over the other params sorted by name, see
  :mod:`tradingmcp.sim.signing`).
- ``userDataStream.subscribe.signature`` → ``{"subscriptionId": N}``; events then arrive on the same connection as
  ``{"subscriptionId": N, "event": {...}}``; ``userDataStream.unsubscribe`` (one ``subscriptionId`` or all);
  ``session.subscriptions`` lists them.
- connecting costs 2 request weight; requests share the IP's REST weight budget. A connection refused by the limiter
  gets one error frame (status 429/418 with ``data.retryAfter``) and is closed with 1013 TRY_AGAIN_LATER (the
  upgrade request does not carry the peer address, so the charge happens once the connection is open).

The wire is :mod:`tradingmcp.transport.ws` (picows by default). Each request is answered synchronously inside its frame
callback (no task per frame): the reply is written first, then the user events it caused fan out (to this connection
and every other subscribed one). A connection whose transport holds more than ``queue_bytes`` unsent bytes (it reads
slower than its replies and events are produced) is closed with 1008 POLICY_VIOLATION.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from tradingmcp.sim.errors import BinanceError, mandatory_param, subscription_active
from tradingmcp.sim.rest import UNKNOWN_ERROR, SimState, run_public, run_signed
from tradingmcp.sim.signing import verify_ws
from tradingmcp.sim.weights import RateLimitedError, ws_weight
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.ws import Accept, Connection, HttpResponse, TextData, UpgradeRequest

__all__ = ["WS_API_PATH", "UserStreamRouter", "WsApiSession", "engine_params", "handle_request", "rest_params"]

log = logging.getLogger(__name__)

WS_API_PATH = "/ws-api/v3"
_MALFORMED = {"id": None, "status": 400, "error": {"code": -1000, "msg": "Malformed request: expected a JSON object."}}

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


def _as_str(value: Any) -> str:
    """A JSON param value as the string Binance would parse (floats without exponent, booleans lower-case)."""
    if value.__class__ is int:  # timestamps, recvWindow, ids: the common case
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


def rest_params(params_raw: Mapping[str, Any]) -> dict[str, str]:
    """A WS API request's JSON ``params`` as the ``str -> str`` params the REST face parses (values as Binance would
    read them: see :func:`_as_str`), in the order sent."""
    return {k: v if v.__class__ is str else _as_str(v) for k, v in params_raw.items()}


def engine_params(params_raw: dict[str, Any]) -> dict[str, str]:
    """A signed request's params as the engine sees them: :func:`rest_params` without the auth params (``apiKey``,
    ``signature``), in the order sent; ``params_raw`` itself is left as it was."""
    params = params_raw.copy()
    params.pop("apiKey", None)
    params.pop("signature", None)
    for k, v in params.items():  # values replaced in place: the keys (and their order) stay
        if v.__class__ is not str:
            params[k] = _as_str(v)
    return params


def _host(remote: str) -> str:
    """The host of :attr:`Connection.remote` (``"127.0.0.1:54321"``, ``"::1:54321"``); ``127.0.0.1`` when unknown
    (the REST face's fallback)."""
    host = remote.rpartition(":")[0].strip("[]")
    return host or "127.0.0.1"


class WsApiSession:
    """One WS API connection (a :class:`~tradingmcp.transport.ws.FrameHandler`): its user data subscriptions
    (``subscriptionId -> api_key``) and the writes of its replies and events.

    Args:
        state: what the REST and WS API faces share.
        router: the user event fan-out this session joins once open.
        queue_bytes: unsent bytes the connection's transport may hold before it is closed as too slow (1008).

    Attributes:
        ip: the peer's host (rate limits), known once open.
        conn: the live connection (None until open).
        dropped: closed by the simulator (slow consumer, refused connect, shutdown).
    """

    __slots__ = ("conn", "dropped", "ip", "next_subscription_id", "queue_bytes", "router", "state", "subscriptions")

    def __init__(self, state: SimState, router: UserStreamRouter, queue_bytes: int) -> None:
        self.state = state
        self.router = router
        self.queue_bytes = queue_bytes
        self.ip = "127.0.0.1"
        self.conn: Connection | None = None
        self.subscriptions: dict[int, str] = {}
        self.next_subscription_id = 0
        self.dropped = False

    def __repr__(self) -> str:
        return f"WsApiSession({self.ip}, subscriptions={len(self.subscriptions)}, dropped={self.dropped})"

    def send(self, frame: bytes) -> bool:
        """Write one text frame; False (and the connection closed with 1008) when it is over ``queue_bytes``."""
        conn = self.conn
        if conn is None or self.dropped:
            return False
        conn.send_text(frame)
        if conn.write_buffer_size() > self.queue_bytes:
            self.drop(CloseCode.POLICY_VIOLATION, "slow consumer")
            return False
        return True

    def drop(self, code: CloseCode, reason: str) -> None:
        """Close the connection from the simulator's side (its subscriptions end at once)."""
        if self.dropped:
            return
        self.dropped = True
        self.subscriptions.clear()
        if code != CloseCode.GOING_AWAY:
            log.warning("dropping WS API session %r: %s", self, reason)
        if self.conn is not None:
            self.conn.close(code, reason)

    # ---- FrameHandler --------------------------------------------------------------------------------------------

    def on_open(self, conn: Connection) -> None:
        self.conn = conn
        self.ip = _host(conn.remote)
        state = self.state
        now = state.server_ms()
        try:
            state.limiter.charge(self.ip, 2, now)
        except RateLimitedError as exc:
            error = exc.body() | {"data": {"serverTime": now, "retryAfter": exc.until_ms}}
            conn.send_text(orjson.dumps({"id": None, "status": exc.http_status, "error": error, "rateLimits": []}))
            self.drop(CloseCode.TRY_AGAIN_LATER, f"rate limited: retry after {exc.retry_after_s} s")
            return
        self.router.add(self)

    def on_text(self, data: TextData) -> None:
        if self.dropped:
            return
        try:
            req = orjson.loads(data)
        except orjson.JSONDecodeError:
            req = None
        reply = handle_request(self.state, self, req) if isinstance(req, dict) else _MALFORMED
        if reply is None:  # a held placement (state.faults): no answer; an executed one still sends its events
            self.state.on_engine_events()
            return
        # the requester's reply goes out first, then the user events fan out (to it and to everyone else)
        if self.send(orjson.dumps(reply)):
            self.state.on_engine_events()

    def on_close(self, code: int, reason: str) -> None:
        self.subscriptions.clear()
        self.router.remove(self)

    def on_writable(self) -> None:
        pass


class UserStreamRouter:
    """Routes ``engine.drain_events()`` to the WS API sessions subscribed to each account, and accepts
    ``/ws-api/v3`` upgrades.

    Args:
        state: what the REST and WS API faces share.
        queue_bytes: per-session unsent-byte limit (see :class:`WsApiSession`).

    Attributes:
        idle: set while no session is open.
    """

    def __init__(self, state: SimState, queue_bytes: int = 16 << 20) -> None:
        self.state = state
        self.queue_bytes = queue_bytes
        self._sessions: dict[WsApiSession, None] = {}
        self.idle = asyncio.Event()
        self.idle.set()

    @property
    def connections(self) -> int:
        """Open WS API sessions."""
        return len(self._sessions)

    def accept(self, request: UpgradeRequest) -> Accept | HttpResponse:
        """The upgrade decision for ``/ws-api/v3``: a new :class:`WsApiSession`, or HTTP 400 without an upgrade."""
        if not request.is_upgrade:
            return HttpResponse(400, b"expected a WebSocket upgrade")
        return Accept(WsApiSession(self.state, self, self.queue_bytes), None)

    def add(self, session: WsApiSession) -> None:
        """Track a connected session."""
        self._sessions[session] = None
        self.idle.clear()

    def remove(self, session: WsApiSession) -> None:
        """Forget a closed session."""
        self._sessions.pop(session, None)
        if not self._sessions:
            self.idle.set()

    def dispatch(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Send each ``(api_key, event)`` to every subscription of that key (serialized once per event), in order."""
        if not events or not self._sessions:
            return
        # one snapshot for the whole batch: a session dropped meanwhile has no subscriptions left to match
        sessions = list(self._sessions)
        for api_key, event in events:
            raw: bytes | None = None
            for session in sessions:
                for sub_id, key in session.subscriptions.items():
                    if key != api_key:
                        continue
                    if raw is None:
                        raw = orjson.dumps(event)
                    frame = b'{"subscriptionId":' + str(sub_id).encode() + b',"event":' + raw + b"}"
                    if not session.send(frame):
                        break

    def close_all(self) -> None:
        """Close every session (1001 GOING_AWAY)."""
        for session in list(self._sessions):
            session.drop(CloseCode.GOING_AWAY, "server shutdown")


def handle_request(state: SimState, session: WsApiSession, msg: Mapping[str, Any]) -> dict[str, Any] | None:
    """Answer one WS API request (sans-I/O apart from the state it drives); None: a placement held by
    ``state.faults`` (never answered)."""
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
        signed = _SIGNED.get(method)
        if signed is not None:
            api_key = verify_ws(params_raw, state.api_keys, now)
            rest_method, endpoint, orders = signed
            for _ in range(orders):
                state.limiter.count_order(api_key, now)
            # the engine sees the params as Binance would parse them (strings), without the auth params
            for_engine = engine_params(params_raw)
            # the REST faults (state.faults) apply to WS API placements too
            placing = method in ("order.place", "orderList.place.oco")
            if placing and state.faults.fail_orders_unplaced > 0:
                state.faults.fail_orders_unplaced -= 1
                return {"id": req_id, "status": 503, "error": dict(UNKNOWN_ERROR),
                        "rateLimits": _limits(state, session, api_key, now)}  # fmt: skip
            if placing and state.faults.hold_unplaced():
                return None
            result = run_signed(state, rest_method, endpoint, api_key, for_engine)
            if placing and state.faults.hold_reply():
                return None
            if placing and state.faults.lose_order_replies > 0:
                state.faults.lose_order_replies -= 1
                return {"id": req_id, "status": 503, "error": dict(UNKNOWN_ERROR),
                        "rateLimits": _limits(state, session, api_key, now)}  # fmt: skip
        elif method in _PUBLIC:
            result = run_public(state, _PUBLIC[method], rest_params(params_raw))
        elif method == "userDataStream.subscribe.signature":
            api_key = verify_ws(params_raw, state.api_keys, now)
            if api_key in session.subscriptions.values():
                raise subscription_active()
            sub_id = session.next_subscription_id
            session.next_subscription_id += 1
            session.subscriptions[sub_id] = api_key
            result = {"subscriptionId": sub_id}
        elif method == "userDataStream.unsubscribe":
            params = rest_params(params_raw)
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
