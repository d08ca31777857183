"""Market streams on the simulator's WebSocket port: ``/ws/<stream>[/<stream>...]`` and ``/stream?streams=a/b``.

Follows https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams:

- raw payloads on ``/ws/...``; ``{"stream": name, "data": payload}`` on ``/stream`` (or after
  ``SET_PROPERTY ["combined", true]``);
- live control on any of these paths: ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` / ``SET_PROPERTY`` /
  ``GET_PROPERTY``, answered ``{"result": null | [...] | bool, "id": N}``; errors use the documented table form
  ``{"code": 0..3, "msg": "...", "id": N}``;
- limits: ``max_incoming_per_s`` incoming messages per second (default 5; over it the connection is closed with
  1008 POLICY_VIOLATION), ``max_streams`` streams per connection (default 1024; a SUBSCRIBE past it gets ``code 2``,
  a URL naming more is answered HTTP 400); the server pings every ``ping_interval_s`` (20 s) and drops peers that do
  not answer;
- a ``serverShutdown`` event (``{"e": "serverShutdown", "E": ms}``) goes to every connection before the simulator stops
  (then close 1001 GOING_AWAY).

The wire is :mod:`tradingmcp.transport.ws` (picows by default): control messages are answered synchronously inside
the frame callback, and every market frame is serialized once (orjson) per form (raw / combined) and the same bytes
are written straight to each subscriber's transport. A subscriber whose transport write buffer grows past
``queue_bytes`` (it reads slower than the replay publishes) is closed with 1008 POLICY_VIOLATION (with a log line), so
it never stalls the replay or grows the simulator's memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tradingmcp.sim.market import ALL_MINI_TICKERS, INTERVAL_MS
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.ws import Accept, Connection, HttpResponse, TextData, UpgradeRequest

__all__ = ["ALL_MINI_TICKERS", "StreamConfig", "StreamConnection", "StreamHub", "is_stream_path", "normalize_stream"]

log = logging.getLogger(__name__)

_STREAM_RE = re.compile(
    r"^(?P<sym>[a-z0-9]+)@(?P<kind>trade|aggTrade|bookTicker|ticker|miniTicker|depth(?:5|10|20)?(?:@100ms|@1000ms)?|kline_(?P<iv>\w+))$"
)


def normalize_stream(name: str, symbols: Collection[str]) -> str | None:
    """Canonical stream name (lower-case symbol, ``@1000ms`` dropped), or None when unknown or malformed.

    Args:
        name: e.g. ``"btcusdt@depth@100ms"``, ``"BTCUSDT@trade"``, ``"ethusdt@kline_1m"``.
        symbols: upper-case symbols the simulator serves.
    """
    if name == ALL_MINI_TICKERS:
        return name
    sym, sep, rest = name.partition("@")
    if not sep:
        return None
    candidate = f"{sym.lower()}@{rest}"
    match = _STREAM_RE.match(candidate)
    if match is None or sym.upper() not in symbols:
        return None
    iv = match.group("iv")
    if iv is not None and iv not in INTERVAL_MS:
        return None
    return candidate.removesuffix("@1000ms")


def is_stream_path(path: str) -> bool:
    """True for the market-stream paths: ``/ws``, ``/ws/...`` and ``/stream`` (``path`` without the query)."""
    return path in ("/ws", "/stream", "/stream/") or path.startswith("/ws/")


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Stream limits.

    Attributes:
        ping_interval_s: server ping period (s); peers not answering within half of it are dropped.
        max_incoming_per_s: incoming messages allowed per second per connection.
        max_streams: streams per connection.
        queue_bytes: bytes a connection's transport may hold unsent (written but not yet taken by the kernel)
            before the connection is closed as too slow (1008).
    """

    ping_interval_s: float = 20.0
    max_incoming_per_s: int = 5
    max_streams: int = 1024
    queue_bytes: int = 16 << 20


