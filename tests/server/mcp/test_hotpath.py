"""The hot-path shortcuts keep the exact behaviour of the slow paths they skip: the schema fast path, the request
fast path of the JSON-RPC classifier, the client's single-timer deadlines, the lazy Call; plus the wire fixes that came
with them (no token in picows' trace log, 1009 not lost behind a TCP reset)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as sync_connect
from websockets.typing import Subprotocol

from tests.wire_helpers import ORDER_SCHEMA, TIMEOUT_S, Probe, make_app, running
from tradingmcp.client.deadlines import SLACK_S, DeadlineQueue
from tradingmcp.client.session import connect
from tradingmcp.server.mcp.engine import META_LOG_LEVEL, Call, ServerSession
from tradingmcp.server.mcp.schema import _compile, _fast_object, compile_schema
from tradingmcp.transport import jsonrpc, ws
from tradingmcp.transport.auth import Principal, TokenStore, new_token
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import JsonRpcError, Kind, quote

# ---------------------------------------------------------------------------------------------------- schema fast path
FAST_SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"], "additionalProperties": False},
    {
        "type": "object",
        "properties": {
            "symbol": {"type": "string", "description": "e.g. BTCUSDT"},
            "side": {"type": "string", "enum": ["BUY", "SELL"]},
            "quantity": {"type": "number", "exclusiveMinimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "price": {"type": ["number", "null"], "exclusiveMaximum": 1e9},
            "flag": {"type": "boolean"},
        },
        "required": ["symbol", "side"],
    },
    {"type": "object", "properties": {}},
]
SLOW_SCHEMAS: list[dict[str, Any]] = [
    ORDER_SCHEMA,  # nested object: the full check only
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "exclusiveMinimum": 0}}},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=False),
    st.sampled_from(["BUY", "SELL", "buy", "", "BTCUSDT"]),
)
json_values = st.recursive(json_scalars, lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=3), v))
arguments = st.one_of(
    st.dictionaries(
        st.sampled_from(["text", "symbol", "side", "quantity", "limit", "price", "flag", "n", "tags", "order", "zz"]),
        json_values,
        max_size=6,
    ),
    json_values,
)


def _outcome(check: Any, args: Any) -> str | None:
    try:
        check(args)
    except JsonRpcError as exc:
        return exc.message
    return None


def test_fast_path_is_used_for_plain_schemas_only() -> None:
    assert all(_fast_object(s) is not None for s in FAST_SCHEMAS)
    assert all(_fast_object(s) is None for s in SLOW_SCHEMAS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=st.sampled_from(FAST_SCHEMAS + SLOW_SCHEMAS), args=arguments)
def test_schema_fast_path_answers_exactly_like_the_full_check(schema: dict[str, Any], args: Any) -> None:
    full = _compile(schema)
    assert _outcome(compile_schema(schema), args) == _outcome(lambda a: full(a, "arguments"), args)


def test_fast_path_still_names_the_first_error() -> None:
    validate = compile_schema(FAST_SCHEMAS[1])
    with pytest.raises(JsonRpcError, match=r"arguments\.quantity: must be > 0, got 0"):
        validate({"symbol": "BTCUSDT", "side": "BUY", "quantity": 0})
    with pytest.raises(JsonRpcError, match=r"arguments\.side: must be one of"):
        validate({"symbol": "BTCUSDT", "side": "HOLD"})
    with pytest.raises(JsonRpcError, match="missing required property 'side'"):
        validate({"symbol": "BTCUSDT"})
    validate({"symbol": "BTCUSDT", "side": "SELL", "quantity": 0.5, "limit": 5, "price": None, "flag": True})


def test_pattern_is_enforced_with_json_schemas_meaning() -> None:
    """``pattern`` (ECMA-262, unanchored) is checked, and its ``$`` is the end of the string: a trailing newline does
    not pass, as it would through Python's ``re.match``."""
    rule = "^[A-Za-z0-9_-]{1,36}$"
    validate = compile_schema(
        {"type": "object", "properties": {"client_order_id": {"type": "string", "pattern": rule}}}
    )
    validate({"client_order_id": "tmcp-0123_abc"})
    for bad in ("a b", "ok-id\n", "zz&orderId=1", "100%", "x#y", "ордер", ""):
        with pytest.raises(JsonRpcError) as exc:
            validate({"client_order_id": bad})
        assert (
            exc.value.code == -32602
            and exc.value.message == f"Invalid params: arguments.client_order_id: {quote(bad)} does not match {rule}"
        )
    compile_schema({"type": "string", "pattern": "b"})("abc")  # unanchored: found anywhere
    with pytest.raises(JsonRpcError):
        compile_schema({"type": "string", "pattern": "^a[$]$"})("a$\n")  # a "$" inside a class stays a character
    compile_schema({"type": "string", "pattern": "^a[$]$"})("a$")


