"""The Bybit face's WebSocket endpoints: public ``/v5/public/spot`` and private ``/v5/private``.

Follows https://bybit-exchange.github.io/docs/v5/ws/connect: JSON text frames both ways. Client ops:

* ``{"op": "subscribe" | "unsubscribe", "args": [topics], "req_id": ...}`` → ``{"success", "ret_msg", "conn_id",
  "req_id", "op"}``; at most ``max_args`` topics per request; a refused topic (unknown, symbol not served, private
  before ``auth``) fails the whole request with ``success: false``;
* ``{"op": "ping"}`` → public: ``{"success": true, "ret_msg": "pong", ..., "op": "ping"}``, private:
  ``{"op": "pong", "args": ["<ms>"], ...}``;
* ``{"op": "auth", "args": [api_key, expires, signature]}`` (private only; see
  :func:`tradingmcp.sim.bybit.signing.verify_ws_auth`).

Subscribing an ``orderbook.{depth}`` topic queues its snapshot right after the answer. A subscriber whose bounded
queue overflows is disconnected (1008) so it never stalls the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tradingmcp.sim.bybit import pushes
from tradingmcp.sim.bybit.signing import verify_ws_auth
from tradingmcp.sim.bybit.wire import BybitError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WsConfig:
    """WebSocket limits: ``max_args`` topics per subscribe request (spot: 10), ``queue_frames`` buffered per
    connection before it is dropped, ``heartbeat_s`` WebSocket-level ping interval."""

    max_args: int = 10
    queue_frames: int = 10_000
    heartbeat_s: float = 20.0


@dataclass(eq=False)
class WsConnection:
    """One client connection."""

    ws: web.WebSocketResponse
    private: bool
    conn_id: str
    queue: asyncio.Queue[str]
    api_key: str | None = None
    topics: set[str] = field(default_factory=set)
    pings: int = 0
    dropped: bool = False


class WsHub:
    """Subscriptions of every Bybit WebSocket connection and the fan-out of pushes.

    Args:
        symbols: the symbols served.
        keys: ``{api_key: secret}`` for ``auth``.
        snapshot: ``(symbol, depth)`` → an ``orderbook`` snapshot message (sent on subscription).
        now_ms: the face's clock.
        config: limits.
    """

    def __init__(
        self,
        symbols: Collection[str],
        keys: Mapping[str, str],
        snapshot: Callable[[str, int], dict[str, Any]],
        now_ms: Callable[[], int],
        config: WsConfig | None = None,
    ) -> None:
        self.symbols = frozenset(symbols)
        self.keys = keys
        self.snapshot = snapshot
        self.now_ms = now_ms
        self.config = config or WsConfig()
        self._subs: dict[str, set[WsConnection]] = {}
        self.connections: list[WsConnection] = []
        self.connections_opened = 0
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()

    def wants(self, topic: str) -> bool:
        """True when ``topic`` has a subscriber."""
        return topic in self._subs

    def publish(self, topic: str, frame: str, api_key: str | None = None) -> int:
        """Queue ``frame`` to the subscribers of ``topic`` (only connections of ``api_key`` for a private topic)."""
        count = 0
        for conn in list(self._subs.get(topic, ())):
            if api_key is not None and conn.api_key != api_key:
                continue
            self._put(conn, frame)
            count += 1
        return count

    def publish_private(self, topic: str, frame: str, api_key: str) -> int:
        """Queue a private push to ``api_key``'s connections subscribed to ``topic`` or ``topic.spot``."""
        sent = self.publish(topic, frame, api_key)
        if topic in ("order", "execution"):
            sent += self.publish(f"{topic}.spot", frame, api_key)
        return sent

    def _put(self, conn: WsConnection, frame: str) -> None:
        try:
            conn.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._drop(conn)

    def _drop(self, conn: WsConnection) -> None:
        if conn.dropped:
            return
        conn.dropped = True
        log.warning("dropping Bybit stream connection: more than %d frames queued", self.config.queue_frames)
        self._unsubscribe(conn, list(conn.topics))
        task = asyncio.get_running_loop().create_task(conn.ws.close(code=1008, message=b"slow consumer"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _accepts(self, conn: WsConnection, topic: str) -> bool:
        if conn.private:
            return conn.api_key is not None and topic in pushes.PRIVATE_TOPICS
        try:
            _, symbol, _ = pushes.parse_topic(topic)
        except ValueError:
            return False
        return symbol in self.symbols

    def _unsubscribe(self, conn: WsConnection, topics: list[str]) -> None:
        for t in topics:
            conn.topics.discard(t)
            subs = self._subs.get(t)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._subs[t]

    def _answer(self, conn: WsConnection, op: str, req_id: Any, success: bool, msg: str) -> str:
        body: dict[str, Any] = {"success": success, "ret_msg": msg, "conn_id": conn.conn_id, "op": op}
        if req_id is not None:
            body["req_id"] = req_id
        return pushes.dumps(body)

    def handle_op(self, conn: WsConnection, text: str) -> list[str]:
        """The frames answering one client message (sans-I/O apart from the subscription tables)."""
        try:
            msg = json.loads(text)
        except ValueError:
            return [self._answer(conn, "", None, False, "Invalid JSON")]
        if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
            return [self._answer(conn, "", None, False, "a message needs a string 'op'")]
        op, req_id, args = msg["op"], msg.get("req_id"), msg.get("args")
        if op == "ping":
            conn.pings += 1
            if conn.private:
                body = {"op": "pong", "args": [str(self.now_ms())], "conn_id": conn.conn_id}
                if req_id is not None:
                    body["req_id"] = req_id
                return [pushes.dumps(body)]
            return [self._answer(conn, "ping", req_id, True, "pong")]
        if op == "auth":
            if not conn.private:
                return [self._answer(conn, op, req_id, False, "auth is only for the private endpoint")]
            try:
                conn.api_key = verify_ws_auth(args, self.keys, self.now_ms())
            except BybitError as exc:
                return [self._answer(conn, op, req_id, False, exc.msg)]
            return [self._answer(conn, op, req_id, True, "")]
        if op not in ("subscribe", "unsubscribe"):
            return [self._answer(conn, op, req_id, False, f"Unknown op {op!r}")]
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            return [self._answer(conn, op, req_id, False, "args must be a non-empty list of topics")]
        if op == "unsubscribe":
            self._unsubscribe(conn, list(args))
            return [self._answer(conn, op, req_id, True, "")]
        if len(args) > self.config.max_args:
            return [self._answer(conn, op, req_id, False, f"args size >{self.config.max_args}")]
        if conn.private and conn.api_key is None:
            return [self._answer(conn, op, req_id, False, "Request not authorized")]
        refused = [t for t in args if not self._accepts(conn, t)]
        if refused:
            return [self._answer(conn, op, req_id, False, f"Invalid topic(s): {','.join(refused)}")]
        out = [self._answer(conn, op, req_id, True, "subscribe")]
        for topic in args:
            new = topic not in conn.topics
            conn.topics.add(topic)
            self._subs.setdefault(topic, set()).add(conn)
            if new and topic.startswith("orderbook."):
                _, symbol, depth = pushes.parse_topic(topic)
                assert symbol is not None and depth is not None
                out.append(pushes.dumps(self.snapshot(symbol, int(depth))))
        return out

    def endpoint(self, private: bool) -> Callable[[web.Request], Any]:
        """The aiohttp handler of ``/v5/public/spot`` (False) or ``/v5/private`` (True)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(heartbeat=self.config.heartbeat_s, autoping=True)
            await ws.prepare(request)
            conn = WsConnection(ws, private, f"sim-{next(self._ids)}", asyncio.Queue(maxsize=self.config.queue_frames))
            self.connections.append(conn)
            self.connections_opened += 1
            writer = asyncio.create_task(self._writer(conn))
            try:
                async for msg in ws:
                    if msg.type is WSMsgType.TEXT:
                        for frame in self.handle_op(conn, msg.data):
                            self._put(conn, frame)
            finally:
                self._unsubscribe(conn, list(conn.topics))
                self.connections.remove(conn)
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
            return ws

        return handle

    async def _writer(self, conn: WsConnection) -> None:
        while not conn.ws.closed:
            frame = await conn.queue.get()
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    async def cut(self) -> None:
        """Close every connection with 1001 (as a server restart would)."""
        for conn in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=1001, message=b"going away")
