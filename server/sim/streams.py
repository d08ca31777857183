"""Market streams on the simulator's port: ``/ws/<stream>[/<stream>...]`` and ``/stream?streams=a/b``.

Follows https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams:

- raw payloads on ``/ws/...``; ``{"stream": name, "data": payload}`` on ``/stream`` (or after
  ``SET_PROPERTY ["combined", true]``);
- live control on any of these paths: ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` / ``SET_PROPERTY`` /
  ``GET_PROPERTY``, answered ``{"result": null | [...] | bool, "id": N}``; errors use the documented table form
  ``{"code": 0..3, "msg": "...", "id": N}``;
- limits: ``max_incoming_per_s`` incoming messages per second (default 5; over it the connection is closed with
  code 1008), ``max_streams`` streams per connection (default 1024; a SUBSCRIBE past it gets ``code 2``); the server
  pings every ``ping_interval_s`` (20 s) and drops peers that do not answer;
- a ``serverShutdown`` event (``{"e": "serverShutdown", "E": ms}``) goes to every connection before the simulator stops.

Every frame is serialized once (orjson) per form (raw / combined) and the same bytes go to every subscriber, written
to each connection at once when it is not behind (:class:`~tradingmcp.server.sim.outbox.FrameOutbox`). A subscriber
over its frame limit (``queue_frames``: frames handed over in one loop turn plus frames queued under backpressure) is
disconnected (with a log line) so it never stalls the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tradingmcp.server.sim.market import INTERVAL_MS
from tradingmcp.server.sim.outbox import FrameOutbox

__all__ = ["StreamConfig", "StreamConnection", "StreamHub", "normalize_stream"]

log = logging.getLogger(__name__)

_STREAM_RE = re.compile(
    r"^(?P<sym>[a-z0-9]+)@(?P<kind>trade|aggTrade|bookTicker|ticker|depth(?:5|10|20)?(?:@100ms|@1000ms)?|kline_(?P<iv>\w+))$"
)


def normalize_stream(name: str, symbols: Collection[str]) -> str | None:
    """Canonical stream name (lower-case symbol, ``@1000ms`` dropped), or None when unknown or malformed.

    Args:
        name: e.g. ``"btcusdt@depth@100ms"``, ``"BTCUSDT@trade"``, ``"ethusdt@kline_1m"``.
        symbols: upper-case symbols the simulator serves.
    """
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


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Stream limits.

    Attributes:
        ping_interval_s: server ping period (s); peers not answering within half of it are dropped.
        max_incoming_per_s: incoming messages allowed per second per connection.
        max_streams: streams per connection.
        queue_frames: frames buffered per connection before it is dropped as too slow.
    """

    ping_interval_s: float = 20.0
    max_incoming_per_s: int = 5
    max_streams: int = 1024
    queue_frames: int = 10_000


class StreamConnection:
    """One stream websocket: its subscriptions, output form and outbox (bounded, see ``FrameOutbox``)."""

    def __init__(self, ws: web.WebSocketResponse, combined: bool, queue_frames: int) -> None:
        self.ws = ws
        self.combined = combined
        self.streams: dict[str, None] = {}  # ordered set
        self.outbox = FrameOutbox(ws, queue_frames)
        self.dropped = False
        self.received: deque[float] = deque()

    def __repr__(self) -> str:
        return f"StreamConnection(streams={len(self.streams)}, combined={self.combined}, outbox={self.outbox!r})"


class StreamHub:
    """Subscriptions of every stream connection, and the publisher the market feeds.

    Args:
        symbols: upper-case symbols served.
        config: limits.
    """

    def __init__(self, symbols: Collection[str], config: StreamConfig | None = None) -> None:
        self.symbols = frozenset(symbols)
        self.config = config or StreamConfig()
        self._subs: dict[str, dict[StreamConnection, None]] = {}
        self._conns: set[StreamConnection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.frames_sent = 0

    # ---- publish side ------------------------------------------------------------------------------------------

    def wants(self, stream: str) -> bool:
        """True when ``stream`` has at least one subscriber."""
        return stream in self._subs

    def publish(self, stream: str, payload: dict[str, Any]) -> int:
        """Send ``payload`` to every subscriber of ``stream`` (written now unless it is behind); returns how many got
        it."""
        subs = self._subs.get(stream)
        if not subs:
            return 0
        raw = orjson.dumps(payload)
        combined: bytes | None = None
        count = 0
        for conn in list(subs):
            if conn.combined:
                if combined is None:
                    combined = b'{"stream":"' + stream.encode() + b'","data":' + raw + b"}"
                frame = combined
            else:
                frame = raw
            if conn.outbox.put(frame):
                count += 1
            else:
                self._drop(conn, f"slow consumer: more than {self.config.queue_frames} frames queued")
        self.frames_sent += count
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

    def _drop(self, conn: StreamConnection, reason: str) -> None:
        if conn.dropped:
            return
        conn.dropped = True
        log.warning("dropping stream connection %r: %s", conn, reason)
        self.unsubscribe(conn, list(conn.streams))
        task = asyncio.get_running_loop().create_task(conn.ws.close(code=1008, message=reason[:120].encode()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- control messages --------------------------------------------------------------------------------------

    def handle_control(self, conn: StreamConnection, text: str) -> dict[str, Any]:
        """Answer one live control message (sans-I/O apart from the subscription tables)."""
        try:
            msg = orjson.loads(text)
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

    # ---- I/O shell ---------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``/ws``, ``/ws/{streams}`` and ``/stream?streams=...``."""
        combined = request.path.rstrip("/") == "/stream"
        if combined:
            raw_names = [n for n in request.query.get("streams", "").split("/") if n]
        else:
            tail = request.path[len("/ws") :].strip("/")
            raw_names = [n for n in tail.split("/") if n]
        names = [n for n in (normalize_stream(r, self.symbols) for r in raw_names) if n is not None]
        if len(names) > self.config.max_streams:
            raise web.HTTPBadRequest(text=f"too many streams (max {self.config.max_streams} per connection)")
        ws = web.WebSocketResponse(heartbeat=self.config.ping_interval_s, autoping=True)
        conn = StreamConnection(ws, combined, self.config.queue_frames)
        self._conns.add(conn)
        self.subscribe(conn, names)  # before the handshake answer: nothing published after it is missed
        try:
            await ws.prepare(request)
            conn.outbox.start(request.transport)
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                if self._over_rate(conn):
                    limit = self.config.max_incoming_per_s
                    log.warning("closing stream connection %r: more than %d incoming messages per second", conn, limit)
                    self.unsubscribe(conn, list(conn.streams))
                    await ws.close(code=1008, message=b"too many incoming messages")
                    break
                data = msg.data if isinstance(msg.data, str) else msg.data.decode(errors="replace")
                reply = self.handle_control(conn, data)
                conn.outbox.put(orjson.dumps(reply))  # refused only when over the limit: the reply is dropped
        finally:
            self.unsubscribe(conn, list(conn.streams))
            self._conns.discard(conn)
            await conn.outbox.aclose()
        return ws

    async def close_all(self, event_ms: int) -> None:
        """Send ``serverShutdown`` and close every stream connection."""
        shutdown = orjson.dumps({"e": "serverShutdown", "E": event_ms})
        for conn in list(self._conns):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_frame(shutdown, WSMsgType.TEXT)
            await conn.ws.close(code=1001, message=b"server shutdown")
        await asyncio.gather(*self._tasks, return_exceptions=True)
