"""The MCP endpoint over Streamable HTTP: ``POST``/``GET``/``DELETE`` on the WebSocket endpoint's path, both eras, on
the same loop-free engine the WebSocket face drives (:class:`~tradingmcp.server.mcp.engine.ServerSession`, each message
answered through its own :class:`~tradingmcp.server.http.sse.Reply`).

Follows https://modelcontextprotocol.io/specification/2025-11-25/basic/transports (Streamable HTTP) and the 2026-07-28
edition of the same page. Which era a request belongs to is its ``MCP-Protocol-Version`` header: 2026-07-28 is the
stateless era; a handshake version, or none, the session era (none: the version negotiated at ``initialize``). A
version this server does not speak is HTTP 400: on a request carrying ``Mcp-Session-Id`` (and on ``GET``/``DELETE``)
-32600 with ``data.supported``; otherwise the stateless era's checks answer it (-32022 when body and header agree). A
POST whose body's ``_meta`` names 2026-07-28 but that has no ``MCP-Protocol-Version`` header (nor a session) is 400 with
-32020.

**2026-07-28 (stateless).** One JSON-RPC message per POST, no session: protocol version and client capabilities ride
in each request's ``_meta``. The ``MCP-Protocol-Version``, ``Mcp-Method`` and (``tools/call``, ``resources/read``,
``prompts/get``) ``Mcp-Name`` headers must equal the body's values, and so must the ``Mcp-Param-*`` headers of a
``tools/call`` whose tool marks parameters ``x-mcp-header`` (:mod:`~tradingmcp.server.mcp.xheader`; Base64 sentinel
values decoded first), else HTTP 400 with -32020; a body whose ``_meta``
lacks the protocol version (or the client capabilities, which the engine checks) is HTTP 400 with -32602. Each POST gets an engine
session of its own that ends with the response, so a client that leaves cancels its call. A notification POST is 202.
``subscriptions/listen`` is a long-lived SSE response: ``notifications/subscriptions/acknowledged`` first, then the
updates it asked for, tagged with its subscription id. Methods the era removed (``initialize``, ``ping``,
``logging/setLevel``, ``resources/subscribe``/``unsubscribe``) answer -32601 (HTTP 404).

**2025-11-25 (sessions).** ``initialize`` (POST without a session id) answers with an ``Mcp-Session-Id`` header; every
later POST carries it (missing: 400; unknown, ended or expired: 404). ``GET`` opens the session's SSE stream of
server messages (one at a time: a second gets 409); events carry ids, and a ``GET`` with ``Last-Event-ID`` replays the
held events after it (an id of another session: 400). ``DELETE`` ends the session.

**Either era.** A request's answer is JSON when it comes before anything else is said (within ``sse_defer_s``), else
an SSE stream scoped to that request that carries its progress and log notifications and ends with its answer; a held
stream gets a comment line after ``sse_keepalive_s`` of quiet, and one whose client stops reading is cut off past
``sse_limit_bytes``. Bad input, each with a JSON-RPC error body: a body that is not JSON → 400 (-32700); not one
JSON-RPC message → 400 (-32600); ``Content-Type`` other than ``application/json`` → 415; an ``Accept`` without
``application/json`` and ``text/event-stream`` → 406; a body over the message limit → 413. JSON-RPC errors of the stateless era carry the
status of their code (400 for -32700/-32600/-32602/-32020/-32021/-32022, 404 for -32601); the session era answers
them with 200, as its clients expect.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

from tradingmcp.server.http.guard import json_error, principal_of
from tradingmcp.server.http.sessions import EventLog, HttpSession, SessionTable
from tradingmcp.server.http.sse import SSE_HEADERS, Reply, SseOut, is_notification, sse_event
from tradingmcp.server.mcp.engine import ServerSession, answers_at_once
from tradingmcp.server.mcp.protocol import SUPPORTED_VERSIONS
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.resources import ResourceHub
from tradingmcp.server.mcp.runner import TaskRunner
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.mcp.xheader import decode_value, param_mismatch
from tradingmcp.transport import jsonrpc, ws
from tradingmcp.transport.auth import ANONYMOUS, Principal
from tradingmcp.transport.jsonrpc import ErrorCode, quote, short
from tradingmcp.transport.mcpnames import HANDSHAKE_VERSIONS, META_VERSION, MODERN_VERSIONS

log = logging.getLogger("tradingmcp.server.http")

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"
HEADER_MISMATCH = -32020
"""2026-07-28: an ``Mcp-*``/``MCP-Protocol-Version`` header is missing or disagrees with the body."""
NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
"""2026-07-28: the methods whose ``Mcp-Name`` header mirrors a body parameter, and which parameter."""
REMOVED_2026 = frozenset({"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
"""Methods the 2026-07-28 era removed: answered -32601 on its path."""
STATUS_OF_CODE = {
    ErrorCode.PARSE_ERROR: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_PARAMS: 400,
    ErrorCode.METHOD_NOT_FOUND: 404,
    HEADER_MISMATCH: 400,
    -32021: 400,  # missing required client capability
    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION: 400,
}
"""2026-07-28: the HTTP status of a JSON-RPC error answered as JSON (others: 200)."""
_JSON = "application/json"
_SSE = "text/event-stream"
_ERROR_AT = b'"error":'
_SSE_EXTRA = tuple((name, value) for name, value in SSE_HEADERS.items() if name != "Content-Type")
Headers = MultiMapping[str]
"""A request's headers, case-insensitive (aiohttp's, or the fast path's): ``get``; ``getall`` where repeats matter."""


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """Limits of the HTTP MCP endpoint (units in names)."""

    max_body_bytes: int = 1 << 20
    max_in_flight: int = 64
    sse_limit_bytes: int = 8 << 20
    session_idle_s: float = 900.0
    replay_events: int = 1024
    replay_bytes: int = 4 << 20
    sse_defer_s: float = 15.0
    """How long an answer may take before the response commits to SSE with nothing to say yet."""
    sse_keepalive_s: float = 15.0
    """An open SSE response quiet this long gets a comment line (proxies keep it open; a gone client is noticed)."""


