"""The tools/call fast path (a sync tool's dict result encoded by byte joining) answers byte for byte like the general
path (result dict + ``encode_result``), in both eras, with and without observers; the engine modules import without
cycles."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.wire_helpers import make_app
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.registry import ToolCallRecord, to_tool_result
from tradingmcp.server.mcp.toolcall import encode_structured_result
from tradingmcp.transport import jsonrpc

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False), st.text(max_size=8)
)
json_value = st.recursive(json_leaf, lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=4), v))


@settings(max_examples=300, deadline=None)
@given(
    rid=st.one_of(st.integers(-(2**53) + 1, 2**53 - 1), st.text(max_size=20)),
    value=st.dictionaries(st.text(max_size=6), json_value, max_size=5),
)
def test_fast_encode_is_byte_identical(rid: jsonrpc.RequestId, value: dict[str, Any]) -> None:
    assert encode_structured_result(rid, value, False) == jsonrpc.encode_result(rid, to_tool_result(value))
    modern = to_tool_result(value)
    modern["resultType"] = "complete"
    assert encode_structured_result(rid, value, True) == jsonrpc.encode_result(rid, modern)


def test_fast_encode_rejects_what_orjson_rejects() -> None:
    with pytest.raises(TypeError):
        encode_structured_result(1, {"x": object()}, False)


class _Sink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def send_conflatable(self, key: Any, data: bytes) -> None:
        self.sent.append(data)

    def close(self, code: int, reason: str) -> None:
        raise AssertionError("no close expected")


REQUESTS = [
    b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"x":"\\u00e9\\"q"}}}',
    b'{"jsonrpc":"2.0","id":"s-4","method":"tools/call","params":{"name":"echo","arguments":{"x":[1,2.5,null]}}}',
    b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"fail","arguments":{}}}',
    b'{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"x":1},'
    b'"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}',
    b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"place_order","arguments":{"symbol":"X"}}}',
    b'{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"nope"}}',
]


answered: dict[int, int] = {}
"""Record index -> how many answers the sink held when the observer saw it (filled by ``_answers``)."""


def _answers(observed: bool) -> tuple[list[bytes], list[ToolCallRecord]]:
    app = make_app()
    records: list[ToolCallRecord] = []
    sink = _Sink()
    if observed:

        def observe(record: ToolCallRecord) -> None:  # runs once the answer is written (the sink has it)
            records.append(record)
            answered[len(records) - 1] = len(sink.sent)

        app.observers.append(observe)
    session = ServerSession(app, sink)
    session.initialized = True
    for req in REQUESTS:
        session.on_message(req)
    return sink.sent, records


def test_observers_see_every_call_and_do_not_change_the_answers() -> None:
    fast, none = _answers(observed=False)
    slow, records = _answers(observed=True)
    assert none == [] and fast == slow
    answers = [orjson.loads(a) for a in fast]
    assert answers[0]["result"]["structuredContent"] == {"x": 'é"q'}
    assert answers[1]["id"] == "s-4" and answers[1]["result"]["structuredContent"] == {"x": [1, 2.5, None]}
    assert answers[2]["result"]["isError"] is True
    assert answers[3]["result"]["resultType"] == "complete"
    assert answers[4]["error"]["code"] == jsonrpc.ErrorCode.INVALID_PARAMS  # schema: order is required
    assert answers[5]["error"]["code"] == jsonrpc.ErrorCode.INVALID_PARAMS  # unknown tool
    assert [(r.tool, r.outcome) for r in records] == [
        ("echo", "ok"),
        ("echo", "ok"),
        ("fail", "tool_error"),
        ("echo", "ok"),
        ("place_order", "rpc_error"),
        ("nope", "rpc_error"),
    ]
    assert all(r.latency_us >= 0 for r in records)
    # tool results are observed after their answer is written; JSON-RPC errors (answered by the engine) before it
    assert [answered[i] for i in range(4)] == [1, 2, 3, 4]
    before, after = time.perf_counter_ns(), records[0].started_ns
    assert 0 < after <= before and all(a.started_ns <= b.started_ns for a, b in itertools.pairwise(records))


@pytest.mark.parametrize(
    "module",
    [
        *(
            f"mcp.{m}"
            for m in ("protocol", "context", "call", "registry", "toolcall", "methods", "resources", "engine", "runner")
        ),
        "tools.subscriptions",
    ],
)
def test_each_engine_module_imports_on_its_own(module: str) -> None:
    """A fresh interpreter imports each module first: an import cycle would fail here."""
    name = f"tradingmcp.server.{module}"
    assert importlib.util.find_spec(name) is not None
    command = [sys.executable, "-c", f"import {name}"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
