"""``MexcStream`` over a real WebSocket on 127.0.0.1 (an aiohttp server) speaking MEXC's control protocol and
protobuf pushes (the simulator's control-message and push encoders play MEXC)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aiohttp import WSMsgType, web

from tradingmcp.server.exchanges.errors import ExchangeUnavailable
from tradingmcp.server.exchanges.mexc import control, parse
from tradingmcp.server.exchanges.mexc.streams import MexcStream
from tradingmcp.server.exchanges.models import Trade
from tradingmcp.sim.mexc import encode, topics
from tradingmcp.sim.mexc.ws import parse_request, reply

BLOCKED = "ZZZUSDT"


async def _mexc_like(request: web.Request) -> web.WebSocketResponse:
    """Ack subscriptions (refusing one symbol), answer PING, then push three trades per subscribed deals topic.
    ``?silent=1`` accepts the connection and never sends anything (a dead peer)."""
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    if request.query.get("silent"):
        async for _ in ws:
            pass
        return ws
    async for frame in ws:
        if frame.type is not WSMsgType.TEXT:
            continue
        req = parse_request(frame.data)
        if req.method == "PING":
            await ws.send_str(reply("PONG"))
            continue
        if any(BLOCKED in t for t in req.params):
            await ws.send_str(reply(f"Not Subscribed successfully! [{','.join(req.params)}].  Reason： Blocked! "))
            continue
        await ws.send_str(reply(",".join(req.params)))
        if req.method == "SUBSCRIPTION":
            for name in req.params:
                topic = topics.parse_topic(name)
                assert topic.symbol is not None
                for i in range(3):
                    trade = Trade(
                        topic.symbol, i, Decimal("61600.5") + i, Decimal("0.01"), 1_723_161_254_000 + i, i == 1
                    )
                    push = encode.encode_aggre_deals(topic.symbol, [trade], send_time_ms=1_723_161_254_010 + i)
                    await ws.send_bytes(push)
            await ws.send_bytes(b"\xff\xff\xff")  # garbage: counted and skipped by the client
        if req.method == "UNSUBSCRIPTION":
            await ws.close()
            break
    return ws


@pytest.fixture
async def mexc_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ws", _mexc_like)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}/ws"
    finally:
        await runner.cleanup()


async def test_subscribe_receive_ping_unsubscribe(mexc_url: str) -> None:
    topic = control.aggre_deals_topic("BTCUSDT")
    async with asyncio.timeout(10), MexcStream(mexc_url, ping_interval_s=0.05) as stream:
        assert stream.is_open
        await stream.subscribe([topic])
        assert stream.topics == {topic}
        trades = []
        for _ in range(3):
            push = await stream.recv()
            assert push.channel == topic
            trades += parse.to_events(push)
        assert [t.trade_id for t in trades] == [0, 1, 2]
        assert [t.is_buyer_maker for t in trades if isinstance(t, Trade)] == [False, True, False]
        await stream.ping()
        with pytest.raises(control.ControlError, match="did not confirm"):
            await stream.subscribe([control.aggre_deals_topic(BLOCKED)])
        assert stream.latency_s is not None  # the PONG (answered before the refusal) was measured
        assert stream.decode_errors == 1
        await stream.unsubscribe([topic])  # the fake server then closes the connection
        with pytest.raises(ExchangeUnavailable):
            await stream.recv()
        assert not stream.is_open
    assert stream.topics == set()


async def test_silent_peer_is_declared_dead(mexc_url: str) -> None:
    async with asyncio.timeout(10), MexcStream(mexc_url + "?silent=1", ping_interval_s=0.05, dead_after_s=0.2) as s:
        with pytest.raises(ExchangeUnavailable, match="connection dead"):
            await s.recv()


async def test_unreachable_server_is_unavailable() -> None:
    with pytest.raises(ExchangeUnavailable):
        async with asyncio.timeout(10), MexcStream("ws://127.0.0.1:9/ws"):
            pass
