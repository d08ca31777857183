"""``tools/list`` and the ``tools/call`` path: validate, check scope, run, answer; observers see every finished
call once its answer is written.

Follows MCP 2025-11-25 "Tools" (https://modelcontextprotocol.io/specification/2025-11-25/server/tools): a tool failure
is a result with ``isError: true`` (:class:`~tradingmcp.server.mcp.registry.ToolError`, a missing scope), while an
unknown tool or invalid arguments are JSON-RPC errors (-32602). An unknown tool's name is repeated in the message
through :func:`~tradingmcp.transport.jsonrpc.quote` (at most ``MAX_QUOTED_CHARS`` characters of it), and observers get
a non-string name as its bounded ``quote``.

Hot path (a sync tool returning a dict, no observers): the tool runs inline and the response is built from three
``orjson.dumps`` pieces (the value, its JSON text as a string, the id) joined as bytes: no result dict, no second
serialization of the value. Async tools run as tasks (cancellable, capped by ``max_in_flight``; excess gets -32005).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from tradingmcp.server.mcp.call import Call
from tradingmcp.server.mcp.protocol import PENDING, list_page
from tradingmcp.server.mcp.registry import ToolCallRecord, ToolError, error_result, to_tool_result
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote

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
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool
) -> dict[str, Any]:
    """``tools/list``: one page of ``app.page_size`` tools; ``nextCursor`` when more follow."""
    tools = list(session.app.tools.values())
    return list_page("tools", tools, params.get("cursor"), session.app.page_size, lambda t: t.to_wire())


def tools_call(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: dict[str, Any] | None, modern: bool
) -> Any:
    """``tools/call``: answers by itself (a sync tool) or from a task (an async tool); returns ``PENDING``.

    Raises:
        JsonRpcError: -32602 unknown tool or invalid arguments, -32005 too many calls in flight, -32600 a request id
            already in flight. Other exceptions of a sync tool propagate (the engine answers -32603).
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
        principal = session.principal
        if tool.scope not in principal.scopes:
            forbidden = ToolError(
                f"token {principal.name!r} lacks the {tool.scope!r} scope needed by {tool.name}",
                "forbidden",
                {"required_scope": tool.scope},
            )
            _answer(session, rid, error_result(forbidden), modern, observed)
            return PENDING
        call = Call(session, rid, meta)
        if not tool.is_async:
            try:
                value = tool.fn(call, args)
            except ToolError as exc:
                _answer(session, rid, error_result(exc), modern, observed)
                return PENDING
            if observed is None and type(value) is dict:
                session.sink.send(encode_structured_result(rid, value, modern))
            else:
                _answer(session, rid, to_tool_result(value), modern, observed)
            return PENDING
        tasks = session.tasks
        if len(tasks) >= session.max_in_flight:
            raise JsonRpcError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"Too many requests in flight on this connection (limit {session.max_in_flight}); wait for answers",
            )
        if rid in tasks:
            raise JsonRpcError(ErrorCode.INVALID_REQUEST, f"Request id {rid!r} is already in flight")
        coro = _run_async(session, rid, tool.fn, call, args, modern, observed)
        tasks[rid] = asyncio.get_running_loop().create_task(coro)
        return PENDING
    except JsonRpcError as exc:
        if observed is not None:
            _observe(session, observed, "rpc_error", None, exc.code, exc.message)
        raise


def _answer(
    session: ServerSession,
    rid: jsonrpc.RequestId,
    result: dict[str, Any],
    modern: bool,
    observed: _Observed | None,
) -> None:
    data = jsonrpc.encode_result(rid, {**result, "resultType": "complete"} if modern else result)
    answered_ns = time.perf_counter_ns()
    session.sink.send(data)
    if observed is not None:  # after the answer is written: observers (audit, metrics) are off the caller's path
        _observe_result(session, observed, result, answered_ns)


async def _run_async(
    session: ServerSession,
    rid: jsonrpc.RequestId,
    fn: Callable[..., Any],
    call: Call,
    args: dict[str, Any],
    modern: bool,
    observed: _Observed | None,
) -> None:
    try:
        value = await fn(call, args)
        if observed is None and type(value) is dict:
            _finish(session, rid, encode_structured_result(rid, value, modern))
            return
        result = to_tool_result(value)
    except asyncio.CancelledError:
        if observed is not None:
            _observe(session, observed, "cancelled", None, None, "cancelled before completion")
        return  # cancelled by notifications/cancelled or the connection closing: never answered
    except ToolError as exc:
        result = error_result(exc)
    except JsonRpcError as exc:
        if observed is not None:
            _observe(session, observed, "rpc_error", None, exc.code, exc.message)
        _finish(session, rid, jsonrpc.encode_error(rid, exc.code, exc.message, exc.data))
        return
    except Exception as exc:
        log.exception("tool failed")
        if observed is not None:
            _observe(session, observed, "internal", None, ErrorCode.INTERNAL_ERROR, type(exc).__name__)
        _finish(session, rid, jsonrpc.encode_error(rid, ErrorCode.INTERNAL_ERROR, "Internal error in tools/call"))
        return
    data = jsonrpc.encode_result(rid, {**result, "resultType": "complete"} if modern else result)
    answered_ns = time.perf_counter_ns()
    _finish(session, rid, data)
    if observed is not None:  # after the answer is written, as in _answer
        _observe_result(session, observed, result, answered_ns)


def _finish(session: ServerSession, rid: jsonrpc.RequestId, data: bytes) -> None:
    if session.tasks.pop(rid, None) is not None and not session.closed:
        session.sink.send(data)


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
