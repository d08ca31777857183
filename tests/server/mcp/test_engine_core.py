"""The session core with no event loop: bytes in, bytes and shell decisions out.

Plain functions, no asyncio anywhere: a recording :class:`Shell` keeps the decisions (start, cancel) and the test
plays the shell's part by driving a started run's coroutine by hand (the tools here finish without suspending) and
reporting its end, as :class:`~tradingmcp.server.mcp.runner.TaskRunner` does on a loop.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Coroutine, Hashable
from typing import Any

import orjson

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.registry import McpApp, Resource, Tool, ToolCallRecord, ToolError
from tradingmcp.server.mcp.toolcall import ToolRun, encode_structured_result
from tradingmcp.transport.auth import Principal
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_SERVER_INFO, META_SUBSCRIPTION, META_VERSION

MODERN = {META_VERSION: "2026-07-28", META_CLIENT_CAPS: {}}
INITIALIZE = b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}'


class ListSink:
    """A route: records what the core writes (the core's I/O boundary)."""

    def __init__(self) -> None:
        self.out: list[Any] = []
        self.raw: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes) -> None:
        self.raw.append(data)
        self.out.append(orjson.loads(data))

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class RecordingShell:
    """The shell seam: records the core's decisions instead of creating tasks."""

    def __init__(self) -> None:
        self.started: list[ToolRun] = []
        self.cancelled: list[ToolRun] = []

    def start(self, run: ToolRun) -> None:
        self.started.append(run)

    def cancel(self, run: ToolRun) -> None:
        self.cancelled.append(run)


def drive(run: ToolRun) -> None:
    """Be the shell for one run whose tool never suspends: run it to the end and report how it ended."""
    coro = run.work()
    assert isinstance(coro, Coroutine)
    try:
        coro.send(None)
    except StopIteration as stop:
        run.returned(stop.value)
        return
    except Exception as exc:
        run.raised(exc)
        return
    raise AssertionError("the tool suspended")