# ------------------------------------------------------------------------------------------------ request classifier
messages = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.text(max_size=300), st.just([])),
        "method": st.one_of(st.sampled_from(["ping", "tools/call", ""]), st.integers(), st.none()),
        "params": st.one_of(st.none(), st.just({}), st.just({"name": "echo"}), st.just([1]), st.just("x")),
        "result": st.just({}),
    },
)


@settings(max_examples=500, deadline=None)
@given(obj=st.one_of(messages, json_values))
def test_request_fast_path_agrees_with_classify(obj: Any) -> None:
    parts = jsonrpc.request_parts(obj)
    try:
        msg = jsonrpc.classify(obj)
    except JsonRpcError:
        assert parts is None
        return
    if parts is not None:
        assert msg.kind is Kind.REQUEST
        assert parts == (msg.id, msg.method, msg.params)
    else:
        assert msg.kind is not Kind.REQUEST or type(msg.id) not in (int, str)  # only odd (subclass) ids go slow


# ----------------------------------------------------------------------------------------------------- the lazy Call
class _Sink:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, data: bytes) -> None:
        self.sent.append(orjson.loads(data))

    def send_conflatable(self, key: Any, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        self.sent.append(("close", code))


def test_call_reads_meta_when_asked() -> None:
    sink = _Sink()
    bob = Principal("bob", frozenset({"read"}))
    session = ServerSession(make_app(), sink, bob)
    session.log_level = "warning"
    call = Call(session, 7, {"progressToken": "p7", META_LOG_LEVEL: "debug"})
    assert (call.principal, call.progress_token, call.log_level, call.request_id) == (bob, "p7", "debug", 7)
    bare = Call(session, 8, None)
    assert (bare.progress_token, bare.log_level) == (None, "warning")
    call.progress(1, 2, "half")
    bare.progress(1)  # no token: nothing sent
    assert sink.sent == [
        {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": "p7", "progress": 1, "total": 2, "message": "half"},
        }
    ]


def test_engine_fast_and_slow_paths_answer_alike() -> None:
    sink = _Sink()
    session = ServerSession(make_app(), sink)
    session.on_message(b'{"jsonrpc":"2.0","id":1,"method":"ping"}')  # before initialize: refused
    session.on_message(b'{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}')
    session.on_message(b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}}')
    session.on_message(b'{"jsonrpc":"2.0","id":true,"method":"ping"}')  # bool id: slow path, -32600
    session.on_message(b'{"jsonrpc":"2.0","id":4,"method":"nope"}')
    session.on_message(b"{not json")
    assert sink.sent[0]["result"] == {}  # ping is allowed before initialize
    assert sink.sent[1]["result"]["protocolVersion"] == "2025-11-25"
    assert sink.sent[2]["result"]["structuredContent"] == {"x": 1}
    assert sink.sent[3]["error"]["code"] == jsonrpc.ErrorCode.INVALID_REQUEST
    assert sink.sent[4]["error"]["code"] == jsonrpc.ErrorCode.METHOD_NOT_FOUND
    assert sink.sent[5]["error"]["code"] == jsonrpc.ErrorCode.PARSE_ERROR and sink.sent[5]["id"] is None


# ------------------------------------------------------------------------------------------------ client deadlines
async def test_deadlines_expire_on_time_and_in_order() -> None:
    loop = asyncio.get_running_loop()
    expired: list[tuple[Any, float]] = []
    queue = DeadlineQueue(lambda fut, rid, label: (expired.append((rid, loop.time())), fut.set_result(None)))
    start = loop.time()
    futs = {rid: loop.create_future() for rid in ("slow", "fast", "answered", "never")}
    queue.add(loop, 0.15, futs["slow"], "slow", "m")
    queue.add(loop, 0.05, futs["fast"], "fast", "m")
    queue.add(loop, 0.05, futs["answered"], "answered", "m")
    queue.add(loop, math.inf, futs["never"], "never", "m")
    futs["answered"].set_result(None)
    async with asyncio.timeout(TIMEOUT_S):
        await futs["slow"]
    assert [rid for rid, _ in expired] == ["fast", "slow"]
    assert expired[0][1] - start >= 0.05 - SLACK_S
    assert expired[1][1] - start >= 0.15 - SLACK_S
    assert expired[1][1] - start < 0.15 + 1.0  # one timer, re-armed for the next head: no long wait
    assert not futs["never"].done() and len(queue) == 0
    queue.close()


