"""The TradingMCP client library: MCP over WebSocket with timeouts, notifications and automatic reconnect.

Usage::

    async with await connect("wss://host:8765/mcp", token="...", ssl=client_ssl_context("certs/ca.pem")) as mcp:
        tools = await mcp.list_tools()
        result = await mcp.call_tool("get_ticker", {"symbol": "BTCUSDT"})
        await mcp.subscribe("trades:sim:BTCUSDT")
        async for note in mcp.notifications():
            print(note.method, note.params)

Reconnect: when the link drops the client reconnects with jittered exponential backoff, re-initializes and re-subscribes
everything that was subscribed (streams and resources). Calls in flight when the link dropped fail with
:class:`ConnectionLost` and are NEVER re-sent (an order must not be placed twice): the caller decides, e.g. by querying
the order by its client order id.

Errors: :class:`RpcError` (a JSON-RPC error response: ``code``, ``message``, ``data``), :class:`RequestTimeout`,
:class:`ConnectionLost`, :class:`~tradingmcp.transport.ws.HandshakeRejected` (e.g. HTTP 401 on a bad token: not
retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from tradingmcp.client.deadlines import DeadlineQueue
from tradingmcp.transport import jsonrpc, ws
from tradingmcp.transport.backoff import backoff

log = logging.getLogger("tradingmcp.client")
_loads = orjson.loads
HANDSHAKE_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
CLIENT_INFO = {"name": "tradingmcp-client", "version": "0.1.0"}


class McpClientError(Exception):
    """Base of the client's errors."""


class ConnectionLost(McpClientError, ConnectionError):
    """The link dropped (or was not up) while the call was in flight; the call was not re-sent."""


class RequestTimeout(McpClientError, TimeoutError):
    """No answer within the timeout; the server was sent ``notifications/cancelled`` for it."""


class RpcError(McpClientError):
    """A JSON-RPC error response."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (JSON-RPC error {code})")
        self.code = code
        self.message = message
        self.data = data


class Notification(NamedTuple):
    """A server notification: ``method`` and ``params`` (dict)."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ClientOptions:
    """Client settings. Times in seconds.

    Attributes:
        token: bearer token (sent as ``Authorization: Bearer``; ``token_in_subprotocol`` sends ``auth.<token>``).
        ssl: TLS context for ``wss://`` (verifying by default; see ``transport.tls.client_ssl_context``).
        timeout_s: default per-call timeout.
        reconnect: reconnect automatically after the link drops.
        protocol_version: ``2025-11-25`` (initialize handshake) or ``2026-07-28`` (per-request ``_meta``).
        max_notifications: notifications buffered for :meth:`McpClient.notifications` (oldest dropped beyond).
    """

    token: str | None = None
    token_in_subprotocol: bool = False
    ssl: ssl_module.SSLContext | None = None
    backend: ws.Backend = ws.DEFAULT_BACKEND
    wire: ws.WireOptions = field(default_factory=ws.WireOptions)
    timeout_s: float = 10.0
    reconnect: bool = True
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 5.0
    protocol_version: str = HANDSHAKE_VERSION
    client_info: dict[str, str] = field(default_factory=lambda: dict(CLIENT_INFO))
    max_notifications: int = 100_000


class _Link:
    """FrameHandler for one physical connection; stale events of an old link never touch a newer one.

    ``on_text`` is the client's message handler itself while the link is open (no extra frame on the hot path) and a
    no-op once it closed.
    """

    __slots__ = ("client", "conn", "on_text", "open")

    def __init__(self, client: McpClient) -> None:
        self.client = client
        self.conn: ws.Connection | None = None
        self.open = True
        self.on_text: Callable[[ws.TextData], None] = client._on_text

    def on_open(self, conn: ws.Connection) -> None:
        self.conn = conn

    def on_close(self, code: int, reason: str) -> None:
        if self.open:
            self.open = False
            self.on_text = _ignore
            self.client._on_link_closed(self, code, reason)

    def on_writable(self) -> None:
        pass


def _ignore(data: ws.TextData) -> None:
    """``on_text`` of a closed link."""


