"""Bad input: every malformed message gets the right JSON-RPC error (or close code), the connection keeps answering, and
other connections are never disturbed. Unit level (sans-I/O engine) and socket level (both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect as ws_client
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.wire_helpers import TIMEOUT_S, Probe, RawClient, make_app, open_raw, running
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.registry import McpApp, ToolCallRecord
from tradingmcp.server.mcp.schema import MAX_ARGUMENT_DEPTH
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport import jsonrpc, ws
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import MAX_QUOTED_CHARS, ErrorCode
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_VERSION

DEEP = b"[" * 5000 + b"]" * 5000
DEEP_IN_PARAMS = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + DEEP + b"}}"

# (label, raw frame, expected error code, expected id in the answer)
BAD: list[tuple[str, bytes, int, Any]] = [
    ("truncated", b'{"jsonrpc":"2.0","id":1,', ErrorCode.PARSE_ERROR, None),
    ("not json", b"hello", ErrorCode.PARSE_ERROR, None),
    ("empty", b"", ErrorCode.PARSE_ERROR, None),
    ("deep nesting", DEEP, ErrorCode.PARSE_ERROR, None),
    ("deep nesting in params", DEEP_IN_PARAMS, ErrorCode.PARSE_ERROR, None),
    ("batch", b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', ErrorCode.INVALID_REQUEST, None),
    ("empty array", b"[]", ErrorCode.INVALID_REQUEST, None),
    ("number", b"42", ErrorCode.INVALID_REQUEST, None),
    ("string", b'"ping"', ErrorCode.INVALID_REQUEST, None),
    ("null", b"null", ErrorCode.INVALID_REQUEST, None),
    ("wrong jsonrpc", b'{"jsonrpc":"1.0","id":7,"method":"ping"}', ErrorCode.INVALID_REQUEST, 7),
    ("no jsonrpc", b'{"id":8,"method":"ping"}', ErrorCode.INVALID_REQUEST, 8),
    ("missing method", b'{"jsonrpc":"2.0","id":9}', ErrorCode.INVALID_REQUEST, 9),
    ("method not a string", b'{"jsonrpc":"2.0","id":10,"method":5}', ErrorCode.INVALID_REQUEST, 10),
    ("empty method", b'{"jsonrpc":"2.0","id":11,"method":""}', ErrorCode.INVALID_REQUEST, 11),
    ("params array", b'{"jsonrpc":"2.0","id":12,"method":"ping","params":[1]}', ErrorCode.INVALID_REQUEST, 12),
    ("params string", b'{"jsonrpc":"2.0","id":13,"method":"ping","params":"x"}', ErrorCode.INVALID_REQUEST, 13),
    ("id null", b'{"jsonrpc":"2.0","id":null,"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
    ("id bool", b'{"jsonrpc":"2.0","id":true,"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
    ("id float", b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
    ("id object", b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', ErrorCode.INVALID_REQUEST, None),
    ("id huge int", b'{"jsonrpc":"2.0","id":%d,"method":"ping"}' % 2**60, ErrorCode.INVALID_REQUEST, None),
    ("id beyond u64", b'{"jsonrpc":"2.0","id":%d,"method":"ping"}' % 10**30, ErrorCode.INVALID_REQUEST, None),
    ("id 2KB string", b'{"jsonrpc":"2.0","id":"%s","method":"ping"}' % (b"x" * 2048), ErrorCode.INVALID_REQUEST, None),
    ("unknown method", b'{"jsonrpc":"2.0","id":20,"method":"tools/destroy"}', ErrorCode.METHOD_NOT_FOUND, 20),
    (
        "_meta not object",
        b'{"jsonrpc":"2.0","id":21,"method":"ping","params":{"_meta":1}}',
        ErrorCode.INVALID_PARAMS,
        21,
    ),
]


class ListSink:
    """The engine's Sink, recording what it writes (the engine's I/O boundary, not a mock of its logic)."""

    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes) -> None:
        self.out.append(orjson.loads(data))

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def _initialized_session(app: McpApp | None = None) -> tuple[ServerSession, ListSink]:
    sink = ListSink()
    session = ServerSession(app or make_app(), sink)
    session.on_message(
        b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}'
    )
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    sink.out.clear()
    return session, sink


# ---------------------------------------------------------------- unit level (no sockets)


@pytest.mark.parametrize(("label", "frame", "code", "rid"), BAD, ids=[b[0] for b in BAD])
def test_engine_answers_each_bad_message(label: str, frame: bytes, code: int, rid: Any) -> None:
    session, sink = _initialized_session()
    session.on_message(frame)
    assert sink.closed is None
    assert len(sink.out) == 1, sink.out
    err = sink.out[0]
    assert err["jsonrpc"] == "2.0"
    assert err["id"] == rid
    assert err["error"]["code"] == code
    assert isinstance(err["error"]["message"], str) and err["error"]["message"]
    session.on_message(b'{"jsonrpc":"2.0","id":"after","method":"ping"}')
    assert sink.out[-1] == {"jsonrpc": "2.0", "id": "after", "result": {}}


def test_parse_rejects_ids_by_rule() -> None:
    bad_ids: list[Any] = [True, False, 1.0, 2**53, -(2**53), "x" * 257, [], {}]
    for raw in bad_ids:
        with pytest.raises(jsonrpc.JsonRpcError) as info:
            jsonrpc.parse(orjson.dumps({"jsonrpc": "2.0", "id": raw, "method": "ping"}))
        assert info.value.code == ErrorCode.INVALID_REQUEST
    for ok in (0, 2**53 - 1, -(2**53 - 1), "", "x" * 256, "ü"):
        assert jsonrpc.parse(orjson.dumps({"jsonrpc": "2.0", "id": ok, "method": "ping"})).id == ok


def test_engine_bad_tool_arguments_name_the_path() -> None:
    session, sink = _initialized_session()
    cases = [
        ({"symbol": "BTCUSDT", "order": {"quantity": "1"}}, "arguments.order.quantity"),
        ({"symbol": "BTCUSDT", "order": {}}, "quantity"),
        ({"symbol": "BTCUSDT"}, "order"),
        ({"symbol": 5, "order": {"quantity": 1}}, "arguments.symbol"),
        ({"symbol": "BTCUSDT", "order": {"quantity": 1}, "extra": 1}, "extra"),
        ({"symbol": "BTCUSDT", "order": {"quantity": 0}}, "arguments.order.quantity"),
    ]
    for i, (args, needle) in enumerate(cases):
        session.on_message(
            orjson.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "tools/call",
                    "params": {"name": "place_order", "arguments": args},
                }
            )
        )
        err = sink.out[-1]["error"]
        assert err["code"] == ErrorCode.INVALID_PARAMS, err
        assert needle in err["message"], err
    session.on_message(b'{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"nope"}}')
    assert sink.out[-1]["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert "nope" in sink.out[-1]["error"]["message"]
    session.on_message(b'{"jsonrpc":"2.0","id":100,"method":"tools/call","params":{"name":"echo","arguments":[1]}}')
    assert sink.out[-1]["error"]["code"] == ErrorCode.INVALID_PARAMS


def test_engine_oversize_names_are_repeated_bounded() -> None:
    """A 100,000-character tool name, property name, enum value, cursor, method or protocol version gets its error
    with at most MAX_QUOTED_CHARS characters of it (and its length) in the message and the data."""
    app = make_app()

    @app.tool("pick", "An enum argument.", {"type": "object", "properties": {"side": {"enum": ["BUY", "SELL"]}}})
    def pick(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        return {}

    session, sink = _initialized_session(app)
    word = "token" * 20_000
    order = {"symbol": "BTCUSDT", "order": {"quantity": 1}}
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("tools/call", {"name": word}, ErrorCode.INVALID_PARAMS),
        ("tools/call", {"name": "place_order", "arguments": {**order, word: 1}}, ErrorCode.INVALID_PARAMS),
        ("tools/call", {"name": "pick", "arguments": {"side": word}}, ErrorCode.INVALID_PARAMS),
        ("tools/list", {"cursor": word}, ErrorCode.INVALID_PARAMS),
        ("tools/list", {"cursor": "9" * 5000}, ErrorCode.INVALID_PARAMS),
        (word, {}, ErrorCode.METHOD_NOT_FOUND),
        ("ping", {"_meta": {META_VERSION: word}}, ErrorCode.UNSUPPORTED_PROTOCOL_VERSION),
    ]
    for i, (method, params, code) in enumerate(cases):
        session.on_message(orjson.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}))
        err = sink.out[-1]["error"]
        assert sink.out[-1]["id"] == i and err["code"] == code, (method, err["message"][:200])
        assert len(err["message"]) <= MAX_QUOTED_CHARS + 160, (method, len(err["message"]))
        assert len(orjson.dumps(err)) <= 1024, (method, len(orjson.dumps(err)))
    assert f"({len(word)} characters)" in sink.out[0]["error"]["message"]
    assert sink.out[0]["error"]["message"].startswith("Unknown tool: 'tokentoken")


def test_engine_request_before_initialize_is_a_clear_error() -> None:
    sink = ListSink()
    session = ServerSession(make_app(), sink)
    session.on_message(b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
    err = sink.out[-1]["error"]
    assert err["code"] == ErrorCode.INVALID_REQUEST
    assert "initialize" in err["message"]
    session.on_message(b'{"jsonrpc":"2.0","id":2,"method":"ping"}')  # ping is allowed before initialize
    assert sink.out[-1]["result"] == {}


INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
ECHO_CALL = b'{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"echo","arguments":%s}}'


def test_engine_initialized_notification_alone_opens_nothing() -> None:
    """2025-11-25 Lifecycle: ``initialize`` comes first; ``notifications/initialized`` without it initializes nothing."""
    probe = Probe()
    sink = ListSink()
    session = ServerSession(make_app(probe), sink)
    session.on_message(INITIALIZED)
    assert sink.out == []  # a notification: no answer
    session.on_message(ECHO_CALL % (b"1", b'{"x":1}'))
    session.on_message(b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
    for err in sink.out:
        assert err["error"]["code"] == ErrorCode.INVALID_REQUEST and "initialize" in err["error"]["message"]
    assert [e["id"] for e in sink.out] == [1, 2] and probe.calls == {}
    session.on_message(INITIALIZED)  # repeating it changes nothing either
    session.on_message(ECHO_CALL % (b"3", b'{"x":3}'))
    assert sink.out[-1]["error"]["code"] == ErrorCode.INVALID_REQUEST and probe.calls == {}
    session.on_message(
        b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}'
    )
    session.on_message(ECHO_CALL % (b"4", b'{"x":4}'))
    assert sink.out[-1]["result"]["structuredContent"] == {"x": 4} and probe.calls == {"echo": 1}


def _nested(levels: int) -> bytes:
    """A JSON object ``levels`` objects deep (``{"x":1}`` is 1)."""
    return b'{"x":' * levels + b"1" + b"}" * levels


def test_engine_refuses_deep_arguments_with_32602_and_observes_the_refusal() -> None:
    probe = Probe()
    app = make_app(probe)
    records: list[ToolCallRecord] = []
    app.observers.append(records.append)
    sink = ListSink()
    session = ServerSession(app, sink)
    session.on_message(
        b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}'
    )
    for depth in (MAX_ARGUMENT_DEPTH + 1, 255, 1000):
        session.on_message(ECHO_CALL % (str(depth).encode(), _nested(depth)))
        err = sink.out[-1]
        assert err["id"] == depth and err["error"]["code"] == ErrorCode.INVALID_PARAMS, err
        assert f"nested deeper than {MAX_ARGUMENT_DEPTH} levels" in err["error"]["message"]
        assert err["error"]["data"]["path"] == "arguments"
    # a deep list inside an otherwise plain object is refused the same way
    session.on_message(ECHO_CALL % (b"7", b'{"x":' + b"[" * 300 + b"]" * 300 + b"}"))
    assert sink.out[-1]["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert probe.calls == {}  # no tool ran
    assert [(r.tool, r.outcome, r.error_code) for r in records] == [("echo", "rpc_error", ErrorCode.INVALID_PARAMS)] * 4
    # at the limit the call is served, and the session keeps serving
    session.on_message(ECHO_CALL % (b"8", _nested(MAX_ARGUMENT_DEPTH)))
    assert "result" in sink.out[-1] and probe.calls == {"echo": 1}
    session.on_message(b'{"jsonrpc":"2.0","id":"after","method":"ping"}')
    assert sink.out[-1] == {"jsonrpc": "2.0", "id": "after", "result": {}}


def test_engine_invalid_utf8_closes_1007() -> None:
    session, sink = _initialized_session()
    session.on_message(b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}')
    assert sink.closed is not None and sink.closed[0] == CloseCode.INVALID_FRAME_PAYLOAD_DATA
    assert sink.out == []


def test_engine_notifications_get_no_answer_even_when_odd() -> None:
    session, sink = _initialized_session()
    session.on_message(b'{"jsonrpc":"2.0","method":"no/such/notification","params":{}}')
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":[1]}}')
    session.on_message(b'{"jsonrpc":"2.0","id":5,"result":{}}')  # a stray response
    assert sink.out == []


# ---------------------------------------------------------------- socket level, both backends


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


@pytest.fixture
async def server(backend: ws.Backend) -> AsyncIterator[McpServer]:
    async with running(make_app(), backend, wire=ws.WireOptions(max_message_bytes=64 << 10)) as srv:
        yield srv


async def test_socket_bad_messages_keep_the_connection(server: McpServer, backend: ws.Backend) -> None:
    other = await open_raw(server.url, backend)
    client = await open_raw(server.url, backend)
    for label, frame, code, rid in BAD:
        client.conn.send_text(frame)
        resp = await client.rec.wait_for(lambda m: isinstance(m, dict) and "error" in m, TIMEOUT_S)
        client.rec.messages.remove(resp)
        assert resp["id"] == rid, label
        assert resp["error"]["code"] == code, (label, resp)
        await client.ping_ok()
    pings = [{"jsonrpc": "2.0", "id": f"r{i}", "result": {}} for i in range(2, len(BAD) + 2)]
    assert client.rec.messages[1:] == pings  # [0] is the initialize answer; nothing else came back
    await other.ping_ok()
    assert not other.rec.closed.done() and not client.rec.closed.done()
    await client.close()
    await other.close()


async def test_socket_bad_tool_args_and_before_initialize(server: McpServer, backend: ws.Backend) -> None:
    fresh = await open_raw(server.url, backend, initialize=False)
    resp = await fresh.rpc("tools/call", {"name": "echo", "arguments": {}})
    assert resp["error"]["code"] == ErrorCode.INVALID_REQUEST and "initialize" in resp["error"]["message"]
    await fresh.ping_ok()
    await fresh.initialize()
    resp = await fresh.rpc(
        "tools/call", {"name": "place_order", "arguments": {"symbol": "X", "order": {"quantity": "a"}}}
    )
    assert resp["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert "arguments.order.quantity" in resp["error"]["message"]
    resp = await fresh.rpc("tools/call", {"name": "echo", "arguments": {"x": 1}})
    assert resp["result"]["structuredContent"] == {"x": 1}
    await fresh.close()


async def test_socket_initialized_notification_alone_serves_no_tool(backend: ws.Backend) -> None:
    probe = Probe()
    async with running(make_app(probe), backend) as srv:
        bystander = await open_raw(srv.url, backend)
        fresh = await open_raw(srv.url, backend, initialize=False)
        fresh.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        resp = await fresh.rpc("tools/call", {"name": "echo", "arguments": {"x": 1}})
        assert resp["error"]["code"] == ErrorCode.INVALID_REQUEST and "initialize" in resp["error"]["message"]
        resp = await fresh.rpc("tools/list")
        assert resp["error"]["code"] == ErrorCode.INVALID_REQUEST
        assert probe.calls == {}
        # the 2026-07-28 era needs no handshake: a request carrying its version in _meta is served
        modern = await fresh.rpc(
            "tools/call",
            {"name": "echo", "arguments": {"x": 2}, "_meta": {META_VERSION: "2026-07-28", META_CLIENT_CAPS: {}}},
        )
        assert modern["result"]["structuredContent"] == {"x": 2} and probe.calls == {"echo": 1}
        await bystander.ping_ok()
        resp = await bystander.rpc("tools/call", {"name": "echo", "arguments": {"x": 3}})
        assert resp["result"]["structuredContent"] == {"x": 3}
        await fresh.close()
        await bystander.close()


async def test_socket_deep_arguments_are_refused_and_others_served(server: McpServer, backend: ws.Backend) -> None:
    bystander = await open_raw(server.url, backend)
    client = await open_raw(server.url, backend)
    client.conn.send_text(ECHO_CALL % (b'"deep"', _nested(1000)))
    resp = await client.response("deep")
    assert resp["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert f"nested deeper than {MAX_ARGUMENT_DEPTH} levels" in resp["error"]["message"]
    await client.ping_ok()
    await bystander.ping_ok()
    await client.close()
    await bystander.close()


async def _expect_close(url: str, send: Any) -> int:
    """Open a plain websockets client, run ``send(conn)``, return the close code the server sent."""
    async with asyncio.timeout(TIMEOUT_S):
        async with ws_client(url, subprotocols=[Subprotocol("mcp")], max_size=None) as c:
            await send(c)
            with pytest.raises(ConnectionClosed):
                while True:
                    await c.recv()
            assert c.close_code is not None
            return c.close_code


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("binary", CloseCode.UNSUPPORTED_DATA),
        ("oversize", CloseCode.MESSAGE_TOO_BIG),
        ("oversize fragmented", CloseCode.MESSAGE_TOO_BIG),
        ("invalid utf-8", CloseCode.INVALID_FRAME_PAYLOAD_DATA),
        ("invalid utf-8 fragmented", CloseCode.INVALID_FRAME_PAYLOAD_DATA),
    ],
)
async def test_socket_frames_that_close(server: McpServer, backend: ws.Backend, label: str, code: int) -> None:
    bystander = await open_raw(server.url, backend)
    big = b'{"jsonrpc":"2.0","method":"x","params":{"pad":"' + b"a" * (70 << 10) + b'"}}'

    async def send(c: Any) -> None:
        if label == "binary":
            await c.send(b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
        elif label == "oversize":
            await c.send(big, text=True)
        elif label == "oversize fragmented":
            await c.send([big[i : i + 8192] for i in range(0, len(big), 8192)], text=True)
        elif label == "invalid utf-8":
            await c.send(b'{"jsonrpc":"2.0","id":1,"method":"\xc3\x28"}', text=True)
        else:
            await c.send([b'{"jsonrpc":"2.0","id":1,', b'"method":"\xed\xa0\x80"}'], text=True)

    assert await _expect_close(server.url, send) == code
    await bystander.ping_ok()
    await bystander.close()


async def test_socket_fragmented_message_is_answered(server: McpServer) -> None:
    async with asyncio.timeout(TIMEOUT_S), ws_client(server.url, subprotocols=[Subprotocol("mcp")]) as c:
        msg = b'{"jsonrpc":"2.0","id":"frag","method":"ping"}'
        await c.send([msg[:5], msg[5:20], msg[20:]], text=True)
        assert orjson.loads(await c.recv()) == {"jsonrpc": "2.0", "id": "frag", "result": {}}
        # a multi-byte character split across two fragments is still valid UTF-8
        uni = '{"jsonrpc":"2.0","id":"ü€","method":"ping"}'.encode()
        cut = uni.index(b"\xe2") + 1
        await c.send([uni[:cut], uni[cut:]], text=True)
        assert orjson.loads(await c.recv())["id"] == "ü€"


async def test_pings_interleaved_with_many_connections(server: McpServer, backend: ws.Backend) -> None:
    """Ten connections sending garbage concurrently; each keeps answering its own pings."""

    async def one(i: int) -> RawClient:
        c = await open_raw(server.url, backend)
        for frame, _code, _rid in [(b[1], b[2], b[3]) for b in BAD[i % 5 :: 5]]:
            c.conn.send_text(frame)
            await c.ping_ok()
        return c

    async with asyncio.timeout(TIMEOUT_S * 2):
        clients = await asyncio.gather(*(one(i) for i in range(10)))
    for c in clients:
        errors = [m for m in c.rec.messages if "error" in m]
        pings = [m for m in c.rec.messages if "result" in m and m["id"] != "r1"]
        assert len(errors) == len(pings)
        await c.close()
