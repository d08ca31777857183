"""``McpClient.on_notification`` (both backends): a synchronous callback per server notification, in the frame
callback; True consumes it, False (or raising) leaves it buffered for ``notifications()``; progress of a call with
``on_progress`` never reaches it; it survives a reconnect."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, make_hub, running, wait_until
from tradingmcp.client.errors import ConnectionLost
from tradingmcp.client.session import McpClient, Notification, connect
from tradingmcp.server.mcp.streams import STREAM_METHOD
from tradingmcp.transport import ws

KEY = "ticks:sim:BTCUSDT"


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


def _consume_into(seen: list[Notification]) -> Any:
    """A callback that records every notification and consumes it."""

    def on_note(note: Notification) -> bool:
        seen.append(note)
        return True

    return on_note


def _seqs(notes: list[Notification]) -> list[int]:
    return [n.params["seq"] for n in notes if n.method == STREAM_METHOD]


async def test_callback_consumes_or_passes_through(backend: ws.Backend) -> None:
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), backend, hub) as srv:
        client = await connect(srv.url, backend=backend, reconnect=False)
        try:
            seen: list[Notification] = []
            in_frame_callback: list[bool] = []

            def on_note(note: Notification) -> bool:
                # runs inside the frame callback: no task is running it
                in_frame_callback.append(asyncio.current_task() is None)
                seen.append(note)
                return note.method == STREAM_METHOD and note.params["seq"] % 2 == 0  # consume even seqs

            client.on_notification(on_note)
            await client.subscribe(KEY)
            for i in range(10):
                srv.streams.publish(KEY, {"i": i})
            await wait_until(lambda: len(_seqs(seen)) == 10)
            assert _seqs(seen) == list(range(1, 11))
            assert seen[0].params["data"] == {"i": 0}
            # the odd ones were not consumed: they are buffered, in order; the even ones are not
            assert _seqs(client.drain_notifications()) == [1, 3, 5, 7, 9]
            if backend == "picows":
                assert all(in_frame_callback)

            # logging notifications go through the callback too; returning False keeps them buffered
            await client.request("logging/setLevel", {"level": "info"})
            await client.call_tool("log_both")
            await wait_until(lambda: sum(n.method == "notifications/message" for n in seen) == 2)
            levels = [n.params["level"] for n in client.drain_notifications() if n.method == "notifications/message"]
            assert levels == ["info", "error"]

            # None removes the callback: everything is buffered again
            client.on_notification(None)
            count = len(seen)
            srv.streams.publish(KEY, {"i": "after"})
            await wait_until(lambda: client.buffered_notifications > 0)
            assert _seqs(client.drain_notifications()) == [11]
            assert len(seen) == count
        finally:
            await client.close()


async def test_progress_goes_to_on_progress_not_the_callback(backend: ws.Backend) -> None:
    async with running(make_app(), backend) as srv:
        client = await connect(srv.url, backend=backend, reconnect=False)
        try:
            seen: list[Notification] = []
            client.on_notification(_consume_into(seen))
            progress: list[dict[str, Any]] = []
            result = await client.call_tool("slow", {"delay_s": 0.01, "steps": 2}, on_progress=progress.append)
            assert result["structuredContent"] == {"slept": True}
            assert [p["progress"] for p in progress] == [1, 2]
            assert not [n for n in seen if n.method == "notifications/progress"]
            assert client.drain_notifications() == []
        finally:
            await client.close()


async def test_a_raising_callback_is_logged_and_the_notification_kept(
    backend: ws.Backend, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), backend, hub) as srv:
        client = await connect(srv.url, backend=backend, reconnect=False)
        try:

            def broken(note: Notification) -> bool:
                raise RuntimeError("bot bug")

            client.on_notification(broken)
            await client.subscribe(KEY)
            with caplog.at_level(logging.ERROR, logger="tradingmcp.client"):
                srv.streams.publish(KEY, {"i": 1})
                await wait_until(lambda: client.buffered_notifications > 0)
            assert _seqs(client.drain_notifications()) == [1]
            assert any("on_notification callback failed" in r.getMessage() for r in caplog.records)
            # the connection is unharmed
            result = await client.call_tool("echo", {"x": 2})
            assert result["structuredContent"] == {"x": 2}
        finally:
            await client.close()


async def test_callback_survives_reconnect(backend: ws.Backend) -> None:
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), backend, hub) as srv:
        client: McpClient = await connect(srv.url, backend=backend, backoff_initial_s=0.01, backoff_max_s=0.05)
        try:
            seen: list[Notification] = []
            client.on_notification(_consume_into(seen))
            await client.subscribe(KEY)
            for conn in list(srv.connections):
                conn.close(1012, "restart")
            await wait_until(lambda: client.reconnects == 1)
            await client.wait_connected(TIMEOUT_S)
            srv.streams.publish(KEY, {"i": "fresh"})
            await wait_until(lambda: any(n.method == STREAM_METHOD for n in seen))
            assert [n.params["data"] for n in seen if n.method == STREAM_METHOD] == [{"i": "fresh"}]
            assert client.drain_notifications() == []
        finally:
            await client.close()


async def test_start_tool_call_writes_the_request_before_returning(backend: ws.Backend) -> None:
    """A call started inside the callback is on the wire before the callback returns (no task start first): the
    server answers it even though nothing awaits its future until later; not connected raises at once."""
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), backend, hub) as srv:
        client = await connect(srv.url, backend=backend, reconnect=False)
        try:
            started: list[asyncio.Future[dict[str, Any]]] = []

            def on_note(note: Notification) -> bool:
                if note.method == STREAM_METHOD:
                    started.append(client.start_tool_call("echo", {"x": note.params["seq"]}))
                return True

            client.on_notification(on_note)
            await client.subscribe(KEY)
            for i in range(3):
                srv.streams.publish(KEY, {"i": i})
            await wait_until(lambda: probe.calls.get("echo", 0) == 3)  # served before any future was awaited
            assert len(started) == 3
            results = [await asyncio.wait_for(f, TIMEOUT_S) for f in started]
            assert [r["structuredContent"]["x"] for r in results] == [1, 2, 3]
        finally:
            await client.close()
        await wait_until(lambda: not client.connected.is_set())
        with pytest.raises(ConnectionLost):
            client.start_tool_call("echo", {"x": 0})
