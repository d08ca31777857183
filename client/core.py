"""The JSON-RPC bookkeeping of one MCP client, with no socket: request ids, pending calls, deadlines, routing.

:class:`ClientCore` turns calls into request bytes handed to ``self._conn.send_text`` and turns the server's text
frames (:meth:`ClientCore._on_text`) into settled futures, progress callbacks and buffered notifications. It never
opens, reads or reconnects a socket: :class:`~tradingmcp.client.session.McpClient` (the connection shell) sets
``_conn`` when a link is up, clears it when the link drops and calls :meth:`ClientCore._fail_pending`.

Messages follow JSON-RPC 2.0 (https://www.jsonrpc.org/specification) and the MCP base protocol
(https://modelcontextprotocol.io/specification/2025-11-25/basic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple, Protocol

import orjson

from tradingmcp.client.deadlines import DeadlineQueue, SendSweep
from tradingmcp.client.errors import ConnectionLost, RequestTimeout, rpc_error
from tradingmcp.client.options import MODERN_VERSION, ClientOptions
from tradingmcp.transport import jsonrpc, ws
from tradingmcp.transport.mcpnames import CANCELLED, META_CLIENT_CAPS, META_CLIENT_INFO, META_VERSION, PROGRESS

log = logging.getLogger("tradingmcp.client")
_loads = orjson.loads
_dumps = orjson.dumps


class Notification(NamedTuple):
    """A server notification: ``method`` and ``params`` (dict)."""

    method: str
    params: dict[str, Any]


class TextSender(Protocol):
    """What the core writes to: one WebSocket text frame per call (:class:`~tradingmcp.transport.ws.Connection`)."""

    def send_text(self, data: bytes) -> None: ...


class ClientCore:
    """Requests, responses and notifications of one client session (see the module docstring).

    Args:
        options: the client's settings (``timeout_s``, ``protocol_version``, ``client_info``, ``max_notifications``).
    """

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self.dropped_notifications = 0
        self._conn: TextSender | None = None
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop  # set by _bind before the first link is up (no request before that)
        # calls in flight by request id, in send order: with the default timeout (deadlines: the sweep) and with their
        # own timeout (deadlines: the queue); a response is looked up in the first, then in the second
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._pending_own: dict[int, asyncio.Future[Any]] = {}
        self._sweep = SendSweep(options.timeout_s, self._expire_below)
        self._deadlines = DeadlineQueue(self._expire)
        self._progress: dict[Any, Callable[[dict[str, Any]], None]] = {}
        self._notes: deque[Notification] = deque(maxlen=options.max_notifications)
        self._notes_ready = asyncio.Event()
        self._note_cb: Callable[[Notification], bool] | None = None
        self._closing = False
        self._modern = options.protocol_version == MODERN_VERSION
        self._timeout_s = options.timeout_s

    # ---------------------------------------------------------------- inbound
    def _on_text(self, data: ws.TextData) -> None:
        """One text frame from the server: settle a call, route progress, or deliver/buffer a notification."""
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
            if fut is None:
                fut = self._pending_own.pop(rid, None)
            if fut is not None and not fut.done():
                err = msg.get("error")
                if err is None:
                    fut.set_result(msg.get("result"))
                else:
                    fut.set_exception(rpc_error(err))
            return
        method = msg.get("method")
        if not isinstance(method, str):
            return
        params = msg.get("params") or {}
        if rid is not None:  # a server-to-client request: we offer no client features
            self._send(jsonrpc.encode_error(rid, jsonrpc.ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}"))
            return
        if method == PROGRESS:
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

    def _fail_pending(self, exc: BaseException) -> None:
        """The link dropped: fail every call in flight with ``exc`` (they are not re-sent)."""
        for pending in (self._pending, self._pending_own):
            for fut in pending.values():
                if not fut.done():
                    fut.set_exception(exc)
            pending.clear()
        self._notes_ready.set()

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Requests run on ``loop`` (the shell calls this before each (re)connect)."""
        self._loop = loop

    def _close_deadlines(self) -> None:
        """Disarm the deadline timers (the client is closing)."""
        self._sweep.close()
        self._deadlines.close()

    # ---------------------------------------------------------------- outbound
    def _send(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            raise ConnectionLost("not connected")
        conn.send_text(data)

    def _expire(self, fut: asyncio.Future[Any], rid: int, method: str) -> None:
        """The deadline of request ``rid`` (own timeout) passed: fail its caller and tell the server to cancel it."""
        if self._pending_own.get(rid) is fut:
            del self._pending_own[rid]
        self._time_out(fut, rid, f"{method} (request {rid}) got no answer in time")

    def _expire_below(self, limit: int | None) -> None:
        """Default-timeout requests with an id below ``limit`` (all if None) are overdue (see ``SendSweep``)."""
        pending = self._pending
        overdue: list[int] = []
        for rid in pending:  # in send order
            if limit is not None and rid >= limit:
                break
            overdue.append(rid)
        for rid in overdue:
            self._time_out(pending.pop(rid), rid, f"request {rid} got no answer within {self._timeout_s} s")

    def _time_out(self, fut: asyncio.Future[Any], rid: int, text: str) -> None:
        if fut.done():
            return
        fut.set_exception(RequestTimeout(text))
        with contextlib.suppress(ConnectionLost):
            self.notify(CANCELLED, {"requestId": rid, "reason": "client timeout"})

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (no answer).

        Raises:
            ConnectionLost: not connected.
        """
        self._send(jsonrpc.encode_notification(method, params))

    def _start(
        self, method: str, params: dict[str, Any] | None, timeout_s: float | None
    ) -> tuple[int, asyncio.Future[Any]]:
        """Send request ``method``; returns its id and the future its outcome settles (result, or RpcError,
        RequestTimeout, ConnectionLost).

        Raises:
            ConnectionLost: not connected.
        """
        if self._modern:
            meta = {
                META_VERSION: MODERN_VERSION,
                META_CLIENT_CAPS: {},
                META_CLIENT_INFO: self.options.client_info,
            }
            params = {**(params or {}), "_meta": {**meta, **(params or {}).get("_meta", {})}}
        self._next_id = rid = self._next_id + 1
        data = (
            _dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            if params is not None
            else _dumps({"jsonrpc": "2.0", "id": rid, "method": method})
        )
        return rid, self._send_request(rid, data, method, timeout_s)

    def _send_request(self, rid: int, data: bytes, method: str, timeout_s: float | None) -> asyncio.Future[Any]:
        """Send request ``rid`` (``data``: its encoded frame) and track it; returns the future its outcome settles.

        The caller took ``rid`` from ``_next_id`` and encoded the frame itself (``call_tool`` does both in one go).

        Raises:
            ConnectionLost: not connected.
        """
        conn = self._conn
        if conn is None:
            raise ConnectionLost("not connected")
        loop = self._loop
        fut: asyncio.Future[Any] = loop.create_future()
        conn.send_text(data)
        if timeout_s is None or timeout_s == self._timeout_s:  # the default timeout: no per-request deadline entry
            pending = self._pending
            pending[rid] = fut
            now = loop.time()
            sweep = self._sweep
            if now >= sweep.next_mark_at:
                sweep.mark(loop, now, rid, next(iter(pending)))
        else:  # its own timeout: one entry in the deadline queue
            self._pending_own[rid] = fut
            self._deadlines.add(loop, timeout_s, fut, rid, method)
        return fut

    def _forget(self, rid: int) -> None:
        """The caller gave up on request ``rid`` (cancelled): its answer, if any, is dropped."""
        if self._pending.pop(rid, None) is None:
            self._pending_own.pop(rid, None)

    async def request(self, method: str, params: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """Send a request and wait for its result.

        Args:
            method: the JSON-RPC method (``tools/list``, ``resources/read``, ...).
            params: its params (dict), None for none.
            timeout_s: seconds to wait for the answer (default ``options.timeout_s``; ``math.inf``: forever).

        Raises:
            RpcError: the server answered with an error. RequestTimeout: no answer in time (the server is told to
            cancel). ConnectionLost: not connected, or the link dropped before the answer.
        """
        rid, fut = self._start(method, params, timeout_s)
        try:
            return await fut
        except asyncio.CancelledError:
            self._forget(rid)
            raise

    # ---------------------------------------------------------------- notifications
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