class StreamConnection:
    """One stream websocket (a :class:`~tradingmcp.transport.ws.FrameHandler`): its subscriptions and output form.

    Attributes:
        conn: the live connection (None until the handshake completes).
        combined: frames are wrapped as ``{"stream", "data"}``.
        streams: subscribed canonical stream names, in subscription order.
        dropped: closed by the simulator (slow consumer, too many incoming messages, shutdown).
    """

    __slots__ = ("_hub", "_initial", "combined", "conn", "dropped", "received", "streams")

    def __init__(self, hub: StreamHub, combined: bool, initial: list[str]) -> None:
        self._hub = hub
        self._initial = initial
        self.conn: Connection | None = None
        self.combined = combined
        self.streams: dict[str, None] = {}  # ordered set
        self.dropped = False
        self.received: deque[float] = deque()

    def __repr__(self) -> str:
        remote = self.conn.remote if self.conn is not None else "?"
        return f"StreamConnection({remote}, streams={len(self.streams)}, combined={self.combined})"

    def on_open(self, conn: Connection) -> None:
        self.conn = conn
        self._hub.attach(self, self._initial)

    def on_text(self, data: TextData) -> None:
        self._hub.on_control(self, data)

    def on_close(self, code: int, reason: str) -> None:
        self._hub.detach(self)

    def on_writable(self) -> None:
        pass


