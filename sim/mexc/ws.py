"""The MEXC face's WebSocket endpoint ``/ws`` (``/ws?listenKey=…`` for the private topics).

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams: JSON text control messages
(``SUBSCRIPTION`` / ``UNSUBSCRIPTION`` acked with ``{"id":0,"code":0,"msg":"<topics comma-joined>"}``, ``PING`` →
``PONG``), binary protobuf pushes. At most ``max_topics`` (30) subscriptions per connection; a refused topic (unknown,
symbol not served, private without a listenKey, over the limit) gets MEXC's
``"Not Subscribed successfully! [<topics>].  Reason： Blocked! "``. A connection with no valid subscription for
``no_subscription_timeout_s`` (MEXC: 30 s) is closed.

Each frame is encoded once and the same bytes are queued to every subscriber; a subscriber whose bounded queue
overflows is disconnected (1008) so it never stalls the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tradingmcp.sim.mexc import topics

__all__ = ["ControlError", "ControlRequest", "WsConfig", "WsConnection", "WsHub", "parse_request", "reply"]

log = logging.getLogger(__name__)


class ControlError(ValueError):
    """A client's control message that is not ``{"method": str, "params": [str, ...]}``."""


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A client's control message: ``method`` (upper-cased) and ``params`` (topics)."""

    method: str
    params: tuple[str, ...]


def parse_request(text: str | bytes) -> ControlRequest:
    """Read a client's JSON control message (SUBSCRIPTION, UNSUBSCRIPTION, PING).

    Raises:
        ControlError: not a JSON object with a string ``method`` and, when present, a list of strings ``params``.
    """
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ControlError("control request is not JSON") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("method"), str):
        raise ControlError("control request needs a string 'method'")
    params = obj.get("params", [])
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise ControlError("'params' must be a list of topic strings")
    return ControlRequest(obj["method"].upper(), tuple(params))


