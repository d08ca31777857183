"""The MCP server protocol engine for one connection (sans-I/O: bytes in, bytes out through a :class:`Sink`).

Speaks both protocol eras the SDKs use (https://modelcontextprotocol.io/specification):

* 2025-11-25 (and earlier handshake versions): ``initialize`` → ``notifications/initialized``; ``ping``; ``tools/list``
  (cursor pagination), ``tools/call``; ``resources/list``, ``resources/templates/list``, ``resources/read``,
  ``resources/subscribe``/``unsubscribe`` → ``notifications/resources/updated``; ``logging/setLevel`` →
  ``notifications/message``; ``notifications/progress``; ``notifications/cancelled`` cancels the handler.
* 2026-07-28: no handshake; each request carries ``_meta["io.modelcontextprotocol/protocolVersion"]`` and client
  capabilities; ``server/discover``; ``subscriptions/listen`` (acknowledged, then updates tagged with the subscription id);
  results carry ``resultType: "complete"``.

This module is the session core: parse, era and handshake checks, dispatch, errors, teardown. The handlers live in
:mod:`~tradingmcp.server.mcp.toolcall` (tools), :mod:`~tradingmcp.server.mcp.methods` (lifecycle, resources) and
:mod:`~tradingmcp.server.mcp.prompts` (prompts, completion).
It runs no event loop: messages come in through :meth:`ServerSession.on_message`; bytes go out through a
:class:`~tradingmcp.server.mcp.protocol.Sink`; async work (an async tool) goes out as a decision to the session's
:class:`~tradingmcp.server.mcp.protocol.Shell` (``start(run)``, ``cancel(run)``), which reports the run's end back
into the core (:class:`~tradingmcp.server.mcp.toolcall.ToolRun`). ``notifications/cancelled`` and the connection
closing become ``cancel`` decisions; the in-flight cap counts runs started and not finished.

Routing: everything that answers one message (its response or error, the progress and log lines of its tool call,
an async tool's later answer, a listen stream's updates) goes to the ``reply`` sink given with that message, the
session's own sink when none is given (one WebSocket connection carries all). A shell that routes per request (HTTP:
one JSON-RPC message per POST, answered in that POST's response) passes a sink per message; the session's own sink
then carries only what belongs to no request (stream pushes, ``resources/subscribe`` updates). A request of the
server's own (2025-11-25 sampling, elicitation: :meth:`ServerSession.request`) goes out on the route of the tool call
that asks it; the client's response, on whatever route it arrives, is matched by id.

Hot path: parse (orjson) → dict dispatch → a sync tool runs inline → encode (orjson) → sink. No pydantic, no task, no
future for sync tools.

Limits per connection: at most ``max_in_flight`` async tool calls running (more get -32005, see
:mod:`~tradingmcp.server.mcp.toolcall`), and, with a ``rate_limit``, a token bucket over every request
(:mod:`~tradingmcp.transport.ratelimit`): a request that finds the bucket empty gets -32005 with
``data: {"retry_after_ms": N}`` and a message naming N; notifications are not counted.

A resource that does not exist is -32002 in the handshake era and -32602 (with ``data.uri``) in 2026-07-28
(SEP-2164), whichever handler or reader refused it.

Errors repeat an unknown method name or protocol version through :func:`~tradingmcp.transport.jsonrpc.quote` (at most
``MAX_QUOTED_CHARS`` characters of it; ``jsonrpc.short`` in ``data``), so no answer grows with the caller's input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from tradingmcp.server.mcp import methods, prompts, toolcall
from tradingmcp.server.mcp.call import Call
from tradingmcp.server.mcp.protocol import (
    CACHE_HINTS,
    IS_MODERN,
    LOG_LEVELS,
    NO_SHELL,
    PENDING,
    SUPPORTED_VERSIONS,
    Shell,
    Sink,
)
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.resources import ResourceHub
from tradingmcp.server.mcp.toolcall import ToolRun
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.auth import ANONYMOUS, Principal
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, Kind, quote, short
from tradingmcp.transport.mcpnames import (
    CANCELLED,
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE,
    MESSAGE,
    META_CLIENT_CAPS,
    META_LOG_LEVEL,
    META_SERVER_INFO,
    META_SUBSCRIPTION,
    META_VERSION,
    MODERN_VERSIONS,
)
from tradingmcp.transport.ratelimit import Clock, RateLimit, TokenBucket, retry_after_ms

if TYPE_CHECKING:
    from tradingmcp.server.mcp.asking import Asking

__all__ = [
    "CACHE_HINTS",
    "HANDSHAKE_VERSIONS",
    "LATEST_HANDSHAKE",
    "LOG_LEVELS",
    "META_CLIENT_CAPS",
    "META_LOG_LEVEL",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION",
    "META_VERSION",
    "METHODS",
    "MODERN_VERSIONS",
    "Call",
    "Handler",
    "ServerSession",
    "Shell",
    "Sink",
    "ToolRun",
    "answers_at_once",
]

log = logging.getLogger("tradingmcp.server.engine")

Answered = Callable[[Any, dict[str, Any] | None], None]
"""``on_answer(result, error)`` of a request the server sent: the client's ``result`` (error None), or its ``error``
object (``{"code", "message", ...}``; result None)."""
CONNECTION_CLOSED: dict[str, Any] = {"code": -32000, "message": "Connection closed before the client answered"}
"""The ``error`` a request of the server's own gets when its session closes unanswered."""
Handler = Callable[["ServerSession", jsonrpc.RequestId, dict[str, Any], dict[str, Any] | None, bool, Sink], Any]
"""``handler(session, request_id, params, meta, modern, out) -> result dict | PENDING`` (``out``: the request's route,
for a handler that answers by itself); raises ``JsonRpcError``."""
METHODS: dict[str, Handler] = {
    "tools/call": toolcall.tools_call,
    "tools/list": toolcall.tools_list,
    "ping": methods.ping,
    "initialize": methods.initialize,
    "server/discover": methods.discover,
    "resources/list": methods.resources_list,
    "resources/templates/list": methods.templates_list,
    "resources/read": methods.resources_read,
    "resources/subscribe": methods.resources_subscribe,
    "resources/unsubscribe": methods.resources_unsubscribe,
    "logging/setLevel": methods.set_level,
    "prompts/list": prompts.prompts_list,
    "prompts/get": prompts.prompts_get,
    "completion/complete": prompts.complete,
    "subscriptions/listen": methods.listen,
}
"""Request method → handler (every request this server answers)."""
_HELD = frozenset({"subscriptions/listen"})
"""Methods whose request stays open after ``on_message`` returns (answered when the server ends it)."""
_BEFORE_INITIALIZE = frozenset({"initialize", "ping", "server/discover"})
_INVALID = object()  # orjson could not decode the message
_loads = orjson.loads
_request_parts = jsonrpc.request_parts