class StreamHub:
    """Subscriptions of every stream connection, and the publisher the market feeds.

    Args:
        symbols: upper-case symbols served.
        config: limits.

    Attributes:
        frames_sent: frames handed to subscribers' transports so far.
        idle: set while no stream connection is open.
    """

    def __init__(self, symbols: Collection[str], config: StreamConfig | None = None) -> None:
        self.symbols = frozenset(symbols)
        self.config = config or StreamConfig()
        self._subs: dict[str, dict[StreamConnection, None]] = {}
        self._conns: dict[StreamConnection, None] = {}
        self.frames_sent = 0
        self.idle = asyncio.Event()
        self.idle.set()

    @property
    def connections(self) -> int:
        """Open stream connections."""
        return len(self._conns)

    @property
    def open_connections(self) -> tuple[StreamConnection, ...]:
        """The open stream connections, oldest first (a snapshot: closing one's ``conn`` does not change it)."""
        return tuple(self._conns)

    # ---- publish side ------------------------------------------------------------------------------------------

    def wants(self, stream: str) -> bool:
        """True when ``stream`` has at least one subscriber."""
        return stream in self._subs

    def publish(self, stream: str, payload: dict[str, Any] | list[Any]) -> int:
        """Write ``payload`` (an object, or an array for :data:`ALL_MINI_TICKERS`) to every subscriber of ``stream``;
        returns how many got it.

        A subscriber whose unsent bytes exceed ``config.queue_bytes`` after the write is closed (1008).
        """
        subs = self._subs.get(stream)
        if not subs:
            return 0
        raw = orjson.dumps(payload)
        combined: bytes | None = None
        limit = self.config.queue_bytes
        slow: list[StreamConnection] | None = None
        count = 0
        for sub in subs:
            conn = sub.conn
            if conn is None:
                continue
            if sub.combined:
                if combined is None:
                    combined = b'{"stream":"' + stream.encode() + b'","data":' + raw + b"}"
                conn.send_text(combined)
            else:
                conn.send_text(raw)
            count += 1
            if conn.write_buffer_size() > limit:
                slow = slow or []
                slow.append(sub)
        self.frames_sent += count
        if slow:
            for sub in slow:
                self._drop(sub, CloseCode.POLICY_VIOLATION, f"slow consumer: more than {limit} bytes unsent")
        return count

    # ---- subscriptions -----------------------------------------------------------------------------------------

    def subscribe(self, conn: StreamConnection, streams: list[str]) -> None:
        """Add ``streams`` (canonical names) to ``conn``."""
        for s in streams:
            conn.streams[s] = None
            self._subs.setdefault(s, {})[conn] = None

    def unsubscribe(self, conn: StreamConnection, streams: list[str]) -> None:
        """Remove ``streams`` from ``conn``."""
        for s in streams:
            conn.streams.pop(s, None)
            subs = self._subs.get(s)
            if subs is not None:
                subs.pop(conn, None)
                if not subs:
                    del self._subs[s]

    def attach(self, conn: StreamConnection, streams: list[str]) -> None:
        """The handshake completed: track ``conn`` and subscribe its URL's streams (nothing published later is
        missed)."""
        self._conns[conn] = None
        self.idle.clear()
        self.subscribe(conn, streams)

    def detach(self, conn: StreamConnection) -> None:
        """The connection is gone: forget it and its subscriptions."""
        self.unsubscribe(conn, list(conn.streams))
        self._conns.pop(conn, None)
        if not self._conns:
            self.idle.set()

    def _drop(self, conn: StreamConnection, code: CloseCode, reason: str) -> None:
        if conn.dropped:
            return
        conn.dropped = True
        log.warning("dropping stream connection %r: %s", conn, reason)
        self.unsubscribe(conn, list(conn.streams))
        if conn.conn is not None:
            conn.conn.close(code, reason[:120])

    # ---- upgrade and control messages --------------------------------------------------------------------------

    def accept(self, request: UpgradeRequest) -> Accept | HttpResponse:
        """The upgrade decision for ``/ws``, ``/ws/{streams}`` and ``/stream?streams=a/b`` (``request.path`` with
        its query string).

        Returns:
            :class:`Accept` with a new :class:`StreamConnection`, or HTTP 400 for more than ``max_streams`` streams
            or a request that is not a WebSocket upgrade.
        """
        if not request.is_upgrade:
            return HttpResponse(400, b"expected a WebSocket upgrade")
        parts = urlsplit(request.path)
        combined = parts.path.rstrip("/") == "/stream"
        if combined:
            raw_names = [n for v in parse_qs(parts.query).get("streams", []) for n in v.split("/") if n]
        else:
            raw_names = [n for n in parts.path[len("/ws") :].strip("/").split("/") if n]
        names = [n for n in (normalize_stream(r, self.symbols) for r in raw_names) if n is not None]
        if len(names) > self.config.max_streams:
            return HttpResponse(400, f"too many streams (max {self.config.max_streams} per connection)".encode())
        return Accept(StreamConnection(self, combined, names), None)

    def on_control(self, conn: StreamConnection, data: TextData) -> None:
        """One incoming text message: enforce the incoming rate, answer the control message at once."""
        if conn.dropped or conn.conn is None:
            return
        if self._over_rate(conn):
            limit = self.config.max_incoming_per_s
            self._drop(conn, CloseCode.POLICY_VIOLATION, f"more than {limit} incoming messages per second")
            return
        conn.conn.send_text(orjson.dumps(self.handle_control(conn, data)))

    def handle_control(self, conn: StreamConnection, data: TextData) -> dict[str, Any]:
        """Answer one live control message (sans-I/O apart from the subscription tables)."""
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return {"code": 3, "msg": f"Invalid JSON: {exc}"}
        if not isinstance(msg, dict):
            return {"code": 3, "msg": "Invalid JSON: expected an object"}
        req_id = msg.get("id")
        if not (req_id is None or isinstance(req_id, (int, str))) or isinstance(req_id, bool):
            return {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}
        method = msg.get("method")
        params = msg.get("params", [])
        if not isinstance(params, list):
            return {"code": 2, "msg": "Invalid request: params must be an array", "id": req_id}
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            names: list[str] = []
            for p in params:
                name = normalize_stream(p, self.symbols) if isinstance(p, str) else None
                if name is None:
                    return {"code": 2, "msg": f"Invalid request: unknown stream {p!r}", "id": req_id}
                names.append(name)
            if method == "UNSUBSCRIBE":
                self.unsubscribe(conn, names)
                return {"result": None, "id": req_id}
            new = [n for n in names if n not in conn.streams]
            if len(conn.streams) + len(new) > self.config.max_streams:
                limit = self.config.max_streams
                return {
                    "code": 2,
                    "msg": f"Invalid request: too many streams (max {limit} per connection)",
                    "id": req_id,
                }
            self.subscribe(conn, names)
            return {"result": None, "id": req_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(conn.streams), "id": req_id}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not params or params[0] != "combined":
                return {"code": 0, "msg": "Unknown property", "id": req_id}
            if method == "GET_PROPERTY":
                return {"result": conn.combined, "id": req_id}
            if len(params) != 2 or not isinstance(params[1], bool):
                return {"code": 1, "msg": "Invalid value type: expected Boolean", "id": req_id}
            conn.combined = params[1]
            return {"result": None, "id": req_id}
        return {
            "code": 2,
            "msg": f"Invalid request: unknown variant {method!r}, expected one of SUBSCRIBE, UNSUBSCRIBE, "
            "LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY",
            "id": req_id,
        }

    def _over_rate(self, conn: StreamConnection) -> bool:
        now = time.monotonic()
        conn.received.append(now)
        while conn.received and now - conn.received[0] > 1.0:
            conn.received.popleft()
        return len(conn.received) > self.config.max_incoming_per_s

    def close_all(self, event_ms: int) -> None:
        """Send ``serverShutdown`` to every stream connection and close it (1001 GOING_AWAY)."""
        shutdown = orjson.dumps({"e": "serverShutdown", "E": event_ms})
        for conn in list(self._conns):
            self.unsubscribe(conn, list(conn.streams))
            conn.dropped = True
            if conn.conn is not None:
                conn.conn.send_text(shutdown)
                conn.conn.close(CloseCode.GOING_AWAY, "server shutdown")