def _rpc_error(err: Any) -> RpcError:
    """The :class:`RpcError` for a JSON-RPC ``error`` member (tolerates a malformed one)."""
    if not isinstance(err, dict):
        return RpcError(0, str(err))
    try:
        code = int(err.get("code", 0))
    except (TypeError, ValueError):
        code = 0
    return RpcError(code, str(err.get("message", "")), err.get("data"))


class McpClient:
    """An MCP client session over WebSocket. Create with :func:`connect`."""

    def __init__(self, url: str, options: ClientOptions | None = None) -> None:
        self.url = url
        self.options = options or ClientOptions()
        self.server_info: dict[str, Any] = {}
        self.server_capabilities: dict[str, Any] = {}
        self.protocol_version: str | None = None
        self.reconnects = 0
        self.dropped_notifications = 0
        self.connected = asyncio.Event()
        self.last_close: tuple[int, str] | None = None
        self.streams: set[str] = set()
        self.resource_uris: set[str] = set()
        self._link: _Link | None = None
        self._next_id = 0
        self._pending: dict[jsonrpc.RequestId, asyncio.Future[Any]] = {}
        self._deadlines = DeadlineQueue(self._expire)
        self._progress: dict[Any, Callable[[dict[str, Any]], None]] = {}
        self._notes: deque[Notification] = deque(maxlen=self.options.max_notifications)
        self._notes_ready = asyncio.Event()
        self._note_cb: Callable[[Notification], bool] | None = None
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._modern = self.options.protocol_version == MODERN_VERSION
        self._timeout_s = self.options.timeout_s

    # ---------------------------------------------------------------- connection
    async def _open(self) -> None:
        opts = self.options
        headers: dict[str, str] = {}
        subprotocols: tuple[str, ...] = ("mcp",)
        if opts.token:
            if opts.token_in_subprotocol:
                subprotocols = ("mcp", f"auth.{opts.token}")
            else:
                headers["Authorization"] = f"Bearer {opts.token}"
        link = _Link(self)
        await ws.connect(
            self.url,
            link,
            subprotocols=subprotocols,
            headers=headers,
            ssl=opts.ssl,
            backend=opts.backend,
            options=opts.wire,
        )
        self._link = link
        if self._modern:
            result = await self.request("server/discover", {})
            self.protocol_version = MODERN_VERSION
        else:
            result = await self.request(
                "initialize",
                {"protocolVersion": opts.protocol_version, "capabilities": {}, "clientInfo": opts.client_info},
            )
            self.protocol_version = result.get("protocolVersion")
            self.notify("notifications/initialized")
        self.server_capabilities = result.get("capabilities", {})
        self.server_info = result.get("serverInfo") or result.get("_meta", {}).get(
            "io.modelcontextprotocol/serverInfo", {}
        )

    async def _resubscribe(self) -> None:
        for key in sorted(self.streams):
            await self.call_tool("subscribe", {"stream": key})
        for uri in sorted(self.resource_uris):
            await self.request("resources/subscribe", {"uri": uri})

    def _on_link_closed(self, link: _Link, code: int, reason: str) -> None:
        if link is not self._link:
            return
        self._link = None
        self.connected.clear()
        self.last_close = (code, reason)
        lost = ConnectionLost(f"connection closed ({code} {reason}) while the call was in flight; it was not re-sent")
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(lost)
        self._pending.clear()
        self._notes_ready.set()
        if self.options.reconnect and not self._closing and self._reconnect_task is None:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        try:
            for delay in backoff(self.options.backoff_initial_s, 2.0, self.options.backoff_max_s):
                if self._closing:
                    return
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    await self._resubscribe()
                except ws.HandshakeRejected as exc:
                    if exc.status in (401, 403):
                        log.error("reconnect refused with HTTP %d; giving up", exc.status)
                        return
                    continue
                except (OSError, TimeoutError, McpClientError) as exc:
                    log.info("reconnect failed: %s", exc)
                    if self._link is not None and self._link.conn is not None:
                        self._link.conn.close()
                    continue
                self.reconnects += 1
                self.connected.set()  # only now: initialized AND every subscription restored
                log.info("reconnected to %s (reconnect #%d)", self.url, self.reconnects)
                return
        finally:
            self._reconnect_task = None

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until the client is connected, initialized and (after a reconnect) re-subscribed."""
        async with asyncio.timeout(timeout_s if timeout_s is not None else self.options.timeout_s):
            await self.connected.wait()

    async def close(self) -> None:
        """Close the connection; no reconnect afterwards."""
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
        link = self._link
        if link is not None and link.conn is not None:
            link.conn.close()
        self._deadlines.close()
        self._notes_ready.set()

    async def __aenter__(self) -> McpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- messages
    def _on_text(self, data: ws.TextData) -> None:
        try:
            msg = _loads(data)
        except orjson.JSONDecodeError:
            log.warning("server sent invalid JSON; ignored")
            return
        if type(msg) is not dict:
            return
        rid = msg.get("id")
        if rid is not None and "method" not in msg:  # a response: settle the caller's future with its outcome
            fut = self._pending.pop(rid, None)
            if fut is not None and not fut.done():
                err = msg.get("error")
                if err is None:
                    fut.set_result(msg.get("result"))
                else:
                    fut.set_exception(_rpc_error(err))
            return
        method = msg.get("method")
        if not isinstance(method, str):
            return
        params = msg.get("params") or {}
        if rid is not None:  # a server-to-client request: we offer no client features
            self._send(jsonrpc.encode_error(rid, jsonrpc.ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}"))
            return
        if method == "notifications/progress":
            cb = self._progress.get(params.get("progressToken"))
            if cb is not None:
                cb(params)
                return
        note = Notification(method, params)
        on_note = self._note_cb
        if on_note is not None:
            try:
                if on_note(note):
                    return
            except Exception:
                log.exception("on_notification callback failed on %s; the notification is buffered", method)
        if len(self._notes) == self._notes.maxlen:
            self.dropped_notifications += 1
        self._notes.append(note)
        self._notes_ready.set()

    def _send(self, data: bytes) -> None:
        link = self._link
        if link is None or link.conn is None:
            raise ConnectionLost("not connected")
        link.conn.send_text(data)

    def _expire(self, fut: asyncio.Future[Any], rid: jsonrpc.RequestId, method: str) -> None:
        """The deadline of request ``rid`` passed: fail its caller and tell the server to cancel it."""
        if self._pending.get(rid) is fut:
            del self._pending[rid]
        fut.set_exception(RequestTimeout(f"{method} got no answer in time"))
        with contextlib.suppress(ConnectionLost):
            self.notify("notifications/cancelled", {"requestId": rid, "reason": "client timeout"})

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (no answer)."""
        self._send(jsonrpc.encode_notification(method, params))

    def _start(
        self, method: str, params: dict[str, Any] | None, timeout_s: float | None
    ) -> tuple[jsonrpc.RequestId, asyncio.Future[Any]]:
        """Send request ``method``; returns its id and the future its outcome settles (result, or RpcError,
        RequestTimeout, ConnectionLost).

        Raises:
            ConnectionLost: not connected.
        """
        link = self._link
        conn = None if link is None else link.conn
        if conn is None:
            raise ConnectionLost("not connected")
        if self._modern:
            meta = {
                "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": self.options.client_info,
            }
            params = {**(params or {}), "_meta": {**meta, **(params or {}).get("_meta", {})}}
        self._next_id = rid = self._next_id + 1
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        conn.send_text(jsonrpc.encode_request(rid, method, params))
        self._pending[rid] = fut
        # one timer for all requests (see client.deadlines): the sweep fails ``fut`` with RequestTimeout
        self._deadlines.add(loop, self._timeout_s if timeout_s is None else timeout_s, fut, rid, method)
        return rid, fut

    async def request(self, method: str, params: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """Send a request and wait for its result.

        Raises:
            RpcError: the server answered with an error. RequestTimeout: no answer in time (the server is told to
            cancel). ConnectionLost: not connected, or the link dropped before the answer.
        """
        rid, fut = self._start(method, params, timeout_s)
        try:
            return await fut
        except asyncio.CancelledError:  # the caller gave up: forget the request (its answer, if any, is dropped)
            self._pending.pop(rid, None)
            raise

    # ---------------------------------------------------------------- MCP operations
    async def list_tools(self) -> list[dict[str, Any]]:
        """All tools (follows ``nextCursor``)."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.request("tools/list", {"cursor": cursor} if cursor else {})
            tools += page.get("tools", [])
            cursor = page.get("nextCursor")
            if not cursor:
                return tools

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Call a tool; returns the ``CallToolResult`` dict (``content``, ``structuredContent``, ``isError``).

        Raises:
            RpcError, RequestTimeout, ConnectionLost: as :meth:`request`.
        """
        params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
        if on_progress is None:  # the hot path: one coroutine frame, no helper coroutine
            rid, fut = self._start("tools/call", params, timeout_s)
            try:
                result: dict[str, Any] = await fut
                return result
            except asyncio.CancelledError:
                self._pending.pop(rid, None)
                raise
        token = f"p{self._next_id + 1}"
        params["_meta"] = {"progressToken": token}
        self._progress[token] = on_progress
        try:
            result = await self.request("tools/call", params, timeout_s)
            return result
        finally:
            self._progress.pop(token, None)

    async def subscribe(self, stream: str) -> dict[str, Any]:
        """Subscribe to a live stream (``notifications/tradingmcp/stream``); re-subscribed after reconnects."""
        result = await self.call_tool("subscribe", {"stream": stream})
        if not result.get("isError"):
            self.streams.add(stream)
        return result

    async def unsubscribe(self, stream: str) -> dict[str, Any]:
        self.streams.discard(stream)
        return await self.call_tool("unsubscribe", {"stream": stream})

    async def subscribe_resource(self, uri: str) -> None:
        await self.request("resources/subscribe", {"uri": uri})
        self.resource_uris.add(uri)

    async def unsubscribe_resource(self, uri: str) -> None:
        self.resource_uris.discard(uri)
        await self.request("resources/unsubscribe", {"uri": uri})

    async def read_resource(self, uri: str) -> list[dict[str, Any]]:
        result = await self.request("resources/read", {"uri": uri})
        contents: list[dict[str, Any]] = result.get("contents", [])
        return contents

    async def notifications(self) -> AsyncIterator[Notification]:
        """Server notifications in arrival order, until :meth:`close` (survives reconnects)."""
        while True:
            while self._notes:
                yield self._notes.popleft()
            if self._closing:
                return
            self._notes_ready.clear()
            await self._notes_ready.wait()

    def on_notification(self, callback: Callable[[Notification], bool] | None) -> None:
        """Handle server notifications synchronously, in the frame callback, with no task hop (bots reacting to ticks).

        ``callback(note)`` runs on the event loop for every server notification as it arrives (in arrival order, before
        the next frame is read), after ``notifications/progress`` of a call with ``on_progress`` was routed there.
        Returning True consumes the notification; returning False (or raising: the error is logged) buffers it for
        :meth:`notifications` / :meth:`drain_notifications` as without a callback. The callback must be quick and must
        not block; it may call :meth:`notify` or start (not await) requests. One callback per client: a new one
        replaces the old, None removes it. It stays across reconnects.

        Args:
            callback: ``(Notification) -> bool`` or None.
        """
        self._note_cb = callback

    def drain_notifications(self) -> list[Notification]:
        """Take every buffered notification without waiting."""
        out = list(self._notes)
        self._notes.clear()
        return out


async def connect(url: str, options: ClientOptions | None = None, **kwargs: Any) -> McpClient:
    """Connect and initialize. ``kwargs`` are :class:`ClientOptions` fields (``token=``, ``ssl=``, ...).

    Raises:
        HandshakeRejected: the server refused the upgrade (401 bad token, 403 origin/host).
        ConnectionError / OSError / TimeoutError: the server is unreachable.
    """
    if kwargs:
        options = ClientOptions(**{**(options.__dict__ if options else {}), **kwargs})
    client = McpClient(url, options)
    await client._open()
    client.connected.set()
    return client