class ServerSession:
    """One client's protocol state. ``on_message`` for each incoming message; ``on_closed`` when the client is gone.

    Args:
        app: what the server offers.
        sink: the session's own route (a WebSocket connection's outbound queue).
        principal: who the client is.
        shell: runs the async tool calls (:class:`~tradingmcp.server.mcp.runner.TaskRunner` on asyncio); without one,
            an async tool answers -32603.
        resources: the server's resource subscriptions (shared by every session).
        max_in_flight: most async tool calls running at once (the next one gets -32005).
        on_closed: called once when the session closes.
        rate_limit: the connection's request-rate limit (None or a disabled one: no limit).
        clock: the rate limit bucket's monotonic clock in seconds (None: ``time.monotonic``).
    """

    def __init__(
        self,
        app: McpApp,
        sink: Sink,
        principal: Principal = ANONYMOUS,
        *,
        shell: Shell | None = None,
        resources: ResourceHub | None = None,
        max_in_flight: int = 64,
        on_closed: Callable[[ServerSession], None] | None = None,
        rate_limit: RateLimit | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.app = app
        self.sink = sink
        self.shell: Shell = NO_SHELL if shell is None else shell
        self.principal = principal
        self.resources = resources or ResourceHub()
        self.max_in_flight = max_in_flight
        self.initialized = False
        self.protocol_version: str | None = None
        self.client_info: dict[str, Any] = {}
        self.client_capabilities: dict[str, Any] = {}
        self.log_level: str | None = None
        self.in_flight: dict[jsonrpc.RequestId, ToolRun] = {}
        """Async tool calls started and not yet answered, cancelled or dropped (request id → run)."""
        self.outgoing: dict[jsonrpc.RequestId, Answered] = {}
        """Requests this server sent (2025-11-25 sampling, elicitation) and not yet answered (id → ``on_answer``)."""
        self.asking: dict[jsonrpc.RequestId, Asking] = {}
        """Handshake-era tool calls waiting for the client's answers to their input requests (call id → asking)."""
        self._sent = 0
        self.listeners: dict[jsonrpc.RequestId, Sink] = {}
        """Open ``subscriptions/listen`` streams (request id → the route of their updates and final answer)."""
        self.closed = False
        self._closed_cb = on_closed
        self.rate_limit = rate_limit if rate_limit is not None and rate_limit.enabled else None
        self._bucket: TokenBucket | None = None
        if self.rate_limit is not None:
            self._bucket = TokenBucket(self.rate_limit, clock) if clock is not None else TokenBucket(self.rate_limit)

    @property
    def tasks(self) -> dict[jsonrpc.RequestId, ToolRun]:
        """The async tool calls in flight (:attr:`in_flight`)."""
        return self.in_flight

    # ---------------------------------------------------------------- incoming
    def on_message(self, data: bytes | bytearray | memoryview | str, reply: Sink | None = None) -> None:
        """Handle one incoming message; what answers it goes to ``reply`` (default: the session's sink).

        Never raises: every error becomes a JSON-RPC error or a close (of ``reply``).
        """
        out = self.sink if reply is None else reply
        try:
            obj = _loads(data)
        except orjson.JSONDecodeError:
            obj = _INVALID
        parts = _request_parts(obj)  # hot path: a well-formed request skips building a Message
        if parts is not None:
            rid, method, params = parts
            self._on_request(rid, method, params, out)
            return
        self._on_other(obj, data, out)

    def on_decoded(self, obj: Any, reply: Sink | None = None) -> None:
        """:meth:`on_message` for a message its shell already decoded from JSON (Streamable HTTP reads a POST's body
        to route it): the same answers, without decoding the bytes twice. Never raises."""
        out = self.sink if reply is None else reply
        parts = _request_parts(obj)
        if parts is not None:
            rid, method, params = parts
            self._on_request(rid, method, params, out)
            return
        self._on_other(obj, None, out)

    def _on_other(self, obj: Any, data: bytes | bytearray | memoryview | str | None, out: Sink) -> None:
        """Anything but a well-formed request: undecodable ``data`` (``obj`` is ``_INVALID``), a notification, a
        response, or a malformed message."""
        try:
            if obj is _INVALID and data is not None:
                jsonrpc.parse(data)  # raises the exact -32700
            msg = jsonrpc.classify(obj)
        except JsonRpcError as exc:
            if exc.code == ErrorCode.PARSE_ERROR and data is not None and not _valid_utf8(data):
                out.close(CloseCode.INVALID_FRAME_PAYLOAD_DATA, "text frame is not valid UTF-8")
                return
            echoed = exc.data.get("id") if isinstance(exc.data, dict) else None
            out.send(jsonrpc.encode_error(echoed, exc.code, exc.message))
            return
        if msg.kind is Kind.REQUEST:
            assert msg.id is not None
            self._on_request(msg.id, msg.method, msg.params, out)
        elif msg.kind is Kind.NOTIFICATION:
            self._on_notification(msg.method, msg.params or {})
        else:  # the answer to a request of the server's own; unknown ids (late, duplicate) are ignored
            on_answer = self.outgoing.pop(msg.id, None) if msg.id is not None else None
            if on_answer is not None:
                error = msg.result if msg.kind is Kind.ERROR_RESPONSE else None
                on_answer(None if error is not None else msg.result, error)

    def _on_request(self, rid: jsonrpc.RequestId, name: str, params: dict[str, Any] | None, out: Sink) -> None:
        bucket = self._bucket
        if bucket is not None:
            wait_s = bucket.take()
            if wait_s:
                self._refuse_rate(rid, wait_s, out)
                return
        handler = METHODS.get(name)
        if handler is None:
            out.send(jsonrpc.encode_error(rid, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {quote(name)}"))
            return
        if params is None:
            params = {}
            meta = None
        else:
            meta = params.get("_meta")
            if meta is not None and type(meta) is not dict:
                out.send(jsonrpc.encode_error(rid, ErrorCode.INVALID_PARAMS, "Invalid params: _meta must be an object"))
                return
        modern = False
        try:
            modern = False if meta is None and self.initialized else self._era(name, meta)
            result = handler(self, rid, params, meta, modern, out)
        except JsonRpcError as exc:
            code = exc.code
            if modern and code == ErrorCode.RESOURCE_NOT_FOUND:  # 2026-07-28 (SEP-2164): an unknown uri is -32602
                code = ErrorCode.INVALID_PARAMS
            out.send(jsonrpc.encode_error(rid, code, exc.message, exc.data))
            return
        except Exception:
            log.exception("internal error in %s", name)
            out.send(jsonrpc.encode_error(rid, ErrorCode.INTERNAL_ERROR, f"Internal error in {name}"))
            return
        if result is not PENDING:
            if modern:
                result["resultType"] = "complete"
                hint = CACHE_HINTS.get(name)
                if hint is not None:  # 2026-07-28 (SEP-2549): cacheable results MUST carry cacheScope and ttlMs
                    result.setdefault("cacheScope", hint[0])
                    result.setdefault("ttlMs", hint[1])
            out.send(jsonrpc.encode_result(rid, result))

    def _refuse_rate(self, rid: jsonrpc.RequestId, wait_s: float, out: Sink) -> None:
        """-32005: the connection's request bucket is empty; ``retry_after_ms`` says when one request will pass."""
        ms = retry_after_ms(wait_s)
        limit = self.rate_limit
        assert limit is not None
        out.send(
            jsonrpc.encode_error(
                rid,
                ErrorCode.TOO_MANY_REQUESTS,
                f"Request rate limit exceeded on this connection ({limit.describe()}): retry after {ms} ms",
                {"retry_after_ms": ms},
            )
        )

    def _era(self, method: str, meta: dict[str, Any] | None) -> bool:
        """True for a 2026-07-28 request (version in ``_meta``); enforces the handshake for the older era.

        Raises:
            JsonRpcError: -32022 for a version this server does not speak; -32602 for a 2026-07-28 request whose
                ``_meta`` lacks the client capabilities object (SEP-2575: every request carries them; ``clientInfo``
                is optional); -32600 for a handshake-era request other than ``initialize``/``ping``/
                ``server/discover`` before ``initialize``.
        """
        version = meta.get(META_VERSION) if meta else None
        if version is not None:
            modern = IS_MODERN.get(version) if type(version) is str else None
            if modern is None:
                raise JsonRpcError(
                    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
                    f"Unsupported protocol version {quote(version)}",
                    {"supported": list(SUPPORTED_VERSIONS), "requested": short(version)},
                )
            if modern:
                if type(meta.get(META_CLIENT_CAPS)) is not dict:  # type: ignore[union-attr]
                    raise JsonRpcError(
                        ErrorCode.INVALID_PARAMS,
                        f"Invalid params: _meta[{META_CLIENT_CAPS!r}] (object) is required on every {version} request",
                    )
                return True
        if not self.initialized and method not in _BEFORE_INITIALIZE:
            raise JsonRpcError(
                ErrorCode.INVALID_REQUEST,
                "Received a request before initialization: send initialize first, "
                f"or carry _meta[{META_VERSION!r}] = {MODERN_VERSIONS[-1]!r} on every request",
            )
        return False

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        if method == CANCELLED:
            rid = params.get("requestId")
            if isinstance(rid, str | int):
                self.cancel(rid)
        # ``notifications/initialized`` changes nothing: ``initialize`` itself opened the session, and the notification
        # alone (with no ``initialize`` before it) must not (2025-11-25 "Lifecycle": initialize is the first request).
        # Other notifications (progress, roots/list_changed) need nothing from this server either.

    def cancel(self, rid: jsonrpc.RequestId) -> None:
        """Stop request ``rid``: an async tool call in flight is never answered (its run goes to the shell's
        ``cancel``), nor one waiting for the client's input; an open listen stream ends without an answer. Unknown or
        finished ids are ignored."""
        run = self.in_flight.pop(rid, None)
        if run is not None:
            self.shell.cancel(run)
        asking = self.asking.get(rid)
        if asking is not None:
            asking.cancel()
        if self.listeners.pop(rid, None) is not None:
            self.resources.listener_gone(self, rid)

    # ---------------------------------------------------------------- outgoing
    def request(self, method: str, params: dict[str, Any], sink: Sink, on_answer: Answered) -> jsonrpc.RequestId:
        """Send a request of the server's own to the client through ``sink`` (2025-11-25: ``sampling/createMessage``,
        ``elicitation/create``, ``roots/list`` on the route of the tool call that needs them); ``on_answer`` is called
        once with its response (:data:`Answered`), or with :data:`CONNECTION_CLOSED` when the session closes first.

        The message starts with its method (``{"jsonrpc":"2.0","method":...,"id":...}``), so a per-request route
        (:class:`~tradingmcp.server.http.sse.Reply`) carries it beside its notifications, not as its answer.
        """
        self._sent += 1
        rid = f"s{self._sent}"
        self.outgoing[rid] = on_answer
        sink.send(orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": rid}))
        return rid

    def log(
        self,
        level: str,
        data: Any,
        logger: str | None = None,
        threshold: str | None = None,
        sink: Sink | None = None,
    ) -> None:
        """Send ``notifications/message`` through ``sink`` (default: the session's) if ``level`` >= the threshold (the
        session's level when not given)."""
        limit = threshold if threshold is not None else self.log_level
        if limit is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(limit):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger:
            params["logger"] = logger
        (self.sink if sink is None else sink).send(jsonrpc.encode_notification(MESSAGE, params))

    def end_listeners(self) -> None:
        """Graceful shutdown: answer every open ``subscriptions/listen`` (the stream ended)."""
        methods.end_listeners(self)

    # ---------------------------------------------------------------- teardown
    def on_closed(self) -> None:
        """The connection is gone: cancel the async tool calls in flight (shell ``cancel``), release subscriptions."""
        if self.closed:
            return
        self.closed = True
        runs = list(self.in_flight.values())
        self.in_flight.clear()
        for run in runs:
            self.shell.cancel(run)
        self.listeners.clear()
        unanswered = list(self.outgoing.values())
        self.outgoing.clear()
        for on_answer in unanswered:
            on_answer(None, CONNECTION_CLOSED)
        self.resources.release(self)
        if self._closed_cb is not None:
            self._closed_cb(self)


def answers_at_once(app: McpApp, method: str, params: dict[str, Any] | None, *, modern: bool) -> bool:
    """True when :meth:`ServerSession.on_message` answers a request of ``method`` (with ``params``; ``modern``: of the
    2026-07-28 era) before it returns, its notifications included: every method but the held ones
    (``subscriptions/listen``) and a ``tools/call`` of an async tool (a task of the shell) or, in the handshake era,
    of any tool (one that asks for input waits for the client's answers to requests of the server's own,
    :mod:`~tradingmcp.server.mcp.asking`). A shell that can only answer at once (the Streamable HTTP fast path) asks
    first."""
    if method == "tools/call":
        if not modern:
            return False
        name = params.get("name") if params else None
        tool = app.tools.get(name) if type(name) is str else None
        return tool is None or not tool.is_async
    return method not in _HELD


def _valid_utf8(data: bytes | bytearray | memoryview | str) -> bool:
    if isinstance(data, str):
        return True
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