async def test_answered_entries_do_not_pile_up_behind_a_stuck_one() -> None:
    loop = asyncio.get_running_loop()
    queue = DeadlineQueue(lambda fut, rid, label: fut.cancel())
    stuck = loop.create_future()
    queue.add(loop, 60.0, stuck, 0, "stuck")
    for i in range(1, 20_000):
        fut = loop.create_future()
        queue.add(loop, 60.0, fut, i, "quick")
        fut.set_result(None)
    assert len(queue) < 2 * 1024 + 2
    queue.close()
    assert len(queue) == 0 and not stuck.done()


async def test_client_keeps_one_deadline_entry_per_call_in_flight() -> None:
    async with running(make_app(), "picows") as srv:
        client = await connect(srv.url, reconnect=False)
        async with asyncio.timeout(TIMEOUT_S):
            for _ in range(200):
                await client.call_tool("echo", {"x": 1})
        # default timeout: no per-call entry anywhere, a handful of send-time marks at most
        assert len(client.deadline_queue) == 0 and len(client.send_sweep) <= 2
        assert client.in_flight == 0
        await client.close()


async def test_cancelled_call_is_forgotten() -> None:
    probe = Probe()
    async with running(make_app(probe), "picows") as srv:
        client = await connect(srv.url, reconnect=False)
        task = asyncio.create_task(client.call_tool("block", {}))
        async with asyncio.timeout(TIMEOUT_S):
            await probe.started.wait()
        assert client.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client.in_flight == 0
        assert await client.request("ping", timeout_s=TIMEOUT_S) == {}
        await client.close()


# ----------------------------------------------------------------------------------------------------- wire fixes
@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_no_token_in_any_log_at_any_level(backend: ws.Backend, caplog: pytest.LogCaptureFixture) -> None:
    token = new_token()
    caplog.set_level(1)  # below picows' trace level 9
    async with running(make_app(), backend, tokens=TokenStore({token: ("bot", ["read"])})) as srv:
        for in_subprotocol in (False, True):
            client = await connect(srv.url, token=token, token_in_subprotocol=in_subprotocol, backend=backend)
            assert await client.request("ping", timeout_s=TIMEOUT_S) == {}
            await client.close()
    assert any(r.name.startswith(("tradingmcp", "websockets")) for r in caplog.records)  # logging was on
    leaked = [f"{r.name}:{r.levelno}" for r in caplog.records if token in r.getMessage()]
    assert leaked == []


def _close_code_after_big_fragmented_message(url: str) -> int | None:
    big = b'{"jsonrpc":"2.0","method":"x","params":{"pad":"' + b"a" * (2 << 20) + b'"}}'
    c = sync_connect(url, subprotocols=[Subprotocol("mcp")], compression=None, proxy=None, max_size=None, legacy=True)
    try:
        c.send([big[i : i + 8192] for i in range(0, len(big), 8192)], text=True)
        while True:
            c.recv(timeout=TIMEOUT_S)
    except (ConnectionClosed, OSError, TimeoutError):
        pass
    finally:
        c.close()
    return c.protocol.close_rcvd.code if c.protocol.close_rcvd is not None else None


@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_1009_survives_a_client_still_sending(backend: ws.Backend) -> None:
    async with running(make_app(), backend, wire=ws.WireOptions(max_message_bytes=64 << 10)) as srv:
        started = time.monotonic()
        for _ in range(6):  # a reset racing the close frame lost it about one time in five before the fix
            async with asyncio.timeout(TIMEOUT_S * 2):
                code = await asyncio.to_thread(_close_code_after_big_fragmented_message, srv.url)
            assert code == CloseCode.MESSAGE_TOO_BIG
        assert time.monotonic() - started < TIMEOUT_S * 2