def reply(msg: str, *, code: int = 0) -> str:
    """MEXC's JSON answer to a control message: ``{"id":0,"code":0,"msg":...}`` (an ack echoes the topics
    comma-joined; PING gets ``PONG``)."""
    return json.dumps({"id": 0, "code": code, "msg": msg}, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class WsConfig:
    """WebSocket limits.

    Attributes:
        max_topics: subscriptions per connection (MEXC: 30).
        no_subscription_timeout_s: close a connection that has held no valid subscription this long (MEXC: 30 s).
        queue_frames: frames buffered per connection before it is dropped as too slow.
        heartbeat_s: WebSocket-level ping interval (s).
    """

    max_topics: int = topics.MAX_TOPICS_PER_CONNECTION
    no_subscription_timeout_s: float = 30.0
    queue_frames: int = 10_000
    heartbeat_s: float = 20.0


@dataclass(eq=False)
class WsConnection:
    """One client connection: its topics, the account of its listenKey (None for a public connection), its queue."""

    ws: web.WebSocketResponse
    api_key: str | None
    queue: asyncio.Queue[bytes | str]
    topics: set[str] = field(default_factory=set)
    pings: int = 0
    dropped: bool = False


class WsHub:
    """Subscriptions of every MEXC WebSocket connection and the fan-out of pushes.

    Args:
        symbols: upper-case symbols served.
        listen_key_owner: the API key owning a listenKey, or None when the key is unknown/expired.
        config: limits.
    """

    def __init__(
        self,
        symbols: Collection[str],
        listen_key_owner: Callable[[str], str | None],
        config: WsConfig | None = None,
    ) -> None:
        self.symbols = frozenset(symbols)
        self.config = config or WsConfig()
        self._owner = listen_key_owner
        self._subs: dict[str, set[WsConnection]] = {}
        self.connections: list[WsConnection] = []
        self.connections_opened = 0
        self.frames_sent = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- publish side --------------------------------------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        """True when ``topic`` has a subscriber."""
        return topic in self._subs

    def publish(self, topic: str, frame: bytes, api_key: str | None = None) -> int:
        """Queue ``frame`` to the subscribers of ``topic`` (only connections of ``api_key`` for a private topic)."""
        count = 0
        for conn in list(self._subs.get(topic, ())):
            if api_key is not None and conn.api_key != api_key:
                continue
            try:
                conn.queue.put_nowait(frame)
                count += 1
            except asyncio.QueueFull:
                self._drop(conn)
        self.frames_sent += count
        return count

    def _drop(self, conn: WsConnection) -> None:
        if conn.dropped:
            return
        conn.dropped = True
        log.warning("dropping MEXC stream connection: more than %d frames queued", self.config.queue_frames)
        self._unsubscribe(conn, list(conn.topics))
        task = asyncio.get_running_loop().create_task(conn.ws.close(code=1008, message=b"slow consumer"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- control (sans-I/O apart from the tables) ----------------------------------------------------------------

    def _accepts(self, conn: WsConnection, name: str) -> bool:
        try:
            topic = topics.parse_topic(name)
        except ValueError:
            return False
        if topic.private:
            return conn.api_key is not None
        return topic.symbol is None or topic.symbol in self.symbols

    def _unsubscribe(self, conn: WsConnection, names: list[str]) -> None:
        for t in names:
            conn.topics.discard(t)
            subs = self._subs.get(t)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._subs[t]

    def handle_control(self, conn: WsConnection, text: str) -> str:
        """The JSON reply to one control message."""
        try:
            req = parse_request(text)
        except ControlError as exc:
            return reply(str(exc), code=1)
        if req.method == "PING":
            conn.pings += 1
            return reply("PONG")
        names = list(req.params)
        joined = ",".join(names)
        if req.method == "UNSUBSCRIPTION":
            self._unsubscribe(conn, names)
            return reply(joined)
        if req.method != "SUBSCRIPTION":
            return reply(f"Unknown method {req.method!r}", code=1)
        new = set(names) - conn.topics
        if (
            not names
            or not all(self._accepts(conn, t) for t in names)
            or len(conn.topics) + len(new) > self.config.max_topics
        ):
            return reply(f"Not Subscribed successfully! [{joined}].  Reason： Blocked! ")
        for t in names:
            conn.topics.add(t)
            self._subs.setdefault(t, set()).add(conn)
        return reply(joined)

    # ---- I/O shell -------------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``/ws`` (``?listenKey=`` binds the connection to that key's account)."""
        api_key: str | None = None
        listen_key = request.query.get("listenKey")
        if listen_key is not None:
            api_key = self._owner(listen_key)
            if api_key is None:
                return web.json_response({"code": 730706, "msg": "listenKey not exist"}, status=401)
        ws = web.WebSocketResponse(heartbeat=self.config.heartbeat_s, autoping=True)
        await ws.prepare(request)
        conn = WsConnection(ws, api_key, asyncio.Queue(maxsize=self.config.queue_frames))
        self.connections.append(conn)
        self.connections_opened += 1
        writer = asyncio.create_task(self._writer(conn))
        watchdog = asyncio.create_task(self._idle_watchdog(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    conn.queue.put_nowait(self.handle_control(conn, msg.data))
        except asyncio.QueueFull:
            self._drop(conn)
        finally:
            self._unsubscribe(conn, list(conn.topics))
            self.connections.remove(conn)
            for task in (writer, watchdog):
                task.cancel()
            await asyncio.gather(writer, watchdog, return_exceptions=True)
        return ws

    async def _writer(self, conn: WsConnection) -> None:
        while not conn.ws.closed:
            frame = await conn.queue.get()
            try:
                if isinstance(frame, str):
                    await conn.ws.send_str(frame)
                else:
                    await conn.ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                return

    async def _idle_watchdog(self, conn: WsConnection) -> None:
        """Close the connection after ``no_subscription_timeout_s`` without any subscription (checked each period)."""
        period = self.config.no_subscription_timeout_s
        while not conn.ws.closed:
            await asyncio.sleep(period)
            if not conn.topics:
                await conn.ws.close(code=1000, message=b"no valid subscription")
                return

    async def cut(self) -> None:
        """Close every connection with 1001 (as a server restart would)."""
        for conn in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=1001, message=b"going away")
