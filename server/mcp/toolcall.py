"""``tools/list`` and the ``tools/call`` path: validate, check scope, run, answer; observers see every finished
call once its answer is written.

Follows MCP 2025-11-25 "Tools" (https://modelcontextprotocol.io/specification/2025-11-25/server/tools): a tool failure
is a result with ``isError: true`` (:class:`~tradingmcp.server.mcp.registry.ToolError`, a missing scope, a deadline),
while an unknown tool or invalid arguments are JSON-RPC errors (-32602). An unknown tool's name is repeated in the
message through :func:`~tradingmcp.transport.jsonrpc.quote` (at most ``MAX_QUOTED_CHARS`` characters of it), and
observers get a non-string name as its bounded ``quote``.

Hot path (a sync tool returning a dict, no observers): the tool runs inline and the response is built from three
``orjson.dumps`` pieces (the value, its JSON text as a string, the id) joined as bytes: no result dict, no second
serialization of the value.

An async tool is a decision for the session's shell (:class:`~tradingmcp.server.mcp.protocol.Shell`): the core counts
it in flight (at most ``max_in_flight``; excess gets -32005), hands the shell a :class:`ToolRun`, and the shell awaits
``run.work()`` as a task within ``run.deadline_s`` and reports the end through ``run.returned``/``raised``/
``cancelled``/``expired``; the core encodes the answer. No event loop here.

A 2026-07-28 tool may ask the client for input by raising :class:`~tradingmcp.server.mcp.mrtr.InputRequired` (sync
or async alike): the answer is then an ``InputRequiredResult`` with a sealed ``requestState``, and the retry's
``inputResponses`` and verified state reach the tool as ``call.inputs`` (a tampered or foreign state is -32602 before
the tool runs). In the handshake era the server asks instead, with requests of its own
(:mod:`~tradingmcp.server.mcp.asking`), and runs the tool again with the answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import orjson

from tradingmcp.server.mcp.asking import MAX_ROUNDS, Asking
from tradingmcp.server.mcp.call import Call
from tradingmcp.server.mcp.mrtr import InputRequired, Inputs, checked_requests
from tradingmcp.server.mcp.protocol import PENDING, Sink, list_page
from tradingmcp.server.mcp.registry import Tool, ToolCallRecord, ToolError, error_result, to_tool_result
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS

if TYPE_CHECKING:
    from tradingmcp.server.mcp.engine import ServerSession

log = logging.getLogger("tradingmcp.server.engine")

_dumps = orjson.dumps
_HEAD = b'{"jsonrpc":"2.0","id":'
_TEXT = b',"result":{"content":[{"type":"text","text":'
_STRUCTURED = b'}],"structuredContent":'
_TAIL = b',"isError":false}}'
_TAIL_MODERN = b',"isError":false,"resultType":"complete"}}'


def encode_structured_result(request_id: jsonrpc.RequestId, value: dict[str, Any], modern: bool) -> bytes:
    """The response to a ``tools/call`` whose tool returned the dict ``value``, as UTF-8 JSON bytes.

    Byte for byte what ``jsonrpc.encode_result(request_id, to_tool_result(value))`` gives (plus ``resultType:
    "complete"`` for a 2026-07-28 request), for about half the cost.

    Raises:
        TypeError: ``value`` is not JSON-serializable (orjson's ``JSONEncodeError``).
    """
    raw = _dumps(value)
    tail = _TAIL_MODERN if modern else _TAIL
    return b"".join((_HEAD, _dumps(request_id), _TEXT, _dumps(raw.decode()), _STRUCTURED, raw, tail))


class _CallClock:
    """When a tools/call was dispatched: monotonic ns (for latency) and wall ms (for the record)."""

    __slots__ = ("ns", "wall_ms")

    def __init__(self) -> None:
        self.ns = time.perf_counter_ns()
        self.wall_ms = time.time_ns() // 1_000_000


_Observed = tuple[_CallClock, dict[str, Any]]
"""A call being observed: when it started and its ``tools/call`` params."""


def tools_list(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``tools/list``: one page of ``app.page_size`` tools; ``nextCursor`` when more follow."""
    tools = list(session.app.tools.values())
    return list_page("tools", tools, params.get("cursor"), session.app.page_size, lambda t: t.to_wire())


def tools_call(
    session: ServerSession,
    rid: jsonrpc.RequestId,
    params: dict[str, Any],
    meta: dict[str, Any] | None,
    modern: bool,
    out: Sink,
) -> Any:
    """``tools/call``: a sync tool answers at once through ``out``; an async tool is handed to the session's shell
    (its answer goes through ``out`` when it ends). Returns ``PENDING``.

    Raises:
        JsonRpcError: -32602 unknown tool, invalid arguments, or (2026-07-28) malformed ``inputResponses`` or a
            ``requestState`` that fails verification; -32021 a client capability (or, 2026-07-28, an extension) the
            tool relies on or asks for was not declared; -32005 too many calls in flight; -32600 a request id already
            in flight. Other exceptions of a sync tool propagate (the engine answers -32603).
    """
    observed = (_CallClock(), params) if session.app.observers else None  # the hot path pays one truth test
    try:
        name = params.get("name")
        tool = session.app.tools.get(name) if type(name) is str else None
        if tool is None:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Unknown tool: {quote(name)}")
        args = params.get("arguments")
        if args is None:
            args = {}
        tool.validate(args)
        if tool.client_capabilities:
            _require_capabilities(session, tool, meta, modern)
        if modern and tool.client_extensions:
            _require_extensions(tool, meta)
        principal = session.principal
        inputs: Inputs | None = None
        if modern and ("inputResponses" in params or "requestState" in params):  # checked before the tool runs
            bound = (principal.name, "tools/call", tool.name, args)
            caps = meta.get(META_CLIENT_CAPS) if meta is not None else None
            inputs = session.app.request_states.inputs(bound, params, caps)
        if tool.scope not in principal.scopes:
            forbidden = ToolError(
                f"token {principal.name!r} lacks the {tool.scope!r} scope needed by {tool.name}",
                "forbidden",
                {"required_scope": tool.scope},
            )
            _answer(session, out, rid, error_result(forbidden), modern, observed)
            return PENDING
        call = Call(session, rid, meta, out, params, inputs)
        _run(session, out, rid, tool, call, args, modern, observed)
        return PENDING
    except JsonRpcError as exc:
        if observed is not None:
            _observe(session, observed, "rpc_error", None, exc.code, exc.message)
        raise


def _run(
    session: ServerSession,
    out: Sink,
    rid: jsonrpc.RequestId,
    tool: Tool,
    call: Call,
    args: dict[str, Any],
    modern: bool,
    observed: _Observed | None,
) -> None:
    """Run ``tool`` for ``call``: a sync tool inline, answered through ``out``; an async one handed to the shell.

    Raises:
        JsonRpcError: -32005 too many calls in flight, -32600 a request id already in flight, -32021 an input request
            for an undeclared capability. Other exceptions of a sync tool propagate.
    """
    if not tool.is_async:
        try:
            value = tool.fn(call, args)
        except ToolError as exc:
            _answer(session, out, rid, error_result(exc), modern, observed)
            return
        except InputRequired as ask:
            _ask_client(session, out, rid, tool, call, args, ask, modern, observed)
            return
        if observed is None and type(value) is dict:
            out.send(encode_structured_result(rid, value, modern))
        else:
            _answer(session, out, rid, to_tool_result(value), modern, observed)
        return
    in_flight = session.in_flight
    if len(in_flight) >= session.max_in_flight:
        raise JsonRpcError(
            ErrorCode.TOO_MANY_REQUESTS,
            f"Too many requests in flight on this connection (limit {session.max_in_flight}); wait for answers",
        )
    if rid in in_flight:
        raise JsonRpcError(ErrorCode.INVALID_REQUEST, f"Request id {rid!r} is already in flight")
    run = ToolRun(session, out, rid, tool, call, args, modern, observed)
    in_flight[rid] = run
    try:
        session.shell.start(run)
    except BaseException:
        del in_flight[rid]
        raise


def _require_capabilities(session: ServerSession, tool: Tool, meta: dict[str, Any] | None, modern: bool) -> None:
    """The client declared every capability ``tool`` relies on: in this request's ``_meta`` (2026-07-28) or at
    ``initialize``.

    Raises:
        JsonRpcError: -32021 with ``data.requiredCapabilities``, a ``ClientCapabilities`` object of the missing ones
            (2026-07-28 ``MissingRequiredClientCapabilityError``).
    """
    declared = meta.get(META_CLIENT_CAPS) if modern and meta else session.client_capabilities
    have = declared if isinstance(declared, dict) else {}
    missing = [name for name in tool.client_capabilities if name not in have]
    if missing:
        raise JsonRpcError(
            ErrorCode.MISSING_CLIENT_CAPABILITY,
            f"Missing required client capability: {tool.name} needs {', '.join(missing)}; declare it in the "
            "client capabilities",
            {"requiredCapabilities": {name: {} for name in missing}},
        )


def _require_extensions(tool: Tool, meta: dict[str, Any] | None) -> None:
    """A 2026-07-28 caller declared every extension ``tool`` relies on in this request's
    ``_meta[clientCapabilities].extensions`` (SEP-2133: an extension is off unless both sides declare it).

    Raises:
        JsonRpcError: -32021 with ``data.requiredCapabilities = {"extensions": {id: {}}}`` naming the missing ones.
    """
    caps = meta.get(META_CLIENT_CAPS) if meta else None
    declared = caps.get("extensions") if isinstance(caps, dict) else None
    have = declared if isinstance(declared, dict) else {}
    missing = [ext for ext in tool.client_extensions if ext not in have]
    if missing:
        where = f"_meta[{META_CLIENT_CAPS!r}].extensions"
        raise JsonRpcError(
            ErrorCode.MISSING_CLIENT_CAPABILITY,
            f"Missing required client capability: {tool.name} needs the extension {', '.join(missing)}; declare "
            f"it in {where} (e.g. {{{missing[0]!r}: {{}}}}) on this request",
            {"requiredCapabilities": {"extensions": {ext: {} for ext in missing}}},
        )


def _ask_client(
    session: ServerSession,
    out: Sink,
    rid: jsonrpc.RequestId,
    tool: Tool,
    call: Call,
    args: dict[str, Any],
    ask: InputRequired,
    modern: bool,
    observed: _Observed | None,
) -> None:
    """Answer a tool that raised :class:`InputRequired`: its ``InputRequiredResult`` (2026-07-28), or, in the
    handshake era, ask the client with server-to-client requests and run the tool again with the answers.

    Raises:
        JsonRpcError: -32021 when an input request needs a capability the client did not declare.
        ValueError: a malformed input request or an unsealable state (the caller answers -32603).
    """
    if not modern:
        _bridge(session, out, rid, tool, call, args, ask, observed)
        return
    result = session.app.request_states.result(ask, call.inputs)
    data = jsonrpc.encode_result(rid, result)
    answered_ns = time.perf_counter_ns()
    out.send(data)
    if observed is not None:
        _observe(session, observed, "input_required", result, None, None, answered_ns)


def _bridge(
    session: ServerSession,
    out: Sink,
    rid: jsonrpc.RequestId,
    tool: Tool,
    call: Call,
    args: dict[str, Any],
    ask: InputRequired,
    observed: _Observed | None,
) -> None:
    """The handshake era: send ``ask``'s requests to the client (:class:`~tradingmcp.server.mcp.asking.Asking`) and,
    once all are answered, run the tool again with the answers and ``ask.state`` in ``call.inputs``; at most
    :data:`~tradingmcp.server.mcp.asking.MAX_ROUNDS` rounds, then an ``isError`` result.

    Raises:
        JsonRpcError: -32021 when a request needs a capability the client did not declare at ``initialize``.
        ValueError: a malformed input request.
    """
    caps = session.client_capabilities
    requests = checked_requests(ask, caps)
    rounds = call.inputs.rounds + 1
    if rounds > MAX_ROUNDS:
        stuck = ToolError(
            f"{tool.name} asked the client for input more than {MAX_ROUNDS} times", "input_rounds_exceeded"
        )
        _answer(session, out, rid, error_result(stuck), False, observed)
        return
    bound = (session.principal.name, "tools/call", tool.name, args)

    def done(answers: dict[str, Any]) -> None:
        again = call.again(Inputs(answers, ask.state, caps, bound, rounds))
        try:
            _run(session, out, rid, tool, again, args, False, observed)
        except JsonRpcError as exc:
            if observed is not None:
                _observe(session, observed, "rpc_error", None, exc.code, exc.message)
            out.send(jsonrpc.encode_error(rid, exc.code, exc.message, exc.data))
        except Exception:
            log.exception("internal error in tools/call")
            out.send(jsonrpc.encode_error(rid, ErrorCode.INTERNAL_ERROR, "Internal error in tools/call"))

    def failed(reason: str) -> None:
        if not session.closed:
            _answer(session, out, rid, error_result(ToolError(reason, "client_error")), False, observed)

    if requests:
        Asking(session, out, rid, requests, done, failed).start()
    else:  # state only: nothing to ask, run again at once
        done({})


def _answer(
    session: ServerSession,
    out: Sink,
    rid: jsonrpc.RequestId,
    result: dict[str, Any],
    modern: bool,
    observed: _Observed | None,
) -> None:
    data = jsonrpc.encode_result(rid, {**result, "resultType": "complete"} if modern else result)
    answered_ns = time.perf_counter_ns()
    out.send(data)
    if observed is not None:  # after the answer is written: observers (audit, metrics) are off the caller's path
        _observe_result(session, observed, result, answered_ns)


class ToolRun:
    """An async ``tools/call`` the core handed to its shell: what to run, its deadline, and where its end goes.

    The shell calls :meth:`work` once inside its task (it builds the tool's coroutine), awaits it within
    ``deadline_s`` (None: no deadline), and reports the end exactly once: :meth:`returned` with the tool's value,
    :meth:`raised` with its exception, :meth:`cancelled` when the task was cancelled, :meth:`expired` when the deadline
    passed (the shell cancels the tool first). The answer goes to ``sink``, the route of the request that started it,
    unless the call is no longer in flight (cancelled, or its connection closed): then it is never answered.
    """

    __slots__ = ("args", "call", "modern", "observed", "rid", "session", "sink", "tool")

    def __init__(
        self,
        session: ServerSession,
        sink: Sink,
        rid: jsonrpc.RequestId,
        tool: Tool,
        call: Call,
        args: dict[str, Any],
        modern: bool,
        observed: _Observed | None,
    ) -> None:
        self.session = session
        self.sink = sink
        self.rid = rid
        self.tool = tool
        self.call = call
        self.args = args
        self.modern = modern
        self.observed = observed

    def __repr__(self) -> str:
        return f"ToolRun({self.tool.name!r}, id={self.rid!r}, in_flight={self.in_flight})"

    @property
    def deadline_s(self) -> float | None:
        """How long the tool may run (s, the tool's ``timeout_s``); None: until it ends or is cancelled."""
        return self.tool.timeout_s

    @property
    def in_flight(self) -> bool:
        """True until the call is answered, cancelled or dropped with its connection."""
        return self.session.in_flight.get(self.rid) is self

    def work(self) -> Awaitable[Any]:
        """The tool's coroutine (call once, where it is to be awaited)."""
        result: Awaitable[Any] = self.tool.fn(self.call, self.args)
        return result

    def returned(self, value: Any) -> None:
        """The tool returned ``value``: encode and send the answer (an unencodable value answers -32603)."""
        try:
            if self.observed is None and type(value) is dict:
                self._finish(encode_structured_result(self.rid, value, self.modern))
                return
            self._answer(to_tool_result(value))
        except Exception as exc:
            self.raised(exc)

    def raised(self, exc: BaseException) -> None:
        """The tool raised ``exc``: a ToolError is an ``isError`` result, a JsonRpcError that error, anything else
        -32603 (logged)."""
        if isinstance(exc, ToolError):
            self._answer(error_result(exc))
            return
        session, rid, observed = self.session, self.rid, self.observed
        if isinstance(exc, InputRequired):
            if not self.modern:  # the server asks, then runs the tool again (a new run under the same id)
                self.call.forget_asked()
                if not self.in_flight:
                    return
                del session.in_flight[rid]
                try:
                    _bridge(session, self.sink, rid, self.tool, self.call, self.args, exc, observed)
                    return
                except (JsonRpcError, ValueError) as refused:
                    session.in_flight[rid] = self  # answered below as any such exception of the tool's
                    exc = refused
            else:
                try:
                    result = session.app.request_states.result(exc, self.call.inputs)
                except (JsonRpcError, ValueError) as refused:
                    exc = refused  # answered below as any such exception of the tool's
                else:
                    self._finish(jsonrpc.encode_result(rid, result))
                    if observed is not None:
                        _observe(session, observed, "input_required", result, None, None)
                    return
        if isinstance(exc, JsonRpcError):
            if observed is not None:
                _observe(session, observed, "rpc_error", None, exc.code, exc.message)
            self._finish(jsonrpc.encode_error(rid, exc.code, exc.message, exc.data))
            return
        log.error("tool failed", exc_info=exc)
        if observed is not None:
            _observe(session, observed, "internal", None, ErrorCode.INTERNAL_ERROR, type(exc).__name__)
        self._finish(jsonrpc.encode_error(rid, ErrorCode.INTERNAL_ERROR, "Internal error in tools/call"))

    def cancelled(self) -> None:
        """The task was cancelled (``notifications/cancelled``, the connection closing): no answer."""
        self.call.forget_asked()
        if self.in_flight:
            del self.session.in_flight[self.rid]
        if self.observed is not None:
            _observe(self.session, self.observed, "cancelled", None, None, "cancelled before completion")

    def expired(self) -> None:
        """The deadline passed and the shell cancelled the tool: an ``isError`` result ``deadline_exceeded``."""
        limit = self.deadline_s
        late = ToolError(
            f"{self.tool.name} did not finish within {limit} s and was cancelled",
            "deadline_exceeded",
            {"timeout_s": limit},
        )
        self._answer(error_result(late))

    def _answer(self, result: dict[str, Any]) -> None:
        data = jsonrpc.encode_result(self.rid, {**result, "resultType": "complete"} if self.modern else result)
        answered_ns = time.perf_counter_ns()
        self._finish(data)
        if self.observed is not None:  # after the answer is written, as in _answer
            _observe_result(self.session, self.observed, result, answered_ns)

    def _finish(self, data: bytes) -> None:
        self.call.forget_asked()
        session = self.session
        if session.in_flight.get(self.rid) is self:
            del session.in_flight[self.rid]
            if not session.closed:
                self.sink.send(data)


def _observe_result(session: ServerSession, observed: _Observed, result: dict[str, Any], answered_ns: int) -> None:
    if result.get("isError"):
        sc = result.get("structuredContent")
        err = sc.get("error") if isinstance(sc, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        msg = err.get("message") if isinstance(err, dict) else None
        _observe(session, observed, "tool_error", result, code, msg, answered_ns)
    else:
        _observe(session, observed, "ok", result, None, None, answered_ns)


def _observe(
    session: ServerSession,
    observed: _Observed,
    outcome: str,
    result: dict[str, Any] | None,
    code: str | int | None,
    message: str | None,
    answered_ns: int | None = None,
) -> None:
    """Tell every observer; ``answered_ns`` is when the answer was written (default: now)."""
    started, params = observed
    name = params.get("name")
    args = params.get("arguments")
    record = ToolCallRecord(
        principal=session.principal.name,
        tool=name if isinstance(name, str) else quote(name),
        arguments=args if isinstance(args, dict) else {},
        outcome=outcome,
        result=result,
        error_code=code,
        error=message,
        latency_us=((time.perf_counter_ns() if answered_ns is None else answered_ns) - started.ns) / 1000,
        time_ms=started.wall_ms,
        started_ns=started.ns,
    )
    for observer in session.app.observers:
        try:
            observer(record)
        except Exception:
            log.exception("tools/call observer failed")
