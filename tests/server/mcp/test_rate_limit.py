"""The per-connection request-rate limit: once the burst is spent a request gets -32005 with ``retry_after_ms``, it is
served again after that wait, notifications do not count, and other connections are unaffected. Engine level with
an injected clock (no loop), then over real sockets; the default is off on loopback and on elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

import orjson
import pytest

from tests.wire_helpers import make_app, open_raw, running
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.wsserver import DEFAULT_RATE_LIMIT, McpServer, ServerConfig
from tradingmcp.transport import ws
from tradingmcp.transport.jsonrpc import ErrorCode
from tradingmcp.transport.ratelimit import NO_LIMIT, RateLimit


class ListSink:
    """The engine's Sink, recording what it writes (its I/O boundary)."""

    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []

    def send(self, data: bytes) -> None:
        self.out.append(orjson.loads(data))

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"closed {code} {reason}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def ping(rid: int) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": "ping"})


def assert_rate_limited(answer: dict[str, Any], per_s: float, burst: int) -> int:
    """The -32005 answer's ``retry_after_ms``, after checking the message names it and the limit."""
    error = answer["error"]
    ms = error["data"]["retry_after_ms"]
    assert error["code"] == ErrorCode.TOO_MANY_REQUESTS == -32005
    assert isinstance(ms, int) and ms >= 1
    assert f"retry after {ms} ms" in error["message"] and f"{per_s:g} requests/s, burst {burst}" in error["message"]
    return ms


def test_engine_refuses_past_the_burst_and_serves_after_the_wait() -> None:
    clock, sink = FakeClock(), ListSink()
    session = ServerSession(make_app(), sink, rate_limit=RateLimit(per_s=4, burst=2), clock=clock)
    for rid in (1, 2):
        session.on_message(ping(rid))
    session.on_message(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}')  # free
    session.on_message(ping(3))
    session.on_message(
        b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"x":1},'
        b'"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
    )
    assert [a["id"] for a in sink.out] == [1, 2, 3, 4]
    assert sink.out[0]["result"] == {} and sink.out[1]["result"] == {}
    assert assert_rate_limited(sink.out[2], 4, 2) == 250  # a token every 1/4 s
    assert assert_rate_limited(sink.out[3], 4, 2) == 250  # every request counts, tools/call too; refusals take nothing
    clock.now += 0.1
    session.on_message(ping(5))
    assert assert_rate_limited(sink.out[4], 4, 2) == 150
    clock.now += 0.15
    session.on_message(ping(6))
    assert sink.out[5] == {"jsonrpc": "2.0", "id": 6, "result": {}}


def test_engine_without_a_limit_never_refuses() -> None:
    sink = ListSink()
    session = ServerSession(make_app(), sink, rate_limit=NO_LIMIT)
    for rid in range(5000):
        session.on_message(ping(rid))
    assert all("result" in a for a in sink.out) and len(sink.out) == 5000


async def test_default_is_off_on_loopback_and_on_elsewhere() -> None:
    assert not McpServer(make_app(), ServerConfig(host="127.0.0.1")).rate_limit.enabled
    assert not McpServer(make_app(), ServerConfig(host="::1")).rate_limit.enabled
    assert McpServer(make_app(), ServerConfig(host="0.0.0.0")).rate_limit == DEFAULT_RATE_LIMIT
    assert not McpServer(make_app(), ServerConfig(host="0.0.0.0", rate_limit=NO_LIMIT)).rate_limit.enabled
    limit = RateLimit(5, 10)
    assert McpServer(make_app(), ServerConfig(host="127.0.0.1", rate_limit=limit)).rate_limit == limit


@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_over_the_wire_a_limited_connection_waits_and_others_are_served(backend: ws.Backend) -> None:
    limit = RateLimit(per_s=2, burst=5)  # a token every 500 ms: far longer than a pipelined burst takes
    async with running(make_app(), backend, rate_limit=limit) as srv:
        hog = await open_raw(srv.url, backend, initialize=False)
        other = await open_raw(srv.url, backend, initialize=False)
        for rid in range(8):  # pipelined: the server reads them together
            hog.send({"jsonrpc": "2.0", "id": rid, "method": "ping"})
        answers = [await hog.response(rid) for rid in range(8)]
        assert [a.get("result") for a in answers[:5]] == [{}] * 5  # the burst
        waits = [assert_rate_limited(a, 2, 5) for a in answers[5:]]
        assert all(1 <= w <= 500 for w in waits)
        for _ in range(5):  # another connection has its own bucket, untouched by the hog's
            await other.ping_ok()
        await asyncio.sleep(waits[-1] / 1000)
        await hog.ping_ok()  # served again after the wait it was told
        await hog.close()
        await other.close()