@dataclass(frozen=True, slots=True)
class AtOnce:
    """A POST the fast path answers: its decoded body, and its 2025-11-25 session (None: the 2026-07-28 era, or
    ``opens``: a 2025-11-25 ``initialize``)."""

    obj: dict[str, Any]
    session: HttpSession | None
    opens: bool = False


def accepts(request: web.Request) -> tuple[bool, bool]:
    """``(json, sse)``: whether the ``Accept`` header takes ``application/json`` and ``text/event-stream`` (with
    ``*/*``, ``application/*``, ``text/*`` wildcards)."""
    return _accepts(request.headers.get("Accept", ""))


@functools.lru_cache(maxsize=256)
def _accepts(header: str) -> tuple[bool, bool]:
    kinds = {part.split(";", 1)[0].strip().lower() for part in header.split(",")}
    anything = "*/*" in kinds
    return anything or _JSON in kinds or "application/*" in kinds, anything or _SSE in kinds or "text/*" in kinds


def decode_header_value(value: str | None) -> str | None:
    """An ``Mcp-Name`` value as sent: verbatim, or the UTF-8 text of a ``=?base64?...?=`` value (None when absent,
    malformed, or carrying characters a header value may not)."""
    return None if value is None else decode_value(value)


def header_mismatch(
    request: web.Request | Headers, method: str, params: dict[str, Any] | None, app: McpApp | None = None
) -> str | None:
    """2026-07-28: what is wrong with the mirrored headers of a request (or of its ``headers``; None: nothing):
    ``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name`` and, for a ``tools/call`` of a tool of ``app`` with
    ``x-mcp-header`` parameters, their ``Mcp-Param-*`` headers
    (:func:`~tradingmcp.server.mcp.xheader.param_mismatch`)."""
    meta = params.get("_meta") if params else None
    version = meta.get(META_VERSION) if isinstance(meta, dict) else None
    headers = request.headers if isinstance(request, web.BaseRequest) else request
    if headers.get(VERSION_HEADER) != version:
        return f"{VERSION_HEADER} header does not match the request's _meta protocol version"
    if len(headers.getall(METHOD_HEADER, ())) > 1 or len(headers.getall(NAME_HEADER, ())) > 1:
        return f"{METHOD_HEADER} or {NAME_HEADER} header appears more than once"
    if headers.get(METHOD_HEADER) != method:
        return f"{METHOD_HEADER} header does not match the request body's method"
    key = NAME_BEARING.get(method)
    if key is not None and params is not None:
        value = params.get(key)
        if value is not None and decode_header_value(headers.get(NAME_HEADER)) != value:
            return f"{NAME_HEADER} header does not match the request body's {key!r} parameter"
        if app is not None and method == "tools/call" and isinstance(value, str):
            tool = app.tools.get(value)
            if tool is not None and tool.header_params:
                arguments = params.get("arguments")
                return param_mismatch(tool.header_params, lambda name: headers.getall(name, []), arguments)
    return None


