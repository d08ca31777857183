"""The MCP server protocol engine for one connection (sans-I/O: bytes in, bytes out through a :class:`Sink`).

Speaks both protocol eras the SDKs use (https://modelcontextprotocol.io/specification):

* 2025-11-25 (and earlier handshake versions): ``initialize`` → ``notifications/initialized``; ``ping``; ``tools/list``
  (cursor pagination), ``tools/call``; ``resources/list``, ``resources/templates/list``, ``resources/read``,
  ``resources/subscribe``/``unsubscribe`` → ``notifications/resources/updated``; ``logging/setLevel`` →
  ``notifications/message``; ``notifications/progress``; ``notifications/cancelled`` cancels the handler.
* 2026-07-28: no handshake; each request carries ``_meta["io.modelcontextprotocol/protocolVersion"]`` and client
  capabilities; ``server/discover``; ``subscriptions/listen`` (acknowledged, then updates tagged with the subscription id);
  results carry ``resultType: "complete"``.

Hot path: parse (orjson) → dict dispatch → a sync tool runs inline → encode (orjson) → sink. No pydantic, no task, no
future for sync tools. Async tools run as tasks (cancellable, capped by ``max_in_flight``; excess gets -32005).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol

import orjson

from tradingmcp.server.mcp.registry import McpApp, ToolCallRecord, ToolError, error_result, to_tool_result
from tradingmcp.server.mcp.resources import ResourceHub
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.auth import ANONYMOUS, Principal
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, Kind

log = logging.getLogger("tradingmcp.server.engine")

HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
LATEST_HANDSHAKE = HANDSHAKE_VERSIONS[-1]
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPS = "io.modelcontextprotocol/clientCapabilities"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_PENDING = object()
_INVALID = object()  # orjson could not decode the message
CACHE_HINTS: dict[str, tuple[str, int]] = {
    "tools/list": ("public", 60_000),
    "resources/list": ("public", 60_000),
    "resources/templates/list": ("public", 60_000),
    "resources/read": ("private", 0),  # live market data and account state: always re-read
}
"""2026-07-28 cache hints per method: (``cacheScope``, ``ttlMs`` in ms). Tool and resource lists never change while
the server runs (``listChanged: false``)."""


class _CallClock:
    """When a tools/call was dispatched: monotonic ns (for latency) and wall ms (for the record)."""

    __slots__ = ("ns", "wall_ms")

    def __init__(self) -> None:
        self.ns = time.perf_counter_ns()
        self.wall_ms = time.time_ns() // 1_000_000


class Sink(Protocol):
    """Where a session writes: one connection's outbound queue."""

    def send(self, data: bytes) -> None: ...

    def send_conflatable(self, key: Hashable, data: bytes) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class Call:
    """What a tool sees of its request: who called, and how to report progress or log.

    Built for every tools/call, so it stores only what it was given; ``progress_token`` and ``log_level`` are read
    from the request's ``_meta`` when asked for.
    """

    __slots__ = ("_meta", "request_id", "session")

    def __init__(self, session: ServerSession, request_id: jsonrpc.RequestId, meta: dict[str, Any] | None) -> None:
        self.session = session
        self.request_id = request_id
        self._meta = meta

    @property
    def principal(self) -> Principal:
        """Who called (the connection's token)."""
        return self.session.principal

    @property
    def progress_token(self) -> Any:
        """``_meta.progressToken`` of the request, or None when the caller wants no progress."""
        meta = self._meta
        return meta.get("progressToken") if meta else None

    @property
    def log_level(self) -> str | None:
        """The request's ``_meta`` log level (2026-07-28), else the session's (``logging/setLevel``)."""
        meta = self._meta
        level = meta.get(META_LOG_LEVEL) if meta else None
        return level if isinstance(level, str) else self.session.log_level

    def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send ``notifications/progress`` if the caller asked for it (``_meta.progressToken``)."""
        token = self.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        self.session.sink.send(jsonrpc.encode_notification("notifications/progress", params))

    def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` when ``level`` is at or above the client's chosen level."""
        self.session.log(level, data, logger, self.log_level)


