"""Backpressure on a live server (both backends): a client that stops reading gets conflated market data, never loses a
response, and is closed with 1008 if it stays behind; other subscribers are unaffected. Inbound: too many concurrent
calls get -32005 at once, never a stall."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from tests.wire_helpers import (
    OP_CLOSE,
    OP_TEXT,
    TIMEOUT_S,
    Probe,
    RawSocketWs,
    close_code,
    make_app,
    make_hub,
    open_raw,
    running,
    wait_until,
)
from tradingmcp.client.session import McpClient, Notification, connect
from tradingmcp.server.wsserver import ClientConnection, McpServer
from tradingmcp.transport import ws
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import ErrorCode

KEY = "ticks:sim:BTCUSDT"
PAD = "x" * 4000
WIRE = ws.WireOptions(write_high_bytes=64 << 10, write_low_bytes=16 << 10)


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


def server_side(srv: McpServer, raw: RawSocketWs) -> ClientConnection:
    host, port = raw.writer.get_extra_info("sockname")[:2]
    matches = [c for c in srv.connections if c.conn is not None and c.conn.remote == f"{host}:{port}"]
    assert len(matches) == 1
    return matches[0]


async def subscribed_raw(srv: McpServer) -> RawSocketWs:
    raw = await RawSocketWs.open(srv.port, rcvbuf_bytes=4096)
    await raw.initialize()
    rid = raw.request("tools/call", {"name": "subscribe", "arguments": {"stream": KEY}})
    resp, _ = await raw.read_until_id(rid)
    assert resp["result"]["structuredContent"]["subscribed"] is True
    return raw


async def publish_until(srv: McpServer, cond: Any, max_messages: int = 50_000) -> int:
    """Publish on KEY (yielding to the loop now and then) until ``cond()``; returns how many were published."""
    async with asyncio.timeout(TIMEOUT_S * 2):
        for i in range(max_messages):
            srv.streams.publish(KEY, {"i": i, "pad": PAD})
            if i % 16 == 0:
                await asyncio.sleep(0)
                if cond():
                    return i + 1
    raise AssertionError("condition never held")


def stream_seqs(notes: list[Any]) -> list[int]:
    return [n.params["seq"] for n in notes if n.method == "notifications/tradingmcp/stream"]


async def notes_until(client: McpClient, want: Callable[[Notification], bool]) -> list[Notification]:
    """The client's notifications, read from :meth:`McpClient.notifications` up to the first that ``want`` accepts,
    followed by whatever else was already buffered."""
    got: list[Notification] = []
    async with asyncio.timeout(TIMEOUT_S):
        async for note in client.notifications():
            got.append(note)
            if want(note):
                return got + client.drain_notifications()
    raise AssertionError("the client's notifications ended")


async def test_slow_reader_is_conflated_and_gets_its_response(backend: ws.Backend) -> None:
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), backend, hub, wire=WIRE, slow_consumer_grace_s=60.0) as srv:
        fast: McpClient = await connect(srv.url, backend=backend, reconnect=False)
        await fast.subscribe(KEY)
        slow = await subscribed_raw(srv)
        slow_conn = server_side(srv, slow)
        assert probe.starts == [KEY] and hub.subscriber_count(KEY) == 2

        # every publish below is on KEY, which exists since fast subscribed: its seq counts them
        published = await publish_until(srv, lambda: slow_conn.out is not None and slow_conn.out.conflated > 0)
        out = slow_conn.out
        assert out is not None and out.behind_since is not None

        ping_id = slow.request("ping")  # asked while behind: the answer waits in the queue, never dropped
        await wait_until(lambda: len(out) > 0 and out.queued_bytes > 0)
        published += await publish_until(srv, lambda: out.conflated > 5)
        assert slow_conn.stats["conflated"] == out.conflated > 0

        resp, before = await slow.read_until_id(ping_id, timeout_s=TIMEOUT_S * 2)  # resume reading
        assert resp == {"jsonrpc": "2.0", "id": ping_id, "result": {}}
        seqs = [m["params"]["seq"] for m in before if m.get("method") == "notifications/tradingmcp/stream"]
        assert seqs == sorted(set(seqs)) and len(seqs) < published  # increasing, with gaps (conflated)
        assert slow_conn in srv.connections  # within its grace period: not closed

        # after catching up the slow client gets the newest message
        srv.streams.publish(KEY, {"i": "last"})
        rid = slow.request("ping")
        _, after = await slow.read_until_id(rid, timeout_s=TIMEOUT_S * 2)
        last = [m for m in after if m.get("method") == "notifications/tradingmcp/stream"][-1]
        assert last["params"]["data"] == {"i": "last"} and last["params"]["seq"] == published + 1

        fast_seqs = stream_seqs(await notes_until(fast, lambda n: n.params.get("data") == {"i": "last"}))
        assert fast_seqs == sorted(set(fast_seqs)) and fast_seqs[-1] == published + 1
        slow.close()
        await fast.close()


async def test_slow_consumer_is_closed_1008_others_keep_receiving(backend: ws.Backend) -> None:
    probe = Probe()
    hub = make_hub(probe)
    wire = ws.WireOptions(write_high_bytes=64 << 10, write_low_bytes=16 << 10, ping_timeout_s=0.5)
    async with running(make_app(probe, hub), backend, hub, wire=wire, slow_consumer_grace_s=0.2) as srv:
        fast = await connect(srv.url, backend=backend, reconnect=False)
        await fast.subscribe(KEY)
        slow = await subscribed_raw(srv)
        slow_conn = server_side(srv, slow)

        # every publish is on KEY, which exists since fast subscribed: its seq counts them
        n0 = await publish_until(srv, lambda: slow_conn.out is not None and slow_conn.out.behind_since is not None)
        # keep publishing gently past the grace period: the slow one is dropped, the fast one is not
        n0 += await publish_until(srv, lambda: slow_conn not in srv.connections, max_messages=1_000_000)
        await wait_until(lambda: hub.subscriber_count(KEY) == 1)
        assert fast.connected.is_set() and probe.stops == []

        for i in range(20):
            srv.streams.publish(KEY, {"after": i})
        seqs = stream_seqs(await notes_until(fast, lambda n: n.params.get("data") == {"after": 19}))
        assert seqs == sorted(set(seqs)) and seqs[-1] == n0 + 20

        # the slow client, when it finally reads, finds a 1008 close (or the TCP connection already gone)
        code = None
        async with asyncio.timeout(TIMEOUT_S):
            try:
                while True:
                    op, payload = await slow.recv_frame()
                    if op == OP_CLOSE:
                        code = close_code(payload)
                        break
                    assert op == OP_TEXT
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
        assert code in (None, CloseCode.POLICY_VIOLATION)
        slow.close()
        await fast.close()


async def test_too_many_in_flight_is_32005_not_a_stall(backend: ws.Backend) -> None:
    probe = Probe()
    async with running(make_app(probe), backend, max_in_flight=4) as srv:
        client = await open_raw(srv.url, backend)
        for i in range(10):
            client.send({"jsonrpc": "2.0", "id": f"b{i}", "method": "tools/call", "params": {"name": "block"}})
        errors = [await client.response(f"b{i}") for i in range(4, 10)]
        assert all(e["error"]["code"] == ErrorCode.TOO_MANY_REQUESTS for e in errors)
        assert "limit 4" in errors[0]["error"]["message"]
        await client.ping_ok()  # sync requests still answered while the async slots are full
        echo = await client.rpc("tools/call", {"name": "echo", "arguments": {"x": 1}})
        assert echo["result"]["structuredContent"] == {"x": 1}
        assert probe.calls["block"] == 4
        probe.release.set()
        for i in range(4):
            assert (await client.response(f"b{i}"))["result"]["structuredContent"] == {"released": True}
        # slots are free again
        again = await client.rpc("tools/call", {"name": "slow", "arguments": {"delay_s": 0}})
        assert again["result"]["isError"] is False
        await client.close()


async def test_duplicate_in_flight_id_is_rejected(backend: ws.Backend) -> None:
    probe = Probe()
    async with running(make_app(probe), backend) as srv:
        client = await open_raw(srv.url, backend)
        req = orjson.dumps({"jsonrpc": "2.0", "id": "dup", "method": "tools/call", "params": {"name": "block"}})
        client.send(req)
        await asyncio.wait_for(probe.started.wait(), TIMEOUT_S)
        client.send(req)
        err = await client.response("dup")
        assert err["error"]["code"] == ErrorCode.INVALID_REQUEST and "already in flight" in err["error"]["message"]
        client.rec.messages.remove(err)
        probe.release.set()
        assert (await client.response("dup"))["result"]["structuredContent"] == {"released": True}
        assert probe.calls["block"] == 1
        await client.close()


async def test_responses_past_slow_consumer_bytes_close_1008(backend: ws.Backend) -> None:
    """Responses are never conflated, so a client that keeps asking and never reads hits the byte limit."""
    wire = ws.WireOptions(write_high_bytes=64 << 10, write_low_bytes=16 << 10, ping_timeout_s=0.5)
    async with running(make_app(), backend, wire=wire, slow_consumer_bytes=512 << 10, slow_consumer_grace_s=60) as srv:
        bystander = await open_raw(srv.url, backend)
        raw = await RawSocketWs.open(srv.port, rcvbuf_bytes=4096)
        await raw.initialize()
        conn = server_side(srv, raw)
        async with asyncio.timeout(TIMEOUT_S * 2):
            for _ in range(4000):
                # stop once the server has started the close: websockets waits out the closing handshake
                # (close_timeout) before the connection leaves srv.connections, and a never-reading peer never answers it
                if conn not in srv.connections or (conn.conn is not None and conn.conn.closed):
                    break
                raw.request("tools/call", {"name": "echo", "arguments": {"x": PAD * 2}})
                try:
                    await raw.writer.drain()
                except ConnectionError:  # the server already dropped us
                    break
                await asyncio.sleep(0)
            else:
                raise AssertionError("the slow consumer was never closed")
            await wait_until(lambda: conn not in srv.connections)
        assert conn.out is not None
        assert conn.out.queued_bytes > 512 << 10  # closed for the byte limit, long before its grace period
        assert conn.out.conflated == 0  # responses are never conflated
        await bystander.ping_ok()
        await bystander.close()
        raw.close()
