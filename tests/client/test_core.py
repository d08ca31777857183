"""The client's protocol core with no event loop (plain functions, no socket): requests are numbered and carry the
era's ``_meta``, the handshake records what the server announced, each server frame decodes into exactly one event (a
response with its result or error, a notification, a server request with its -32601 reply, a parse error), progress
reaches its request's handler, and a timed-out request's cancellation says which request and why."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson

from tradingmcp.client.core import (
    CLIENT_INFO,
    ClientCore,
    Handlers,
    Notification,
    Phase,
    StreamSeqs,
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
CAPS = {"extensions": {"io.tradingmcp/streams": {}}}  # our stream notifications, declared in both eras
MODERN_META = {META_VERSION: LATEST_MODERN, META_CLIENT_CAPS: CAPS, META_CLIENT_INFO: BOT_INFO}


class Recorder:
    """The core's handlers: each event as a tuple ``(kind, ...)``, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.handlers = Handlers(self.response, self.notification, self.server_request, self.parse_error)

    def response(self, request_id: Any, result: Any, error: RpcError | None) -> None:
        self.events.append(("response", request_id, result, error))

    def notification(self, note: Notification) -> None:
        self.events.append(("notification", note))

    def server_request(self, request_id: Any, method: str, reply: bytes) -> None:
        self.events.append(("server_request", request_id, method, reply))

    def parse_error(self, detail: str) -> None:
        self.events.append(("parse_error", detail))

    def take(self) -> list[tuple[Any, ...]]:
        events, self.events = self.events, []
        return events


