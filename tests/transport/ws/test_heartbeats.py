"""Heartbeats (both backends): a peer that stops answering pings is dropped and its stream subscriptions are released;
a live peer with the same settings stays connected."""

from __future__ import annotations

import asyncio

import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, RawSocketWs, make_app, make_hub, running, wait_until
from tradingmcp.client.session import connect
from tradingmcp.server.mcp.replay import Retention
from tradingmcp.transport import ws

KEY = "ticks:sim:ETHUSDT"
FAST_PINGS = ws.WireOptions(ping_interval_s=0.2, ping_timeout_s=0.2)


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


async def test_silent_peer_is_dropped_and_released(backend: ws.Backend) -> None:
    probe = Probe()
    hub = make_hub(probe)
    async with running(make_app(probe, hub), backend, hub, wire=FAST_PINGS) as srv:
        live = await connect(srv.url, backend=backend, reconnect=False, wire=FAST_PINGS)
        await live.subscribe(KEY)
        silent = await RawSocketWs.open(srv.port)  # completes the handshake, then answers no ping
        await silent.initialize()
        rid = silent.request("tools/call", {"name": "subscribe", "arguments": {"stream": KEY}})
        resp, _ = await silent.read_until_id(rid)
        assert resp["result"]["structuredContent"]["subscribed"] is True
        assert hub.subscriber_count(KEY) == 2 and len(srv.connections) == 2

        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await wait_until(lambda: len(srv.connections) == 1, timeout_s=TIMEOUT_S)
        dropped_after = loop.time() - t0
        await wait_until(lambda: hub.subscriber_count(KEY) == 1)
        assert probe.stops == []  # the live subscriber still holds the stream
        assert dropped_after < 3.0, dropped_after

        # the live client answered its pings all along and still gets data
        assert live.connected.is_set()
        srv.streams.publish(KEY, {"px": 1})
        note = await asyncio.wait_for(anext(aiter(live.notifications())), TIMEOUT_S)
        assert note.params["data"] == {"px": 1}
        assert (await live.request("ping")) == {}

        # the last subscriber leaving stops the source
        await live.close()
        await wait_until(lambda: probe.stops == [KEY])
        assert hub.subscriber_count(KEY) == 0 and hub.active() == []
        silent.close()


async def test_silent_peer_alone_stops_the_source_after_the_linger(backend: ws.Backend) -> None:
    probe = Probe()
    hub = make_hub(probe, Retention(linger_s=0.5))
    async with running(make_app(probe, hub), backend, hub, wire=FAST_PINGS) as srv:
        silent = await RawSocketWs.open(srv.port)
        await silent.initialize()
        rid = silent.request("tools/call", {"name": "subscribe", "arguments": {"stream": KEY}})
        await silent.read_until_id(rid)
        assert probe.starts == [KEY]
        await wait_until(lambda: not srv.connections, timeout_s=TIMEOUT_S)
        # dropped, not closed: the stream keeps running (and its window filling) for a resume
        assert hub.subscriber_count(KEY) == 0 and hub.active() == [KEY] and probe.stops == []
        await wait_until(lambda: probe.stops == [KEY], timeout_s=TIMEOUT_S)
        assert hub.active() == []
        silent.close()


async def test_idle_but_answering_client_is_kept(backend: ws.Backend) -> None:
    async with running(make_app(), backend, wire=FAST_PINGS) as srv:
        client = await connect(srv.url, backend=backend, reconnect=False)  # default client options: it only answers
        await asyncio.sleep(0.7)  # several ping intervals of silence from the client's application
        assert client.connected.is_set() and len(srv.connections) == 1
        assert (await client.call_tool("echo", {"x": 3}))["structuredContent"] == {"x": 3}
        await client.close()


async def test_ping_timeout_longer_than_interval_is_accepted(backend: ws.Backend) -> None:
    """picows requires reply timeout <= idle timeout; the wire caps it instead of failing every connection."""
    odd = ws.WireOptions(ping_interval_s=0.2, ping_timeout_s=5.0)
    async with running(make_app(), backend, wire=odd) as srv:
        client = await connect(srv.url, backend=backend, reconnect=False, wire=odd)
        await asyncio.sleep(0.5)
        assert (await client.request("ping")) == {} and len(srv.connections) == 1
        await client.close()
