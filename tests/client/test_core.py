"""The client's protocol core with no event loop (plain functions, no socket): requests are numbered and carry the
era's ``_meta``, the handshake records what the server announced, each server frame decodes into one event (a
response, an error, a notification, progress for its handler, a server request with its -32601 reply, a parse error),
and a timed-out request's cancellation says which request and why."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson

from tradingmcp.client.core import (
    CLIENT_INFO,
    ClientCore,
    Notification,
    ParseError,
    Phase,
    Progress,
    Response,
    ServerRequest,
    progress_token,
)
from tradingmcp.client.errors import RpcError
from tradingmcp.transport.jsonrpc import ErrorCode
from tradingmcp.transport.mcpnames import (
    LATEST_HANDSHAKE,
    LATEST_MODERN,
    META_CLIENT_CAPS,
    META_CLIENT_INFO,
    META_SERVER_INFO,
    META_VERSION,
)

BOT_INFO = {"name": "bot", "version": "2.0"}
MODERN_META = {META_VERSION: LATEST_MODERN, META_CLIENT_CAPS: {}, META_CLIENT_INFO: BOT_INFO}


def _frame(data: bytes) -> dict[str, Any]:
    msg: dict[str, Any] = orjson.loads(data)
    return msg


def _wire(obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", **obj})


def test_the_core_module_imports_no_asyncio() -> None:
    code = "import sys, tradingmcp.client.core; print('asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_handshake_era_requests_are_numbered_and_carry_no_meta() -> None:
    core = ClientCore(LATEST_HANDSHAKE, BOT_INFO)
    assert core.last_id == 0 and not core.modern
    rid, data = core.encode_request("tools/list", {"cursor": "c1"})
    assert rid == 1
    assert _frame(data) == {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "c1"}}
    rid, data = core.encode_request("ping")
    assert rid == 2 and _frame(data) == {"jsonrpc": "2.0", "id": 2, "method": "ping"}  # no params member at all
    rid, data = core.encode_tool_call("echo")
    assert rid == 3
    assert _frame(data) == {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {}},
    }
    args = {"symbol": "BTCUSDT"}
    rid, data = core.encode_tool_call("get_ticker", args)
    assert rid == core.last_id == 4
    assert _frame(data)["params"] == {"name": "get_ticker", "arguments": args}
    assert list(_frame(data)) == ["jsonrpc", "id", "method", "params"]


def test_modern_era_requests_carry_version_capabilities_and_info_in_meta() -> None:
    core = ClientCore(LATEST_MODERN, BOT_INFO)
    assert core.modern
    rid, data = core.encode_request("ping")
    assert rid == 1 and _frame(data) == {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": MODERN_META}}
    # the caller's own _meta keys are kept, and win over the core's
    own = {"cursor": "c", "_meta": {"trace": "t1", META_CLIENT_CAPS: {"roots": {}}}}
    rid, data = core.encode_request("tools/list", own)
    assert _frame(data)["params"] == {
        "cursor": "c",
        "_meta": {**MODERN_META, META_CLIENT_CAPS: {"roots": {}}, "trace": "t1"},
    }
    assert own == {"cursor": "c", "_meta": {"trace": "t1", META_CLIENT_CAPS: {"roots": {}}}}  # not modified
    rid, data = core.encode_tool_call("echo", {"x": 1})
    assert rid == 3
    assert _frame(data) == {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"x": 1}, "_meta": MODERN_META},
    }


def test_handshake_era_greeting_is_initialize_then_initialized() -> None:
    core = ClientCore()
    assert core.phase is Phase.IDLE and core.protocol_version is None and core.client_info == CLIENT_INFO
    rid, data = core.greeting()
    assert core.phase is Phase.GREETING and core.greeting_method == "initialize"
    assert _frame(data) == {
        "jsonrpc": "2.0",
        "id": rid,
        "method": "initialize",
        "params": {"protocolVersion": LATEST_HANDSHAKE, "capabilities": {}, "clientInfo": CLIENT_INFO},
    }
    server = {"name": "srv", "version": "9"}
    initialized = core.greeted({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": server})
    assert initialized is not None and _frame(initialized) == {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert core.phase is Phase.READY
    assert (core.protocol_version, core.server_capabilities, core.server_info) == ("2025-06-18", {"tools": {}}, server)
    core.link_closed()  # a new link greets again; what the server said stays until it answers
    assert core.phase is Phase.IDLE and core.server_info == server
    rid2, _ = core.greeting()
    assert rid2 == rid + 1


def test_modern_era_greeting_is_discover_with_no_initialized() -> None:
    core = ClientCore(LATEST_MODERN, BOT_INFO)
    rid, data = core.greeting()
    assert core.greeting_method == "server/discover"
    assert _frame(data) == {"jsonrpc": "2.0", "id": rid, "method": "server/discover", "params": {"_meta": MODERN_META}}
    server = {"name": "srv", "version": "9"}
    assert core.greeted({"capabilities": {"tools": {}}, "_meta": {META_SERVER_INFO: server}}) is None
    assert (core.protocol_version, core.server_info, core.phase) == (LATEST_MODERN, server, Phase.READY)


def test_responses_decode_with_their_result_or_error() -> None:
    core = ClientCore()
    assert core.receive(_wire({"id": 1, "result": {"content": []}})) == Response(1, {"content": []}, None)
    assert core.receive(memoryview(_wire({"id": 2, "result": None}))) == Response(2, None, None)
    event = core.receive(_wire({"id": 3, "error": {"code": -32602, "message": "bad symbol", "data": {"f": "s"}}}))
    assert type(event) is Response and event.id == 3 and event.result is None
    assert isinstance(event.error, RpcError)
    assert (event.error.code, event.error.message, event.error.data) == (-32602, "bad symbol", {"f": "s"})
    event = core.receive(_wire({"id": 4, "error": "boom"}))  # a malformed error member still fails the call
    assert type(event) is Response and event.error is not None and event.error.code == 0


def test_notifications_and_server_requests_decode() -> None:
    core = ClientCore()
    params = {"stream": "ticks:sim:BTCUSDT", "seq": 1, "data": {"p": "1"}}
    note = core.receive(_wire({"method": "notifications/tradingmcp/stream", "params": params}))
    assert note == Notification("notifications/tradingmcp/stream", params)
    assert core.receive(_wire({"method": "notifications/tools/list_changed"})) == Notification(
        "notifications/tools/list_changed", {}
    )
    event = core.receive(_wire({"id": "s1", "method": "sampling/createMessage", "params": {}}))
    assert type(event) is ServerRequest and (event.id, event.method) == ("s1", "sampling/createMessage")
    reply = _frame(event.reply)
    assert reply["id"] == "s1" and reply["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
    assert "sampling/createMessage" in reply["error"]["message"]


def test_garbage_decodes_into_a_parse_error_or_nothing() -> None:
    core = ClientCore()
    event = core.receive(b'{"jsonrpc": "2.0", "id": 1, "res')
    assert type(event) is ParseError and event.detail
    assert type(core.receive("not json")) is ParseError
    for frame in (b"[1, 2]", b'"text"', b"{}", b'{"jsonrpc": "2.0"}', b'{"method": 5}', b'{"id": null}'):
        assert core.receive(frame) is None, frame


def test_progress_goes_to_its_request_handler_until_the_request_ends() -> None:
    core = ClientCore()
    seen: list[dict[str, Any]] = []
    rid, data = core.encode_request("tools/call", {"name": "slow", "arguments": {}}, on_progress=seen.append)
    token = progress_token(rid)
    assert _frame(data)["params"]["_meta"] == {"progressToken": token}
    mine = {"progressToken": token, "progress": 1, "total": 2}
    event = core.receive(_wire({"method": "notifications/progress", "params": mine}))
    assert type(event) is Progress and (event.token, event.params) == (token, mine)
    event.handler(event.params)
    assert seen == [mine]
    # progress of some other token is an ordinary notification
    other = {"progressToken": "elsewhere", "progress": 1}
    assert core.receive(_wire({"method": "notifications/progress", "params": other})) == Notification(
        "notifications/progress", other
    )
    core.end_progress(rid)
    late = core.receive(_wire({"method": "notifications/progress", "params": mine}))
    assert late == Notification("notifications/progress", mine)


def test_modern_progress_request_keeps_both_meta_parts() -> None:
    core = ClientCore(LATEST_MODERN, BOT_INFO)
    rid, data = core.encode_request("tools/call", {"name": "slow"}, on_progress=lambda params: None)
    assert _frame(data)["params"]["_meta"] == {**MODERN_META, "progressToken": progress_token(rid)}


def test_cancellation_names_the_request_and_the_reason() -> None:
    core = ClientCore()
    assert _frame(core.encode_cancel(7)) == {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "client timeout"},
    }
    assert _frame(core.encode_cancel(8, "caller gave up"))["params"] == {"requestId": 8, "reason": "caller gave up"}
    assert _frame(core.encode_notification("notifications/roots/list_changed")) == {
        "jsonrpc": "2.0",
        "method": "notifications/roots/list_changed",
    }
    assert core.last_id == 0  # notifications take no id
