"""Market streams: python-binance's BinanceSocketManager and raw websockets against the simulator (manual stepping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from binance import BinanceSocketManager
from sim_support import client_class

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.streams import StreamConfig


@pytest.fixture
async def bsm(sim: Simulator) -> AsyncIterator[BinanceSocketManager]:
    cls = client_class(sim)
    client = await cls.create("sim-key", "sim-secret")
    manager = BinanceSocketManager(client)
    manager.STREAM_URL = sim.stream_url
    try:
        yield manager
    finally:
        await client.close_connection()


def _fast(socket: Any) -> Any:
    """python-binance's read loop polls with a 10 s timeout, so closing an idle socket waits up to 10 s; in manual
    stepping the feed is idle between steps, so poll faster (client-side setting only)."""
    socket.TIMEOUT = 0.2
    return socket


async def _recv_json(ws: websockets.ClientConnection) -> Any:
    async with asyncio.timeout(5):
        return orjson.loads(await ws.recv())


async def test_socket_manager_trade_depth_book_ticker(sim: Simulator, bsm: BinanceSocketManager) -> None:
    async with (
        _fast(bsm.trade_socket("BTCUSDT")) as trades,
        _fast(bsm.depth_socket("BTCUSDT", interval=100)) as depth,
        _fast(bsm.symbol_book_ticker_socket("BTCUSDT")) as ticker,
    ):
        market = sim.markets["BTCUSDT"]
        before = len(market.trades)
        for _ in range(100):  # bounded; python-binance's queue holds 100 frames, so step a little at a time
            sim.step(20)
            if len(market.trades) > before:
                break
        async with asyncio.timeout(5):
            trade = await trades.recv()
            diff = await depth.recv()
            book = await ticker.recv()
        assert trade["e"] == "trade" and trade["t"] == market.trades[before]["id"]
        assert set(trade) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
        assert diff["e"] == "depthUpdate" and set(diff) == {"e", "E", "s", "U", "u", "b", "a"}
        assert set(book) == {"u", "s", "b", "B", "a", "A"} and book["s"] == "BTCUSDT"


async def test_multiplex_socket_gets_combined_frames_including_derived(
    sim: Simulator, bsm: BinanceSocketManager
) -> None:
    names = ["btcusdt@trade", "ethusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@kline_1m", "btcusdt@ticker",
             "btcusdt@depth5", "btcusdt@depth10@100ms", "btcusdt@depth"]  # fmt: skip
    seen: dict[str, dict[str, Any]] = {}
    async with _fast(bsm.multiplex_socket(names)) as socket:
        for _ in range(200):  # bounded
            sim.step(15)
            try:
                while True:
                    async with asyncio.timeout(0.05):
                        msg = await socket.recv()
                    seen.setdefault(msg["stream"], msg["data"])
            except TimeoutError:
                pass
            if len(seen) == len(names):
                break
    assert set(seen) == set(names)
    assert set(seen["btcusdt@aggTrade"]) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}
    assert set(seen["btcusdt@kline_1m"]["k"]) == set("tTsifLochlvnxqVQB")
    assert set(seen["btcusdt@ticker"]) == set("eEspPwxcQbBaAohlvqOCFLn")
    assert len(seen["btcusdt@depth5"]["bids"]) == 5 and "lastUpdateId" in seen["btcusdt@depth5"]
    assert len(seen["btcusdt@depth10@100ms"]["asks"]) == 10
    merged = seen["btcusdt@depth"]
    assert merged["e"] == "depthUpdate" and merged["U"] <= merged["u"]


async def test_live_subscribe_on_ws_0(sim: Simulator) -> None:
    async with websockets.connect(sim.stream_url + "ws/0") as ws:
        await ws.send(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethusdt@trade"], "id": 1}).decode()
        )
        assert await _recv_json(ws) == {"result": None, "id": 1}
        await ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}).decode())
        assert await _recv_json(ws) == {"result": ["btcusdt@trade", "ethusdt@trade"], "id": 2}
        await ws.send(orjson.dumps({"method": "UNSUBSCRIBE", "params": ["ethusdt@trade"], "id": 3}).decode())
        assert await _recv_json(ws) == {"result": None, "id": 3}
        await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 4}).decode())
        error = await _recv_json(ws)
        assert error["code"] == 2 and error["id"] == 4
        await asyncio.sleep(1.05)  # stay under 5 incoming messages per second
        await ws.send(orjson.dumps({"method": "SET_PROPERTY", "params": ["combined", True], "id": 5}).decode())
        assert await _recv_json(ws) == {"result": None, "id": 5}
        await ws.send(orjson.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 6}).decode())
        assert await _recv_json(ws) == {"result": True, "id": 6}
        market = sim.markets["BTCUSDT"]
        before = len(market.trades)
        for _ in range(200):
            sim.step(10)
            if len(market.trades) > before:
                break
        frame = await _recv_json(ws)
        assert frame["stream"] == "btcusdt@trade" and frame["data"]["t"] == market.trades[before]["id"]


async def test_incoming_message_limit_closes_connection(sim: Simulator) -> None:
    async with websockets.connect(sim.stream_url + "ws") as ws:
        for i in range(7):
            await ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}).decode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_slow_subscriber_is_dropped_without_stalling_the_replay(data_dir: Path) -> None:
    config = SimConfig(speed=0, data_dir=data_dir, streams=StreamConfig(queue_bytes=64 << 10))
    async with Simulator(config) as sim, websockets.connect(sim.stream_url + "ws/btcusdt@bookTicker") as ws:
        await asyncio.sleep(0.05)
        assert sim.hub.wants("btcusdt@bookTicker")
        # the client cannot read during this synchronous burst: once the kernel's socket buffers are full, the
        # server's transport buffer passes 64 KiB and the subscriber is dropped (bounded: at most 64 MB published)
        frame = {"u": 0, "s": "BTCUSDT", "pad": "x" * 4096}
        published = 0
        while sim.hub.wants("btcusdt@bookTicker") and published < 16_000:
            sim.hub.publish("btcusdt@bookTicker", frame)
            published += 1
        assert not sim.hub.wants("btcusdt@bookTicker") and published < 16_000
        assert sim.step(2000) == 2000  # the replay goes on without it
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_server_shutdown_event_on_stop(data_dir: Path) -> None:
    sim = Simulator(SimConfig(speed=0, data_dir=data_dir))
    await sim.start()
    try:
        async with websockets.connect(sim.stream_url + "stream?streams=btcusdt@trade") as ws:
            await asyncio.sleep(0.05)
            await sim.stop()
            assert (await _recv_json(ws))["e"] == "serverShutdown"
    finally:
        await sim.stop()