def core_app() -> McpApp:
    """Sync ``echo`` and ``trade`` (scope trade); async tools that finish at once: ``double`` (reports progress),
    ``refuse`` (ToolError), ``bad_params`` (JsonRpcError), ``crash`` (RuntimeError), ``opaque`` (returns an object
    JSON cannot hold), ``bounded`` (a 2.5 s deadline)."""
    app = McpApp(name="core-test")

    @app.tool("echo", "Echo x.", {"type": "object", "properties": {"x": {}}})
    def echo(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        return {"x": args.get("x"), "by": call.principal.name}

    @app.tool("trade", "A trade-scoped tool.", scope="trade")
    def trade(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        return {}

    @app.tool("double", "Twice n, with progress.", {"type": "object", "properties": {"n": {"type": "integer"}}})
    async def double(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        call.progress(1, 1, "done")
        call.log("info", {"n": args["n"]})
        return {"n": 2 * args["n"]}

    @app.tool("refuse", "Always a tool error.")
    async def refuse(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        raise ToolError("refused", "test_refusal", {"why": "testing"})

    @app.tool("bad_params", "A JSON-RPC error from inside the tool.")
    async def bad_params(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: n is odd", {"path": "arguments.n"})

    @app.tool("crash", "A bug.")
    async def crash(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug")

    @app.tool("opaque", "Returns what JSON cannot hold.")
    async def opaque(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        return {"x": object()}

    async def bounded(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        return {}

    app.add_tool(Tool("bounded", "Has a deadline.", bounded, {"type": "object"}, timeout_s=2.5))
    app.add_resource(Resource("test://r", "r", lambda uri: {"v": 1}))
    return app


def new_session(
    app: McpApp | None = None, principal: Principal | None = None, **options: Any
) -> tuple[ServerSession, ListSink, RecordingShell]:
    sink, shell = ListSink(), RecordingShell()
    who = principal or Principal("alice", frozenset({"read", "trade"}))
    session = ServerSession(app or core_app(), sink, who, shell=shell, **options)
    return session, sink, shell


def request(rid: Any, method: str, params: dict[str, Any] | None = None) -> bytes:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        msg["params"] = params
    return orjson.dumps(msg)


def call(rid: Any, name: str, arguments: dict[str, Any] | None = None, **params: Any) -> bytes:
    return request(rid, "tools/call", {"name": name, "arguments": arguments or {}, **params})


# ---------------------------------------------------------------------------------------------------- the core alone
def test_the_core_imports_no_event_loop() -> None:
    code = (
        "import sys\n"
        "import tradingmcp.server.mcp.engine, tradingmcp.server.mcp.toolcall, tradingmcp.server.mcp.methods\n"
        "print(sorted(m for m in sys.modules if m == 'asyncio' or m.startswith('asyncio.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------------- eras, lifecycle
def test_handshake_era_then_a_sync_tool_answered_inline() -> None:
    session, sink, shell = new_session()
    session.on_message(call(1, "echo", {"x": 1}))
    assert (
        sink.out[-1]["error"]["code"] == ErrorCode.INVALID_REQUEST and "initialize" in sink.out[-1]["error"]["message"]
    )
    session.on_message(request(2, "ping"))
    assert sink.out[-1] == {"jsonrpc": "2.0", "id": 2, "result": {}}
    session.on_message(INITIALIZE)
    assert sink.out[-1]["result"]["protocolVersion"] == "2025-11-25" and session.initialized
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    before = len(sink.out)
    session.on_message(call(3, "echo", {"x": [1, "é"]}))
    assert len(sink.out) == before + 1  # the notification got no answer; the call got one, at once
    assert sink.raw[-1] == encode_structured_result(3, {"x": [1, "é"], "by": "alice"}, False)
    assert shell.started == [] and session.in_flight == {}  # a sync tool is no decision for the shell


def test_modern_era_needs_no_handshake() -> None:
    session, sink, shell = new_session()
    session.on_message(call(1, "echo", {"x": 2}, _meta=MODERN))
    assert sink.raw[-1] == encode_structured_result(1, {"x": 2, "by": "alice"}, True)
    assert not session.initialized
    session.on_message(request(2, "tools/list", {"_meta": MODERN}))
    listed = sink.out[-1]["result"]
    assert listed["resultType"] == "complete" and listed["cacheScope"] == "public"
    assert {t["name"] for t in listed["tools"]} >= {"echo", "double", "bounded"}
    session.on_message(request(3, "ping", {"_meta": {META_VERSION: "1999-01-01"}}))
    assert sink.out[-1]["error"]["code"] == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    session.on_message(call(4, "double", {"n": 4}, _meta=MODERN))
    (run,) = shell.started
    drive(run)
    assert sink.out[-1] == {
        "jsonrpc": "2.0",
        "id": 4,
        "result": {
            "content": [{"type": "text", "text": '{"n":8}'}],
            "structuredContent": {"n": 8},
            "isError": False,
            "resultType": "complete",
        },
    }


def test_the_handshake_carries_what_the_app_says_about_itself() -> None:
    app = core_app()
    plain, plain_sink, _ = new_session(app)
    plain.on_message(INITIALIZE)
    bare = plain_sink.out[-1]["result"]
    assert bare["serverInfo"] == {"name": "core-test", "version": "0.1.0"} and "instructions" not in bare
    assert bare["capabilities"]["experimental"] == {"tradingmcp/streams": {"method": "notifications/tradingmcp/stream"}}
    app.add_instructions("Line one.")
    app.add_instructions("Venues: x (simulator, default).")
    app.description = "bridges x"
    app.experimental["tradingmcp/venues"] = {"venues": [{"exchange": "x", "real_money": False}]}
    for greeting in (INITIALIZE, request(2, "server/discover", {"_meta": MODERN})):
        session, sink, _ = new_session(app)
        session.on_message(greeting)
        result = sink.out[-1]["result"]
        info = result["serverInfo"] if "serverInfo" in result else result["_meta"][META_SERVER_INFO]
        assert info == {"name": "core-test", "version": "0.1.0", "description": "bridges x"}
        assert result["instructions"] == "Line one.\nVenues: x (simulator, default)."
        experimental = result["capabilities"]["experimental"]
        assert experimental["tradingmcp/venues"] == {"venues": [{"exchange": "x", "real_money": False}]}
        assert "tradingmcp/streams" in experimental


# ----------------------------------------------------------------------------------------------------- async tools
def test_async_tool_is_a_start_decision_and_its_completion_is_encoded_by_the_core() -> None:
    session, sink, shell = new_session()
    session.on_message(INITIALIZE)
    session.on_message(request(5, "logging/setLevel", {"level": "debug"}))
    sink.out.clear()
    session.on_message(call(7, "double", {"n": 21}, _meta={"progressToken": "p"}))
    assert sink.out == []  # nothing yet: the core decided, the shell runs it
    (run,) = shell.started
    assert (run.rid, run.deadline_s, run.sink, run.in_flight) == (7, None, sink, True)
    assert session.in_flight == {7: run}
    drive(run)
    progress, line, answer = sink.out
    assert progress["params"] == {"progressToken": "p", "progress": 1, "total": 1, "message": "done"}
    assert line["params"] == {"level": "info", "data": {"n": 21}}
    assert answer["id"] == 7 and answer["result"]["structuredContent"] == {"n": 42}
    assert session.in_flight == {} and not run.in_flight
    run.returned({"n": 0})  # a second report of the same run is ignored
    assert len(sink.out) == 3


def test_each_way_an_async_tool_ends_is_answered_by_the_core() -> None:
    app = core_app()
    records: list[ToolCallRecord] = []
    app.observers.append(records.append)
    session, sink, shell = new_session(app)
    session.on_message(INITIALIZE)
    sink.out.clear()
    for rid, name in enumerate(("refuse", "bad_params", "crash", "opaque", "bounded"), start=1):
        session.on_message(call(rid, name))
    assert sink.out == [] and [r.rid for r in shell.started] == [1, 2, 3, 4, 5]
    refuse, bad_params, crash, opaque, bounded = shell.started
    assert bounded.deadline_s == 2.5  # the tool's timeout_s travels with the decision
    for run in (refuse, bad_params, crash, opaque):
        drive(run)
    bounded.expired()  # what the shell reports once the deadline passed and it cancelled the tool
    refused, rpc_error, internal, unencodable, late = sink.out
    assert refused["result"]["isError"] is True
    assert refused["result"]["structuredContent"] == {
        "error": {"code": "test_refusal", "message": "refused", "why": "testing"}
    }
    assert rpc_error["error"] == {
        "code": ErrorCode.INVALID_PARAMS,
        "message": "Invalid params: n is odd",
        "data": {"path": "arguments.n"},
    }
    assert internal["error"]["code"] == ErrorCode.INTERNAL_ERROR and "bug" not in internal["error"]["message"]
    assert unencodable["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert late["id"] == 5 and late["result"]["isError"] is True
    assert late["result"]["structuredContent"]["error"]["code"] == "deadline_exceeded"
    assert late["result"]["structuredContent"]["error"]["timeout_s"] == 2.5
    assert [(r.tool, r.outcome) for r in records] == [
        ("refuse", "tool_error"),
        ("bad_params", "rpc_error"),
        ("crash", "internal"),
        ("opaque", "internal"),
        ("bounded", "tool_error"),
    ]
    assert session.in_flight == {}


# ---------------------------------------------------------------------------------------------------- cancellation
def test_cancelled_notification_is_a_cancel_decision_and_the_call_is_never_answered() -> None:
    app = core_app()
    records: list[ToolCallRecord] = []
    app.observers.append(records.append)
    session, sink, shell = new_session(app)
    session.on_message(INITIALIZE)
    sink.out.clear()
    session.on_message(call("a", "double", {"n": 1}))
    session.on_message(call("b", "double", {"n": 2}))
    session.on_message(call("c", "double", {"n": 3}))
    first, second, third = shell.started
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a"}}')
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c"}}')
    assert shell.cancelled == [first, third]
    assert session.in_flight == {"b": second}  # no longer counted in flight
    third.cancelled()  # the shell reports the cancelled task's end
    drive(second)
    drive(first)  # a tool that ignored its cancellation and returned: still no answer
    assert [m["id"] for m in sink.out] == ["b"]
    # observers see what each tool did, answered or not
    assert [(r.tool, r.outcome) for r in records] == [("double", "cancelled"), ("double", "ok"), ("double", "ok")]
    for unknown in (b'"a"', b'"nope"', b"[1]", b"null"):  # finished, unknown or malformed ids: no decision
        session.on_message(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%s}}' % unknown)
    assert shell.cancelled == [first, third] and [m["id"] for m in sink.out] == ["b"]


def test_closing_cancels_every_run_in_flight() -> None:
    closed: list[ServerSession] = []
    session, sink, shell = new_session(on_closed=closed.append)
    session.on_message(INITIALIZE)
    for rid in (1, 2, 3):
        session.on_message(call(rid, "double", {"n": rid}))
    drive(shell.started[0])
    sink.out.clear()
    session.on_closed()
    assert shell.cancelled == shell.started[1:] and session.in_flight == {} and closed == [session]
    drive(shell.started[1])  # a late completion after the close is dropped
    session.on_closed()  # once only
    assert sink.out == [] and len(shell.cancelled) == 2 and closed == [session]


# -------------------------------------------------------------------------------------------------- in-flight cap
def test_in_flight_cap_is_counted_in_the_core() -> None:
    session, sink, shell = new_session(max_in_flight=2)
    session.on_message(INITIALIZE)
    sink.out.clear()
    session.on_message(call(1, "double", {"n": 1}))
    session.on_message(call(2, "double", {"n": 2}))
    session.on_message(call(3, "double", {"n": 3}))
    assert [r.rid for r in shell.started] == [1, 2]
    assert sink.out[-1]["id"] == 3 and sink.out[-1]["error"]["code"] == ErrorCode.TOO_MANY_REQUESTS
    assert "limit 2" in sink.out[-1]["error"]["message"]
    session.on_message(call(4, "echo", {"x": 4}))  # sync tools run inline, whatever is in flight
    assert sink.out[-1]["result"]["structuredContent"]["x"] == 4
    drive(shell.started[0])  # one finishes: room for one more
    session.on_message(call(2, "double", {"n": 2}))  # but not for an id already in flight
    assert sink.out[-1]["id"] == 2 and sink.out[-1]["error"]["code"] == ErrorCode.INVALID_REQUEST
    session.on_message(call(5, "double", {"n": 5}))
    assert [r.rid for r in shell.started] == [1, 2, 5] and set(session.in_flight) == {2, 5}
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}')
    session.on_message(call(6, "double", {"n": 6}))  # a cancelled call frees its slot at once
    assert [r.rid for r in shell.started] == [1, 2, 5, 6]


# ---------------------------------------------------------------------------------------------------------- errors
def test_without_a_shell_async_tools_fail_and_everything_else_works() -> None:
    sink = ListSink()
    session = ServerSession(core_app(), sink)
    session.on_message(INITIALIZE)
    session.on_message(call(1, "double", {"n": 1}))
    assert sink.out[-1]["error"] == {"code": ErrorCode.INTERNAL_ERROR, "message": "Internal error in tools/call"}
    assert session.in_flight == {}
    session.on_message(call(2, "echo", {"x": 2}))
    assert sink.out[-1]["result"]["structuredContent"]["x"] == 2


def test_errors_are_answered_and_the_session_keeps_serving() -> None:
    reader = Principal("reader", frozenset({"read"}))
    session, sink, shell = new_session(principal=reader)
    session.on_message(INITIALIZE)
    session.on_message(request(1, "tools/destroy"))
    session.on_message(b"{not json")
    session.on_message(request(2, "tools/call", {"name": "nope"}))
    session.on_message(call(3, "double", {"n": "two"}))
    session.on_message(call(4, "trade"))
    session.on_message(request(5, "ping", {"_meta": 1}))
    codes = [m.get("error", {}).get("code") for m in sink.out[1:]]
    assert codes == [
        ErrorCode.METHOD_NOT_FOUND,
        ErrorCode.PARSE_ERROR,
        ErrorCode.INVALID_PARAMS,
        ErrorCode.INVALID_PARAMS,
        None,  # a missing scope is a tool result, not a protocol error
        ErrorCode.INVALID_PARAMS,
    ]
    assert sink.out[5]["result"]["structuredContent"]["error"]["code"] == "forbidden"
    assert shell.started == []
    session.on_message(b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}')
    assert sink.closed is not None and sink.closed[0] == CloseCode.INVALID_FRAME_PAYLOAD_DATA


# --------------------------------------------------------------------------------------------- per-message routes
def test_what_answers_a_message_goes_to_that_messages_route() -> None:
    """An HTTP shell feeds one message per POST with a sink of its own: the answer, the request's progress and log
    lines, an async tool's later answer and a listen stream all go there; the session's sink carries the rest."""
    session, own, shell = new_session()
    post_a, post_b, post_c, post_d = ListSink(), ListSink(), ListSink(), ListSink()
    session.on_message(request(0, "logging/setLevel", {"level": "debug", "_meta": MODERN}), post_a)
    session.on_message(call(1, "double", {"n": 3}, _meta={**MODERN, "progressToken": 9}), post_b)
    session.on_message(call(2, "echo", {"x": 1}, _meta=MODERN), post_c)
    session.on_message(b"[]", post_c)
    (run,) = shell.started
    assert run.sink is post_b
    drive(run)
    listen = {"notifications": {"resourceSubscriptions": ["test://r"]}, "_meta": MODERN}
    session.on_message(request("L", "subscriptions/listen", listen), post_d)
    session.resources.notify_updated("test://r")
    session.end_listeners()
    assert [m["id"] for m in post_a.out] == [0]
    assert [m.get("method", m.get("id")) for m in post_b.out] == ["notifications/progress", "notifications/message", 1]
    assert [m["id"] for m in post_c.out] == [2, None]
    assert post_c.out[1]["error"]["code"] == ErrorCode.INVALID_REQUEST
    ack, update, end = post_d.out
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert update["params"] == {"uri": "test://r", "_meta": {META_SUBSCRIPTION: "L"}}
    assert end["id"] == "L" and end["result"]["resultType"] == "complete"
    assert own.out == []
    session.on_message(request(3, "resources/subscribe", {"uri": "test://r", "_meta": MODERN}), post_a)
    session.resources.notify_updated("test://r")  # a plain subscription belongs to the session
    assert own.out == [{"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "test://r"}}]


def test_a_shell_that_cannot_start_leaves_nothing_in_flight() -> None:
    class Refusing(RecordingShell):
        def start(self, run: ToolRun) -> None:
            raise RuntimeError("no loop")

    sink = ListSink()
    session = ServerSession(core_app(), sink, shell=Refusing())
    session.on_message(INITIALIZE)
    session.on_message(call(1, "double", {"n": 1}))
    assert sink.out[-1]["error"]["code"] == ErrorCode.INTERNAL_ERROR and session.in_flight == {}
    session.on_message(call(1, "echo", {"x": 1}))  # the id is free again
    assert sink.out[-1]["result"]["structuredContent"]["x"] == 1


def test_an_unknown_resource_is_32002_with_a_handshake_and_32602_in_2026() -> None:
    """MCP 2025-11-25 answers a uri no resource serves with -32002; 2026-07-28 (SEP-2164) with -32602, ``data.uri``."""
    session, sink, _ = new_session()
    session.on_message(request(1, "resources/read", {"uri": "test://nothing", "_meta": MODERN}))
    modern = sink.out[-1]["error"]
    assert modern["code"] == ErrorCode.INVALID_PARAMS and modern["data"] == {"uri": "test://nothing"}
    session.on_message(INITIALIZE)
    session.on_message(request(2, "resources/read", {"uri": "test://nothing"}))
    assert sink.out[-1]["error"]["code"] == ErrorCode.RESOURCE_NOT_FOUND
    session.on_message(request(3, "resources/read", {"uri": "test://r"}))
    assert "result" in sink.out[-1]


def test_a_2026_request_without_client_capabilities_is_32602_and_client_info_is_optional() -> None:
    """SEP-2575: every 2026-07-28 request carries ``_meta`` clientCapabilities (an object); clientInfo may be absent."""
    session, sink, _ = new_session()
    for rid, meta in enumerate(({META_VERSION: "2026-07-28"}, {META_VERSION: "2026-07-28", META_CLIENT_CAPS: []}), 1):
        session.on_message(request(rid, "server/discover", {"_meta": meta}))
        error = sink.out[-1]["error"]
        assert error["code"] == ErrorCode.INVALID_PARAMS and META_CLIENT_CAPS in error["message"]
    session.on_message(request(3, "server/discover", {"_meta": MODERN}))
    assert sink.out[-1]["result"]["supportedVersions"][0] == "2026-07-28"


def test_a_tool_relying_on_an_undeclared_client_capability_is_32021() -> None:
    """2026-07-28 ``MissingRequiredClientCapabilityError``: checked against the request's ``_meta`` capabilities, or
    the ``initialize`` ones in the handshake era; the tool does not run."""
    app = McpApp(name="caps")
    ran: list[str] = []

    def asks(call: CallContext, args: dict[str, Any]) -> str:
        ran.append("asks")
        return "ok"

    app.add_tool(Tool("asks", "Relies on sampling.", asks, {"type": "object"}, client_capabilities=("sampling",)))
    session, sink, _ = new_session(app)
    session.on_message(call(1, "asks", _meta=MODERN))
    error = sink.out[-1]["error"]
    assert error["code"] == ErrorCode.MISSING_CLIENT_CAPABILITY == -32021
    assert error["data"] == {"requiredCapabilities": {"sampling": {}}} and not ran
    session.on_message(call(2, "asks", _meta={**MODERN, META_CLIENT_CAPS: {"sampling": {}}}))
    assert sink.out[-1]["result"]["content"][0]["text"] == "ok" and ran == ["asks"]
    legacy, legacy_sink, _ = new_session(app)
    legacy.on_message(INITIALIZE)
    legacy.on_message(call(3, "asks"))
    assert legacy_sink.out[-1]["error"]["code"] == -32021
    declared, declared_sink, _ = new_session(app)
    declared.on_message(request(0, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}}}))
    declared.on_message(call(4, "asks"))
    assert declared_sink.out[-1]["result"]["isError"] is False
