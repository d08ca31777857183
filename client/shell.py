"""The asyncio half of one client session: calls in flight, their deadlines, and the server's notifications.

:class:`ClientShell` writes what the loop-free :class:`~tradingmcp.client.core.ClientCore` encodes to ``self._conn``
and maps each event the core decodes from a server frame onto what waits for it: a response onto the future of the call
it answers, a notification onto the notification callback or the buffer, a server's request for input (2025-11-25)
onto the user's handler (a coroutine handler in a task) and its answer back on the same link. The link hands each frame straight to the
core (``_on_text`` is the core's ``receive``), which calls the shell's handlers. Everything that needs the event loop is
here: one future per call in flight, the deadline timers (:mod:`tradingmcp.client.deadlines`), the event
:meth:`ClientShell.notifications` waits on, and the handlers awaited (:mod:`tradingmcp.client.features`), either for
the server's requests or for the input-required rounds of a request (:meth:`ClientShell._drive_rounds`, over the
loop-free :mod:`tradingmcp.client.rounds`).

It never opens, reads or reconnects a socket: :class:`~tradingmcp.client.session.McpClient` (the connection shell) sets
``_conn`` when a link is up, clears it when the link drops and calls :meth:`ClientShell._fail_pending`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from tradingmcp.client.core import STREAM_METHOD, ClientCore, Handlers, Notification, ProgressHandler, StreamSeqs
from tradingmcp.client.deadlines import DeadlineQueue, SendSweep
from tradingmcp.client.errors import ConnectionLost, InputRequiredError, RequestTimeout, RpcError
from tradingmcp.client.features import ClientFeatures, checked_answer
from tradingmcp.client.options import ClientOptions
from tradingmcp.client.rounds import InputRound, Rounds, is_input_required
from tradingmcp.transport import ws

log = logging.getLogger("tradingmcp.client")


class TextSender(Protocol):
    """What the shell writes to: one WebSocket text frame per call (:class:`~tradingmcp.transport.ws.Connection`)."""

    def send_text(self, data: bytes) -> None: ...


class ClientShell:
    """Requests, responses and notifications of one client session on the event loop (see the module docstring).

    Args:
        options: the client's settings (``timeout_s``, ``protocol_version``, ``client_info``, ``max_notifications``,
            ``max_input_rounds``).
        features: the handlers that answer the server's requests for input (None: none, and no capability declared).

    Attributes:
        options: the settings. dropped_notifications: notifications dropped because the buffer was full.
        stream_seqs: the position of each subscribed stream (:class:`~tradingmcp.client.core.StreamSeqs`): a stream
            message whose ``seq`` was already delivered is dropped here; gaps are counted.
    """

    def __init__(self, options: ClientOptions, features: ClientFeatures | None = None) -> None:
        self.options = options
        self.features = features if features is not None else ClientFeatures()
        self.dropped_notifications = 0
        self.stream_seqs = StreamSeqs()
        handlers = Handlers(
            self._on_response, self._on_note, self._on_server_request, self._on_parse_error, self._on_input_request
        )
        self._core = ClientCore(handlers, options.protocol_version, options.client_info, self.features)
        self._answering: set[asyncio.Task[None]] = set()  # the server's requests being answered (2025-11-25)
        self._on_text: Callable[[ws.TextData], None] = self._core.receive  # the link's frame handler
        self._conn: TextSender | None = None
        self._loop: asyncio.AbstractEventLoop  # set by _bind before the first link is up (no request before that)
        # calls in flight by request id, in send order: with the default timeout (deadlines: the sweep) and with their
        # own timeout (deadlines: the queue); a response is looked up in the first, then in the second
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._pending_own: dict[int, asyncio.Future[Any]] = {}
        self._sweep = SendSweep(options.timeout_s, self._expire_below)
        self._deadlines = DeadlineQueue(self._expire)
        self._notes: deque[Notification] = deque(maxlen=options.max_notifications)
        self._notes_ready = asyncio.Event()
        self._note_cb: Callable[[Notification], bool] | None = None
        self._closing = False
        self._timeout_s = options.timeout_s

    # ---------------------------------------------------------------- what tests and monitors may read
    @property
    def in_flight(self) -> int:
        """Requests sent and not yet settled (answered, failed, timed out or given up by their caller)."""
        return len(self._pending) + len(self._pending_own)

    @property
    def buffered_notifications(self) -> int:
        """Notifications waiting for :meth:`notifications` / :meth:`drain_notifications`."""
        return len(self._notes)

    @property
    def deadline_queue(self) -> DeadlineQueue:
        """The deadlines of requests with their own timeout (``len()``: entries held); for inspection only."""
        return self._deadlines

    @property
    def send_sweep(self) -> SendSweep:
        """The deadlines of requests with the default timeout (``len()``: marks held, ``grain_s``: how late one may
        fire); for inspection only."""
        return self._sweep

    # ---------------------------------------------------------------- inbound
    def _on_response(self, rid: Any, result: Any, err: RpcError | None) -> None:
        """Settle the call ``rid`` answers (an answer nobody waits for any more is dropped)."""
        fut = self._pending.pop(rid, None)
        if fut is None:
            fut = self._pending_own.pop(rid, None)
        if fut is not None and not fut.done():
            if err is None:
                fut.set_result(result)
            else:
                fut.set_exception(err)

    def _on_note(self, note: Notification) -> None:
        """Offer a notification to the callback; buffer it unless the callback consumed it. A stream message goes
        through :attr:`stream_seqs` first (a duplicate goes no further)."""
        if note.method == STREAM_METHOD and not self.stream_seqs.on_message(note.params):
            return
        on_note = self._note_cb
        if on_note is not None:
            try:
                if on_note(note):
                    return
            except Exception:
                log.exception("on_notification callback failed on %s; the notification is buffered", note.method)
        notes = self._notes
        if len(notes) == notes.maxlen:
            self.dropped_notifications += 1
        notes.append(note)
        self._notes_ready.set()

    def _on_server_request(self, rid: Any, method: str, reply: bytes) -> None:
        """A request from the server: answer it with the core's ``-32601`` reply."""
        self._send(reply)

    def _on_input_request(self, rid: Any, method: str, params: dict[str, Any]) -> None:
        """A server's request for input (2025-11-25) that a handler answers, on the link that asked: a plain handler
        in the frame callback, a coroutine handler in a task of its own."""
        conn = self._conn
        try:
            answer = self.features.call(method, params)
        except Exception as exc:
            self._reply(conn, self._refusal(rid, method, exc))
            return
        if not inspect.isawaitable(answer):
            self._reply(conn, self._answered(rid, method, answer))
            return
        task = self._loop.create_task(self._answer_later(conn, rid, method, answer))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer_later(self, conn: TextSender | None, rid: Any, method: str, pending: Awaitable[Any]) -> None:
        try:
            answer = await pending
        except Exception as exc:
            self._reply(conn, self._refusal(rid, method, exc))
            return
        self._reply(conn, self._answered(rid, method, answer))

    def _answered(self, rid: Any, method: str, answer: Any) -> bytes:
        """The reply carrying a handler's ``answer``, or a refusal when it has the wrong shape."""
        try:
            return self._core.encode_answer(rid, checked_answer(method, answer))
        except InputRequiredError as exc:
            return self._refusal(rid, method, exc)

    def _refusal(self, rid: Any, method: str, exc: Exception) -> bytes:
        """The error reply when a handler could not answer: our own errors say why; a handler's exception only its
        type (its message may hold what the user typed), in the log and to the server alike."""
        if isinstance(exc, InputRequiredError):
            log.warning("could not answer the server's %s: %s", method, exc)
            return self._core.encode_refusal(rid, str(exc))
        log.warning("the %s handler raised %s; the server gets an error", method, type(exc).__name__)
        return self._core.encode_refusal(rid, f"the client's {method} handler failed ({type(exc).__name__})")

    def _reply(self, conn: TextSender | None, reply: bytes) -> None:
        if conn is not None and conn is self._conn:  # never an answer on a newer link, whose server did not ask
            conn.send_text(reply)

    async def _answer_round(self, asked: InputRound) -> dict[str, dict[str, Any]]:
        """Every request of one input-required round answered: ``{key: result}``. Plain handlers answer at once, in
        order; coroutine handlers then run concurrently (a task each only when there are several)."""
        features = self.features
        answers: dict[str, dict[str, Any]] = {}
        waiting: dict[str, tuple[str, Awaitable[Any]]] = {}
        try:
            for key, (method, params) in asked.requests.items():
                answer = features.call(method, params)
                if inspect.isawaitable(answer):
                    waiting[key] = (method, answer)
                else:
                    answers[key] = checked_answer(method, answer)
        except BaseException:
            for _, pending in waiting.values():  # never awaited now: closed, so none is left half-started
                if inspect.iscoroutine(pending):
                    pending.close()
            raise
        if len(waiting) == 1:
            [(key, (method, pending))] = waiting.items()
            answers[key] = checked_answer(method, await pending)
        elif waiting:
            done = await asyncio.gather(*(pending for _, pending in waiting.values()))
            for (key, (method, _)), answer in zip(waiting.items(), done, strict=True):
                answers[key] = checked_answer(method, answer)
        return answers

    async def _drive_rounds(
        self,
        method: str,
        params: dict[str, Any],
        result: dict[str, Any],
        timeout_s: float | None,
        on_progress: ProgressHandler | None = None,
    ) -> dict[str, Any]:
        """Answer the input-required ``result`` of request ``method`` (first sent with ``params``) and retry it,
        round after round, until the server gives its final result (2026-07-28 Multi Round-Trip Requests).

        Each retry is a new request with its own ``timeout_s``; the handlers' time is not counted in it.

        Raises:
            InputRequiredError: a request no handler answers, a malformed input-required result, a handler's answer
                of the wrong shape, or more than ``options.max_input_rounds`` rounds. RpcError, RequestTimeout,
                ConnectionLost: as :meth:`request`, for a retry (e.g. ``-32602`` for a state the server refuses).
            Whatever a handler raises.
        """
        if not is_input_required(result):
            return result
        rounds = Rounds(method, params, self.features.methods, self.options.max_input_rounds)
        while is_input_required(result):
            asked = rounds.take(result)
            if asked.delay_s:
                await asyncio.sleep(asked.delay_s)
            retry = rounds.retry_params(asked, await self._answer_round(asked))
            if on_progress is None:
                result = await self.request(method, retry, timeout_s)
            else:
                result = await self._request_with_progress(method, retry, timeout_s, on_progress)
        return result

    def _on_parse_error(self, detail: str) -> None:
        """A frame that is not JSON: logged and dropped."""
        log.warning("server sent invalid JSON; ignored")

    def _fail_pending(self, exc: BaseException) -> None:
        """The link dropped: fail every call in flight with ``exc`` (they are not re-sent)."""
        for pending in (self._pending, self._pending_own):
            for fut in pending.values():
                if not fut.done():
                    fut.set_exception(exc)
            pending.clear()
        self._stop_answering()
        self._notes_ready.set()

    def _stop_answering(self) -> None:
        """The server that asked is gone: stop running handlers for its requests."""
        for task in self._answering:
            task.cancel()

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
            self._send(self._core.encode_cancel(rid))

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (no answer).

        Raises:
            ConnectionLost: not connected.
        """
        self._send(self._core.encode_notification(method, params))

    def _send_request(self, rid: int, data: bytes, method: str, timeout_s: float | None) -> asyncio.Future[Any]:
        """Send request ``rid`` (``data``: the frame the core encoded for it) and track it; returns the future its
        outcome settles (result, or RpcError, RequestTimeout, ConnectionLost).

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
        rid, data = self._core.encode_request(method, params)
        fut = self._send_request(rid, data, method, timeout_s)
        try:
            return await fut
        except asyncio.CancelledError:
            self._forget(rid)
            raise

    async def _request_with_progress(
        self, method: str, params: dict[str, Any], timeout_s: float | None, on_progress: ProgressHandler
    ) -> Any:
        """:meth:`request` asking for progress: ``on_progress(params)`` for each ``notifications/progress`` of it."""
        core = self._core
        rid, data = core.encode_request(method, params, on_progress=on_progress)
        try:
            fut = self._send_request(rid, data, method, timeout_s)
            try:
                return await fut
            except asyncio.CancelledError:
                self._forget(rid)
                raise
        finally:
            core.end_progress(rid)

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