class ServerSession:
    """One client's protocol state. ``on_message`` for each incoming text frame; ``on_closed`` when the socket is gone."""

    def __init__(
        self,
        app: McpApp,
        sink: Sink,
        principal: Principal = ANONYMOUS,
        *,
        resources: ResourceHub | None = None,
        max_in_flight: int = 64,
        on_closed: Callable[[ServerSession], None] | None = None,
    ) -> None:
        self.app = app
        self.sink = sink
        self.principal = principal
        self.resources = resources or ResourceHub()
        self.max_in_flight = max_in_flight
        self.initialized = False
        self.protocol_version: str | None = None
        self.client_info: dict[str, Any] = {}
        self.client_capabilities: dict[str, Any] = {}
        self.log_level: str | None = None
        self.tasks: dict[jsonrpc.RequestId, asyncio.Task[None]] = {}
        self.listeners: dict[jsonrpc.RequestId, set[str]] = {}
        self.closed = False
        self._closed_cb = on_closed
        self._methods: dict[str, Callable[[jsonrpc.RequestId, dict[str, Any], dict[str, Any] | None], Any]] = {
            "tools/call": self._tools_call,
            "tools/list": self._tools_list,
            "ping": self._ping,
            "initialize": self._initialize,
            "server/discover": self._discover,
            "resources/list": self._resources_list,
            "resources/templates/list": self._templates_list,
            "resources/read": self._resources_read,
            "resources/subscribe": self._resources_subscribe,
            "resources/unsubscribe": self._resources_unsubscribe,
            "logging/setLevel": self._set_level,
            "subscriptions/listen": self._listen,
        }

    # ---------------------------------------------------------------- incoming
    def on_message(self, data: bytes | bytearray | memoryview | str) -> None:
        """Handle one incoming message. Never raises: every error becomes a JSON-RPC error or a close."""
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = _INVALID
        parts = jsonrpc.request_parts(obj)  # hot path: a well-formed request skips building a Message
        if parts is not None:
            self._on_request(*parts)
            return
        try:
            if obj is _INVALID:
                jsonrpc.parse(data)  # raises the exact -32700
            msg = jsonrpc.classify(obj)
        except JsonRpcError as exc:
            if exc.code == ErrorCode.PARSE_ERROR and not _valid_utf8(data):
                self.sink.close(CloseCode.INVALID_FRAME_PAYLOAD_DATA, "text frame is not valid UTF-8")
                return
            rid = exc.data.get("id") if isinstance(exc.data, dict) else None
            self.sink.send(jsonrpc.encode_error(rid, exc.code, exc.message))
            return
        if msg.kind is Kind.REQUEST:
            assert msg.id is not None
            self._on_request(msg.id, msg.method, msg.params)
        elif msg.kind is Kind.NOTIFICATION:
            self._on_notification(msg.method, msg.params or {})
        # responses: this server sends no requests, so there is nothing to match; ignore them.

    def _on_request(self, rid: jsonrpc.RequestId, name: str, params: dict[str, Any] | None) -> None:
        method = self._methods.get(name)
        if method is None:
            self.sink.send(jsonrpc.encode_error(rid, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {name}"))
            return
        if params is None:
            params = {}
            meta = None
        else:
            meta = params.get("_meta")
            if meta is not None and not isinstance(meta, dict):
                self.sink.send(
                    jsonrpc.encode_error(rid, ErrorCode.INVALID_PARAMS, "Invalid params: _meta must be an object")
                )
                return
        try:
            modern = False if meta is None and self.initialized else self._era(name, meta)
            result = method(rid, params, meta)
        except JsonRpcError as exc:
            self.sink.send(jsonrpc.encode_error(rid, exc.code, exc.message, exc.data))
            return
        except Exception:
            log.exception("internal error in %s", name)
            self.sink.send(jsonrpc.encode_error(rid, ErrorCode.INTERNAL_ERROR, f"Internal error in {name}"))
            return
        if result is not _PENDING:
            if modern:
                result["resultType"] = "complete"
                hint = CACHE_HINTS.get(name)
                if hint is not None:  # 2026-07-28 (SEP-2549): cacheable results MUST carry cacheScope and ttlMs
                    result.setdefault("cacheScope", hint[0])
                    result.setdefault("ttlMs", hint[1])
            self.sink.send(jsonrpc.encode_result(rid, result))

    def _era(self, method: str, meta: dict[str, Any] | None) -> bool:
        """True for a 2026-07-28 request (version in ``_meta``); enforces the handshake for the older era."""
        version = meta.get(META_VERSION) if meta else None
        if version is not None:
            if version not in MODERN_VERSIONS and version not in HANDSHAKE_VERSIONS:
                raise JsonRpcError(
                    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
                    f"Unsupported protocol version {version!r}",
                    {"supported": [*HANDSHAKE_VERSIONS, *MODERN_VERSIONS], "requested": version},
                )
            if version in MODERN_VERSIONS:
                return True
        if not self.initialized and method not in ("initialize", "ping", "server/discover"):
            raise JsonRpcError(
                ErrorCode.INVALID_REQUEST,
                "Received a request before initialization: send initialize first, "
                f"or carry _meta[{META_VERSION!r}] = {MODERN_VERSIONS[-1]!r} on every request",
            )
        return False

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/cancelled":
            rid = params.get("requestId")
            task = self.tasks.pop(rid, None) if isinstance(rid, str | int) else None
            if task is not None:
                task.cancel()
            if isinstance(rid, str | int) and self.listeners.pop(rid, None) is not None:
                self.resources.listener_gone(self, rid)
        elif method == "notifications/initialized":
            self.initialized = True
        # other notifications (progress, roots/list_changed) need nothing from this server

    # ---------------------------------------------------------------- lifecycle
    def _initialize(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: protocolVersion (string) is required")
        self.protocol_version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE
        caps = params.get("capabilities")
        self.client_capabilities = caps if isinstance(caps, dict) else {}
        info = params.get("clientInfo")
        self.client_info = info if isinstance(info, dict) else {}
        self.initialized = True
        out: dict[str, Any] = {
            "protocolVersion": self.protocol_version,
            "capabilities": self._capabilities(),
            "serverInfo": self.app.server_info(),
        }
        if self.app.instructions:
            out["instructions"] = self.app.instructions
        return out

    def _capabilities(self) -> dict[str, Any]:
        return {
            "tools": {"listChanged": False},
            "resources": {"subscribe": True, "listChanged": False},
            "logging": {},
            "experimental": {"tradingmcp/streams": {"method": "notifications/tradingmcp/stream"}},
        }

    def _discover(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "supportedVersions": [*MODERN_VERSIONS, *reversed(HANDSHAKE_VERSIONS)],
            "capabilities": self._capabilities(),
            "cacheScope": "public",
            "ttlMs": 60_000,
            "_meta": {META_SERVER_INFO: self.app.server_info()},
        }
        if self.app.instructions:
            out["instructions"] = self.app.instructions
        return out

    def _ping(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        return {}

    def _set_level(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        level = params.get("level")
        if level not in LOG_LEVELS:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: level must be one of {list(LOG_LEVELS)}")
        self.log_level = level
        return {}

    def log(self, level: str, data: Any, logger: str | None = None, threshold: str | None = None) -> None:
        """Send ``notifications/message`` if ``level`` >= the threshold (the session's level when not given)."""
        limit = threshold if threshold is not None else self.log_level
        if limit is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(limit):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger:
            params["logger"] = logger
        self.sink.send(jsonrpc.encode_notification("notifications/message", params))

    # ---------------------------------------------------------------- tools
    def _tools_list(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        tools = list(self.app.tools.values())
        start = _cursor(params.get("cursor"), len(tools))
        end = start + self.app.page_size
        out: dict[str, Any] = {"tools": [t.to_wire() for t in tools[start:end]]}
        if end < len(tools):
            out["nextCursor"] = str(end)
        return out

    def _tools_call(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: dict[str, Any] | None) -> Any:
        if not self.app.observers:  # the hot path pays one truth test for observability
            return self._call_tool(rid, params, meta, None)
        started = _CallClock()
        try:
            out = self._call_tool(rid, params, meta, started)
        except JsonRpcError as exc:
            self._observe(started, params, "rpc_error", None, exc.code, exc.message)
            raise
        if out is not _PENDING:
            self._observe_result(started, params, out)
        return out

    def _observe_result(self, started: _CallClock, params: dict[str, Any], result: dict[str, Any]) -> None:
        if result.get("isError"):
            sc = result.get("structuredContent")
            err = sc.get("error") if isinstance(sc, dict) else None
            code = err.get("code") if isinstance(err, dict) else None
            msg = err.get("message") if isinstance(err, dict) else None
            self._observe(started, params, "tool_error", result, code, msg)
        else:
            self._observe(started, params, "ok", result, None, None)

    def _observe(
        self,
        started: _CallClock,
        params: dict[str, Any],
        outcome: str,
        result: dict[str, Any] | None,
        code: str | int | None,
        message: str | None,
    ) -> None:
        name = params.get("name")
        args = params.get("arguments")
        record = ToolCallRecord(
            principal=self.principal.name,
            tool=name if isinstance(name, str) else repr(name),
            arguments=args if isinstance(args, dict) else {},
            outcome=outcome,
            result=result,
            error_code=code,
            error=message,
            latency_us=(time.perf_counter_ns() - started.ns) / 1000,
            time_ms=started.wall_ms,
        )
        for observer in self.app.observers:
            try:
                observer(record)
            except Exception:
                log.exception("tools/call observer failed")

    def _call_tool(
        self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: dict[str, Any] | None, started: _CallClock | None
    ) -> Any:
        name = params.get("name")
        tool = self.app.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Unknown tool: {name!r}")
        args = params.get("arguments")
        if args is None:
            args = {}
        tool.validate(args)
        if tool.scope not in self.principal.scopes:
            return error_result(
                ToolError(
                    f"token {self.principal.name!r} lacks the {tool.scope!r} scope needed by {tool.name}",
                    "forbidden",
                    {"required_scope": tool.scope},
                )
            )
        call = Call(self, rid, meta)
        if not tool.is_async:
            try:
                return to_tool_result(tool.fn(call, args))
            except ToolError as exc:
                return error_result(exc)
        if len(self.tasks) >= self.max_in_flight:
            raise JsonRpcError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"Too many requests in flight on this connection (limit {self.max_in_flight}); wait for answers",
            )
        if rid in self.tasks:
            raise JsonRpcError(ErrorCode.INVALID_REQUEST, f"Request id {rid!r} is already in flight")
        modern = bool(meta and meta.get(META_VERSION) in MODERN_VERSIONS)
        task = asyncio.get_running_loop().create_task(
            self._run_async(rid, tool.fn, call, args, modern, None if started is None else (started, params))
        )
        self.tasks[rid] = task
        return _PENDING

    async def _run_async(
        self,
        rid: jsonrpc.RequestId,
        fn: Callable[..., Any],
        call: Call,
        args: dict[str, Any],
        modern: bool,
        observed: tuple[_CallClock, dict[str, Any]] | None,
    ) -> None:
        try:
            result = to_tool_result(await fn(call, args))
        except asyncio.CancelledError:
            if observed is not None:
                self._observe(*observed, "cancelled", None, None, "cancelled before completion")
            return  # cancelled by notifications/cancelled or the connection closing: never answered
        except ToolError as exc:
            result = error_result(exc)
        except JsonRpcError as exc:
            if observed is not None:
                self._observe(*observed, "rpc_error", None, exc.code, exc.message)
            self._finish(rid, jsonrpc.encode_error(rid, exc.code, exc.message, exc.data))
            return
        except Exception as exc:
            log.exception("tool failed")
            if observed is not None:
                self._observe(*observed, "internal", None, ErrorCode.INTERNAL_ERROR, type(exc).__name__)
            self._finish(rid, jsonrpc.encode_error(rid, ErrorCode.INTERNAL_ERROR, "Internal error in tools/call"))
            return
        if observed is not None:
            self._observe_result(*observed, result)
        if modern:
            result["resultType"] = "complete"
        self._finish(rid, jsonrpc.encode_result(rid, result))

    def _finish(self, rid: jsonrpc.RequestId, data: bytes) -> None:
        if self.tasks.pop(rid, None) is not None and not self.closed:
            self.sink.send(data)

    # ---------------------------------------------------------------- resources
    def _resources_list(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        res = list(self.app.resources.values())
        start = _cursor(params.get("cursor"), len(res))
        end = start + self.app.page_size
        out: dict[str, Any] = {"resources": [r.to_wire() for r in res[start:end]]}
        if end < len(res):
            out["nextCursor"] = str(end)
        return out

    def _templates_list(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        return {"resourceTemplates": [t.to_wire() for t in self.app.templates]}

    def _resources_read(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        uri = _uri(params)
        reader = self.app.find_reader(uri)
        if reader is None:
            raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
        return {"contents": [self.resources.contents(uri, reader(uri))]}

    def _resources_subscribe(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        uri = _uri(params)
        if self.app.find_reader(uri) is None:
            raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
        self.resources.subscribe(self, uri, None)
        return {}

    def _resources_unsubscribe(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> dict[str, Any]:
        self.resources.unsubscribe(self, _uri(params), None)
        return {}

    def _listen(self, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any) -> Any:
        wanted = params.get("notifications")
        if not isinstance(wanted, dict):
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: notifications (object) is required")
        uris = [u for u in wanted.get("resourceSubscriptions") or [] if isinstance(u, str)]
        honoured = [u for u in uris if self.app.find_reader(u) is not None]
        self.listeners[rid] = set(honoured)
        ack = {"notifications": {"resourceSubscriptions": honoured}, "_meta": {META_SUBSCRIPTION: rid}}
        self.sink.send(jsonrpc.encode_notification("notifications/subscriptions/acknowledged", ack))
        for uri in honoured:
            self.resources.subscribe(self, uri, rid)
        return _PENDING  # answered only when the server ends the stream (shutdown)

    def end_listeners(self) -> None:
        """Graceful shutdown: answer every open ``subscriptions/listen`` (the stream ended)."""
        for rid in list(self.listeners):
            self.listeners.pop(rid)
            self.resources.listener_gone(self, rid)
            result = {
                "resultType": "complete",
                "_meta": {META_SUBSCRIPTION: rid, META_SERVER_INFO: self.app.server_info()},
            }
            self.sink.send(jsonrpc.encode_result(rid, result))

    # ---------------------------------------------------------------- teardown
    def on_closed(self) -> None:
        """The connection is gone: cancel running handlers, release subscriptions."""
        if self.closed:
            return
        self.closed = True
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        self.listeners.clear()
        self.resources.release(self)
        if self._closed_cb is not None:
            self._closed_cb(self)


def _cursor(cursor: Any, total: int) -> int:
    if cursor is None:
        return 0
    if isinstance(cursor, str) and cursor.isdigit() and int(cursor) <= total:
        return int(cursor)
    raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: unknown cursor {cursor!r}")


def _uri(params: dict[str, Any]) -> str:
    uri = params.get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: uri (string) is required")
    return uri


def _valid_utf8(data: bytes | bytearray | memoryview | str) -> bool:
    if isinstance(data, str):
        return True
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