def _error_code(data: bytes) -> int | None:
    """The ``error.code`` of an encoded error response (None for a result)."""
    if _ERROR_AT not in data:  # most answers: no parse
        return None
    err = orjson.loads(data).get("error")
    code = err.get("code") if isinstance(err, dict) else None
    return code if isinstance(code, int) else None


class McpEndpoint:
    """The handlers of ``POST``, ``GET`` and ``DELETE`` on the MCP path.

    Args:
        app: what the server offers.
        resources, streams: the server's resource subscriptions and push streams (shared with the WebSocket face).
        settings: limits.
        accepting: False while starting or draining (requests then get 503).
    """

    def __init__(
        self,
        app: McpApp,
        resources: ResourceHub,
        streams: StreamHub,
        settings: EndpointSettings,
        accepting: Callable[[], bool],
    ) -> None:
        self.app = app
        self.resources = resources
        self.streams = streams
        self.settings = settings
        self.accepting = accepting
        self.sessions = SessionTable(settings.session_idle_s)
        self.open_posts: set[ServerSession] = set()
        """Engine sessions of 2026-07-28 POSTs still answering (a listen stream stays here while open)."""

    # ------------------------------------------------------------ plumbing
    def _engine(self, sink: Any, principal: Principal, runner: TaskRunner | None) -> ServerSession:
        return ServerSession(
            self.app,
            sink,
            principal,
            shell=runner,
            resources=self.resources,
            max_in_flight=self.settings.max_in_flight,
        )

    async def _read_body(self, request: web.Request) -> bytes | web.Response:
        """The body, or the refusal of its Content-Type, Accept or size."""
        ctype = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != _JSON:
            return json_error(
                415, ErrorCode.INVALID_REQUEST, "Unsupported Media Type: Content-Type must be application/json"
            )
        want_json, want_sse = accepts(request)
        if not (want_json and want_sse):
            return json_error(
                406,
                ErrorCode.INVALID_REQUEST,
                "Not Acceptable: Accept must list application/json and text/event-stream",
            )
        limit = self.settings.max_body_bytes
        length = request.content_length
        if length is not None:
            if length > limit:
                return json_error(413, ErrorCode.INVALID_REQUEST, f"Payload Too Large: the limit is {limit} bytes")
            content = request.content
            data = content.read_nowait(length)  # what already arrived (usually all of it) without a wait
            if len(data) < length:
                data += await content.readexactly(length - len(data))
            return data
        body = bytearray()  # chunked: the limit holds while reading
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > limit:
                return json_error(413, ErrorCode.INVALID_REQUEST, f"Payload Too Large: the limit is {limit} bytes")
        return bytes(body)

    # ------------------------------------------------------------ POST
    async def post(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting():
            return json_error(503, ErrorCode.INVALID_REQUEST, "Service Unavailable: starting or shutting down")
        body = await self._read_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return json_error(400, ErrorCode.PARSE_ERROR, "Parse error: the body is not JSON")
        if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
            return json_error(400, ErrorCode.INVALID_REQUEST, "Invalid Request: the body must be one JSON-RPC message")
        principal = principal_of(request) or ANONYMOUS
        version = request.headers.get(VERSION_HEADER)
        if version is None:
            if _claims_modern(obj) and SESSION_HEADER not in request.headers:
                rid = obj.get("id")
                missing = (
                    f"{VERSION_HEADER} header is required on every 2026-07-28 request (the body's _meta names one)"
                )
                return _json(
                    jsonrpc.encode_error(rid if isinstance(rid, str | int) else None, HEADER_MISMATCH, missing), 400
                )
        elif version in MODERN_VERSIONS or (
            version not in HANDSHAKE_VERSIONS and SESSION_HEADER not in request.headers
        ):
            return await self._post_stateless(request, body, obj, principal)
        elif version not in HANDSHAKE_VERSIONS:
            return _unsupported_version(version)
        return await self._post_session(request, body, obj, principal, version)

    async def _post_stateless(
        self, request: web.Request, body: bytes, obj: dict[str, Any], principal: Principal
    ) -> web.StreamResponse:
        checked = self._stateless_checks(request.headers, obj)
        if isinstance(checked, web.Response):
            return checked
        reply = Reply()
        runner = TaskRunner()
        engine = self._engine(reply, principal, runner)
        self.open_posts.add(engine)
        try:
            engine.on_decoded(obj, reply)
            return await self._answer(request, reply, status_of_code=True)
        finally:
            self.open_posts.discard(engine)
            engine.on_closed()  # a client that left before the answer cancels its call; listens end
            self.streams.release(reply)

    def _stateless_checks(
        self, headers: Headers, obj: dict[str, Any]
    ) -> web.Response | tuple[str, dict[str, Any] | None]:
        """2026-07-28: the refusal of a POSTed message before the engine sees it (a notification's 202 included), or
        the ``(method, params)`` of a request the engine may take."""
        method = obj.get("method")
        if "id" not in obj:
            if isinstance(method, str):
                return web.Response(status=202)  # client notifications change nothing without a session
            return json_error(400, ErrorCode.INVALID_REQUEST, "Invalid Request: a client sends requests, not responses")
        rid = obj.get("id")
        params = obj.get("params")
        if (
            not isinstance(method, str)
            or not isinstance(rid, str | int)
            or (params is not None and not isinstance(params, dict))
        ):
            return json_error(400, ErrorCode.INVALID_REQUEST, "Invalid Request: the body must be one JSON-RPC request")
        meta = params.get("_meta") if params else None
        if not isinstance(meta, dict) or META_VERSION not in meta:  # SEP-2575: a malformed request, not a mismatch
            missing = f"Invalid params: _meta[{META_VERSION!r}] is required on every 2026-07-28 request"
            return _json(jsonrpc.encode_error(rid, ErrorCode.INVALID_PARAMS, missing), 400)
        wrong = header_mismatch(headers, method, params, self.app)
        if wrong is not None:
            return _json(jsonrpc.encode_error(rid, HEADER_MISMATCH, wrong), 400)
        if method in REMOVED_2026:
            return _json(
                jsonrpc.encode_error(
                    rid, ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method} (removed in 2026-07-28)"
                ),
                404,
            )
        return method, params

    # ------------------------------------------------------------ POST answered at once (the fast path)
    def at_once(self, headers: Headers, body: bytes, principal: Principal) -> AtOnce | None:
        """A POST of ``principal`` that :meth:`answer_at_once` can answer, else None (the aiohttp handlers then take
        it and give every refusal). Such a POST passes every check of :meth:`post` on the way to the engine:
        accepting, ``Content-Type``, ``Accept``, one JSON-RPC request, either a 2026-07-28 one with its mirrored
        headers or one of a live 2025-11-25 session of ``principal`` (``initialize`` without one); and the engine
        answers it before it returns (:func:`~tradingmcp.server.mcp.engine.answers_at_once`: in the 2025-11-25 era no
        ``tools/call``, since any tool may ask the client for input). Changes nothing."""
        if not self.accepting():
            return None
        if headers.get("Content-Type", "").split(";", 1)[0].strip().lower() != _JSON:
            return None
        if _accepts(headers.get("Accept", "")) != (True, True):
            return None
        version = headers.get(VERSION_HEADER)
        modern = version in MODERN_VERSIONS
        if not modern and version is not None and version not in HANDSHAKE_VERSIONS:
            return None
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
            return None
        session = None
        if modern:
            checked = self._stateless_checks(headers, obj)
            if isinstance(checked, web.Response):
                return None
            method, params = checked
        else:
            sid = headers.get(SESSION_HEADER)
            named, params = obj.get("method"), obj.get("params")
            if not isinstance(named, str) or (params is not None and not isinstance(params, dict)):
                return None
            if sid is None:  # initialize opens a session; anything else without one is refused
                if version is None and _claims_modern(obj):
                    return None  # a 2026-07-28 body without its header: -32020
                return AtOnce(obj, None, opens=True) if named == "initialize" and "id" in obj else None
            session = self._session(sid, principal)
            if session is None or named == "initialize":
                return None
            if "id" not in obj:
                return AtOnce(obj, session)  # a notification: 202
            method = named
        return AtOnce(obj, session) if answers_at_once(self.app, method, params, modern=modern) else None

    def answer_at_once(self, taken: AtOnce, principal: Principal) -> ws.HttpResponse:
        """The answer to a POST :meth:`at_once` took: JSON, or an SSE body that ends with it (the notifications the
        engine sent first, each an event), as :meth:`post` would answer it."""
        if taken.opens:
            answer, opened = self._initialize(taken.obj, principal)
            return ws.HttpResponse(200, answer, () if opened is None else ((SESSION_HEADER, opened),), _JSON)
        reply = Reply()
        session = taken.session
        if session is not None:
            session.touch()
            session.engine.on_decoded(taken.obj, reply)
            if "id" not in taken.obj:
                return ws.HttpResponse(202)
        else:
            engine = self._engine(reply, principal, None)
            self.open_posts.add(engine)
            try:
                engine.on_decoded(taken.obj, reply)
            finally:
                self.open_posts.discard(engine)
                engine.on_closed()
                self.streams.release(reply)
        final = reply.final
        if final is None:  # answers_at_once was wrong about this method: a bug, not the client's fault
            log.error("no answer at once to %s", short(str(taken.obj.get("method"))))
            return ws.HttpResponse(
                500, jsonrpc.encode_error(None, ErrorCode.INTERNAL_ERROR, "Internal error"), content_type=_JSON
            )
        if reply.notes:
            events = b"".join(sse_event(note) for note in reply.notes) + sse_event(final)
            return ws.HttpResponse(200, events, _SSE_EXTRA, _SSE)
        code = _error_code(final) if session is None else None  # the session era answers errors with 200
        return ws.HttpResponse(200 if code is None else STATUS_OF_CODE.get(code, 200), final, content_type=_JSON)

    async def _post_session(
        self, request: web.Request, body: bytes, obj: dict[str, Any], principal: Principal, version: str | None
    ) -> web.StreamResponse:
        sid = request.headers.get(SESSION_HEADER)
        if obj.get("method") == "initialize" and "id" in obj:
            if sid is not None:
                return json_error(
                    400,
                    ErrorCode.INVALID_REQUEST,
                    "Bad Request: initialize opens a session; send it without Mcp-Session-Id",
                )
            answer, opened = self._initialize(obj, principal)
            return _json(answer, 200, None if opened is None else {SESSION_HEADER: opened})
        if sid is None:
            return json_error(
                400,
                ErrorCode.INVALID_REQUEST,
                f"Bad Request: {SESSION_HEADER} header is required (send initialize first)",
            )
        found = self._session(sid, principal)
        if found is None:
            return json_error(
                404, ErrorCode.INVALID_REQUEST, "Session not found: it ended or expired; initialize again"
            )
        found.touch()
        if "id" not in obj or "method" not in obj:  # a notification (cancel, initialized) or a response
            found.engine.on_decoded(obj, Reply())
            return web.Response(status=202)
        reply = Reply()
        found.engine.on_decoded(obj, reply)
        return await self._answer(request, reply, status_of_code=False)

    def _initialize(self, obj: dict[str, Any], principal: Principal) -> tuple[bytes, str | None]:
        """2025-11-25 ``initialize``: the answer, and the id of the session it opened (None: it failed)."""
        log_ = EventLog(self.settings.replay_events, self.settings.replay_bytes, lambda: None)
        session = HttpSession(lambda sink, runner: self._engine(sink, principal, runner), log_)
        log_.on_close = lambda: self._end(session.id)
        reply = Reply()
        session.engine.on_decoded(obj, reply)
        if reply.final is not None and _error_code(reply.final) is None:
            self.sessions.add(session)
            return reply.final, session.id
        session.end()
        return reply.final or jsonrpc.encode_error(None, ErrorCode.INVALID_REQUEST, "initialize failed"), None

    def _end(self, sid: str) -> None:
        self.sessions.end(sid)

    def _session(self, sid: str, principal: Principal) -> HttpSession | None:
        """The live session ``sid`` opened by ``principal`` (another token's session is not found either)."""
        session = self.sessions.get(sid)
        if session is None or session.principal.name != principal.name:
            return None
        return session

    async def _answer(self, request: web.Request, reply: Reply, *, status_of_code: bool) -> web.StreamResponse:
        """JSON when the answer comes before anything else (within ``sse_defer_s``); else an SSE stream."""
        if reply.final is None and not reply.notes and reply.closed is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.sse_defer_s):
                    await reply.changed.wait()
        final = reply.final
        if reply.closed is not None:
            return json_error(400, ErrorCode.PARSE_ERROR, f"Parse error: {reply.closed[1]}")
        if final is not None and not reply.notes:
            status = 200
            if status_of_code:
                code = _error_code(final)
                if code is not None:
                    status = STATUS_OF_CODE.get(code, 200)
            return _json(final, status)
        response = web.StreamResponse(status=200, headers=SSE_HEADERS)
        await response.prepare(request)
        out = SseOut(request, response, self.settings.sse_limit_bytes, self.settings.sse_keepalive_s)
        reply.stream_to(out)
        with contextlib.suppress(ConnectionError):
            await out.run()
        return response

    # ------------------------------------------------------------ GET (2025-11-25 session stream)
    async def get(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting():
            return json_error(503, ErrorCode.INVALID_REQUEST, "Service Unavailable: starting or shutting down")
        version = request.headers.get(VERSION_HEADER)
        if version in MODERN_VERSIONS:
            return web.Response(
                status=405, headers={"Allow": "POST"}, text="2026-07-28 has no GET stream: use subscriptions/listen\n"
            )
        if version is not None and version not in HANDSHAKE_VERSIONS:
            return _unsupported_version(version)
        if not accepts(request)[1]:
            return json_error(406, ErrorCode.INVALID_REQUEST, "Not Acceptable: Accept must list text/event-stream")
        sid = request.headers.get(SESSION_HEADER)
        if sid is None:
            return json_error(400, ErrorCode.INVALID_REQUEST, f"Bad Request: {SESSION_HEADER} header is required")
        session = self._session(sid, principal_of(request) or ANONYMOUS)
        if session is None:
            return json_error(
                404, ErrorCode.INVALID_REQUEST, "Session not found: it ended or expired; initialize again"
            )
        events = session.log.after(request.headers.get("Last-Event-ID"))
        if events is None:
            return json_error(
                400, ErrorCode.INVALID_REQUEST, "Bad Request: Last-Event-ID is not an event of this session"
            )
        if session.log.live is not None:
            return json_error(409, ErrorCode.INVALID_REQUEST, "Conflict: this session's GET stream is already open")
        response = web.StreamResponse(status=200, headers=SSE_HEADERS)
        await response.prepare(request)
        out = SseOut(request, response, self.settings.sse_limit_bytes, self.settings.sse_keepalive_s)
        for frame in events:
            out.push(frame)
        session.log.live = out
        session.touch()
        try:
            with contextlib.suppress(ConnectionError):
                await out.run()
        finally:
            if session.log.live is out:
                session.log.live = None
            session.touch()
        return response

    # ------------------------------------------------------------ DELETE
    async def delete(self, request: web.Request) -> web.StreamResponse:
        version = request.headers.get(VERSION_HEADER)
        if version in MODERN_VERSIONS:
            return web.Response(status=405, headers={"Allow": "POST"}, text="2026-07-28 has no sessions to end\n")
        if version is not None and version not in HANDSHAKE_VERSIONS:
            return _unsupported_version(version)
        sid = request.headers.get(SESSION_HEADER)
        if sid is None:
            return json_error(400, ErrorCode.INVALID_REQUEST, f"Bad Request: {SESSION_HEADER} header is required")
        session = self._session(sid, principal_of(request) or ANONYMOUS)
        if session is None:
            return json_error(404, ErrorCode.INVALID_REQUEST, "Session not found: it ended or expired")
        self.sessions.end(sid)
        return web.Response(status=204)

    # ------------------------------------------------------------ lifecycle
    def end_listeners(self) -> None:
        """Graceful shutdown: answer every open listen stream and end every GET stream."""
        for engine in list(self.open_posts):
            engine.end_listeners()
        for session in list(self.sessions.by_id.values()):
            session.engine.end_listeners()
            live = session.log.live
            if live is not None:
                live.finish()

    def close(self) -> None:
        """End every session."""
        self.sessions.end_all()

    async def sweep_forever(self, every_s: float = 30.0) -> None:
        """End idle sessions every ``every_s`` seconds."""
        while True:
            await asyncio.sleep(every_s)
            self.sessions.sweep()

    @property
    def active(self) -> int:
        """Sessions plus stateless requests being answered."""
        return len(self.sessions) + len(self.open_posts)


def _claims_modern(obj: dict[str, Any]) -> bool:
    """The body's ``_meta`` names a 2026-07-28 protocol version."""
    params = obj.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and meta.get(META_VERSION) in MODERN_VERSIONS


def _unsupported_version(version: str) -> web.Response:
    """2025-11-25: a session-era request whose ``MCP-Protocol-Version`` this server does not speak is 400."""
    message = f"Bad Request: unsupported {VERSION_HEADER} {quote(version)}; supported: {', '.join(SUPPORTED_VERSIONS)}"
    data = {"supported": list(SUPPORTED_VERSIONS), "requested": short(version)}
    return _json(jsonrpc.encode_error(None, ErrorCode.INVALID_REQUEST, message, data), 400)


def _json(data: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=data, content_type=_JSON, headers=headers)


__all__ = ["EndpointSettings", "McpEndpoint", "accepts", "header_mismatch", "is_notification"]