def _core(protocol_version: str = LATEST_HANDSHAKE, client_info: dict[str, str] | None = None) -> ClientCore:
    return ClientCore(Recorder().handlers, protocol_version, client_info)


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
    core = _core(LATEST_HANDSHAKE, BOT_INFO)
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
    core = _core(LATEST_MODERN, BOT_INFO)
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
    core = _core()
    assert core.phase is Phase.IDLE and core.protocol_version is None and core.client_info == CLIENT_INFO
    rid, data = core.greeting()
    assert core.phase is Phase.GREETING and core.greeting_method == "initialize"
    assert _frame(data) == {
        "jsonrpc": "2.0",
        "id": rid,
        "method": "initialize",
        "params": {"protocolVersion": LATEST_HANDSHAKE, "capabilities": CAPS, "clientInfo": CLIENT_INFO},
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
    core = _core(LATEST_MODERN, BOT_INFO)
    rid, data = core.greeting()
    assert core.greeting_method == "server/discover"
    assert _frame(data) == {"jsonrpc": "2.0", "id": rid, "method": "server/discover", "params": {"_meta": MODERN_META}}
    server = {"name": "srv", "version": "9"}
    assert core.greeted({"capabilities": {"tools": {}}, "_meta": {META_SERVER_INFO: server}}) is None
    assert (core.protocol_version, core.server_info, core.phase) == (LATEST_MODERN, server, Phase.READY)


def test_responses_decode_with_their_result_or_error() -> None:
    rec = Recorder()
    core = ClientCore(rec.handlers)
    core.receive(_wire({"id": 1, "result": {"content": []}}))
    core.receive(memoryview(_wire({"id": 2, "result": None})))
    assert rec.take() == [("response", 1, {"content": []}, None), ("response", 2, None, None)]
    core.receive(_wire({"id": 3, "error": {"code": -32602, "message": "bad symbol", "data": {"f": "s"}}}))
    core.receive(_wire({"id": 4, "error": "boom"}))  # a malformed error member still fails the call
    (kind, rid, result, error), (_, rid4, _, error4) = rec.take()
    assert (kind, rid, result) == ("response", 3, None)
    assert isinstance(error, RpcError) and (error.code, error.message, error.data) == (-32602, "bad symbol", {"f": "s"})
    assert rid4 == 4 and isinstance(error4, RpcError) and error4.code == 0


def test_notifications_and_server_requests_decode() -> None:
    rec = Recorder()
    core = ClientCore(rec.handlers)
    params = {"stream": "ticks:sim:BTCUSDT", "seq": 1, "data": {"p": "1"}}
    core.receive(_wire({"method": "notifications/tradingmcp/stream", "params": params}))
    core.receive(_wire({"method": "notifications/tools/list_changed"}))
    assert rec.take() == [
        ("notification", Notification("notifications/tradingmcp/stream", params)),
        ("notification", Notification("notifications/tools/list_changed", {})),
    ]
    core.receive(_wire({"id": "s1", "method": "sampling/createMessage", "params": {}}))
    [(kind, rid, method, reply)] = rec.take()
    assert (kind, rid, method) == ("server_request", "s1", "sampling/createMessage")
    answer = _frame(reply)
    assert answer["id"] == "s1" and answer["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
    assert "sampling/createMessage" in answer["error"]["message"]


def test_garbage_decodes_into_a_parse_error_or_nothing() -> None:
    rec = Recorder()
    core = ClientCore(rec.handlers)
    core.receive(b'{"jsonrpc": "2.0", "id": 1, "res')
    core.receive("not json")
    events = rec.take()
    assert [e[0] for e in events] == ["parse_error", "parse_error"] and all(e[1] for e in events)
    for frame in (b"[1, 2]", b'"text"', b"{}", b'{"jsonrpc": "2.0"}', b'{"method": 5}', b'{"id": null}'):
        core.receive(frame)
        assert rec.take() == [], frame


def test_progress_goes_to_its_request_handler_until_the_request_ends() -> None:
    rec = Recorder()
    core = ClientCore(rec.handlers)
    seen: list[dict[str, Any]] = []
    rid, data = core.encode_request("tools/call", {"name": "slow", "arguments": {}}, on_progress=seen.append)
    token = progress_token(rid)
    assert _frame(data)["params"] == {"name": "slow", "arguments": {}, "_meta": {"progressToken": token}}
    mine = {"progressToken": token, "progress": 1, "total": 2}
    core.receive(_wire({"method": "notifications/progress", "params": mine}))
    assert seen == [mine] and rec.take() == []  # to the handler, not to the notification handler
    # progress of some other token is an ordinary notification
    other = {"progressToken": "elsewhere", "progress": 1}
    core.receive(_wire({"method": "notifications/progress", "params": other}))
    assert rec.take() == [("notification", Notification("notifications/progress", other))]
    core.end_progress(rid)
    core.receive(_wire({"method": "notifications/progress", "params": mine}))
    assert rec.take() == [("notification", Notification("notifications/progress", mine))] and seen == [mine]


def test_modern_progress_request_keeps_both_meta_parts() -> None:
    core = _core(LATEST_MODERN, BOT_INFO)
    rid, data = core.encode_request("tools/call", {"name": "slow"}, on_progress=lambda params: None)
    assert _frame(data)["params"]["_meta"] == {**MODERN_META, "progressToken": progress_token(rid)}


def test_cancellation_names_the_request_and_the_reason() -> None:
    core = _core()
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


# ---------------------------------------------------------------- stream positions (resume)
TRADES = "trades:sim:BTCUSDT"
BOOK = "book:sim:BTCUSDT:5"


def _msg(key: str, seq: int) -> dict[str, Any]:
    return {"stream": key, "seq": seq, "data": {}}


def _answer(seq: int, epoch: str = "e.1", conflates: bool = False, **more: Any) -> dict[str, Any]:
    return {"stream": TRADES, "subscribed": True, "epoch": epoch, "seq": seq, "conflates": conflates, **more}


def test_stream_seqs_resume_after_the_last_seq_and_drop_duplicates() -> None:
    seqs = StreamSeqs()
    assert seqs.resume_args(TRADES) == {"stream": TRADES}  # nothing known: a plain subscribe
    seqs.subscribing(TRADES)
    assert seqs.on_message(_msg(TRADES, 41))  # live before the answer: taken as it comes
    seqs.answered(TRADES, _answer(40), {"stream": TRADES})
    assert all(seqs.on_message(_msg(TRADES, s)) for s in (42, 43))
    assert seqs.resume_args(TRADES) == {"stream": TRADES, "since_seq": 43, "epoch": "e.1"}

    # the link drops; the resume's replay may come before its answer
    args = seqs.resume_args(TRADES)
    seqs.subscribing(TRADES)
    assert seqs.on_message(_msg(TRADES, 44)) and seqs.on_message(_msg(TRADES, 45))
    c = seqs.answered(TRADES, _answer(45, resumed=True, first_seq=44), args)
    assert not seqs.on_message(_msg(TRADES, 45))  # a duplicate goes no further
    assert seqs.on_message(_msg(TRADES, 46))
    assert (c.last_seq, c.received, c.duplicates, c.lost, c.resumes, c.refused) == (46, 6, 1, 0, 1, 0)

    # a resume whose replay came but whose answer was lost with the link: the next one starts after that replay
    args = seqs.resume_args(TRADES)
    seqs.subscribing(TRADES)
    assert seqs.on_message(_msg(TRADES, 47)) and not seqs.on_message(_msg(TRADES, 47))
    assert seqs.resume_args(TRADES)["since_seq"] == 47
    seqs.subscribing(TRADES)
    assert c.last_seq == 47 and seqs.on_message(_msg(TRADES, 48))
    seqs.forget(TRADES)
    assert seqs.resume_args(TRADES) == {"stream": TRADES} and seqs.on_message(_msg(TRADES, 1))


def test_stream_seqs_count_what_a_gap_or_a_refused_resume_lost() -> None:
    seqs = StreamSeqs()
    seqs.subscribing(TRADES)
    seqs.answered(TRADES, _answer(0), {"stream": TRADES})
    for s in (1, 2, 5):  # 3 and 4 never came: lost (a lossless stream)
        seqs.on_message(_msg(TRADES, s))
    args = seqs.resume_args(TRADES)
    seqs.subscribing(TRADES)
    c = seqs.answered(TRADES, _answer(30, resumed=False, first_seq=11), args)  # the window starts at 11: 6..10 lost
    assert (c.lost, c.refused, c.resets, c.last_seq) == (2 + 5, 1, 0, 30)

    # a restarted server: another epoch, the old numbering means nothing, the loss cannot be counted
    args = seqs.resume_args(TRADES)
    seqs.subscribing(TRADES)
    seqs.on_message(_msg(TRADES, 3))
    c = seqs.answered(TRADES, _answer(3, epoch="other.1", resumed=False, first_seq=3), args)
    assert (c.resets, c.epoch, c.last_seq, c.lost) == (1, "other.1", 3, 7)
    assert seqs.on_message(_msg(TRADES, 4)) and c.lost == 7

    # a conflating stream: a jump is superseded states, not a loss
    seqs.subscribing(BOOK)
    seqs.answered(BOOK, _answer(10, conflates=True), {"stream": BOOK})
    seqs.on_message(_msg(BOOK, 11))
    seqs.on_message(_msg(BOOK, 15))
    assert seqs.cursors[BOOK].skipped == 3 and seqs.cursors[BOOK].lost == 0
    assert seqs.totals()["lost"] == 7 and seqs.totals()["skipped"] == 3 and seqs.totals()["resets"] == 1
