"""The Simulator object: synthetic fallback, the ``tradingmcp sim`` entry function, WS API rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import math
from pathlib import Path

import aiohttp
import orjson
import pytest
import websockets

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.run import run_simulator
from tradingmcp.sim.weights import RateLimitConfig


async def test_synthetic_market_when_no_recording(tmp_path: Path) -> None:
    async with Simulator(SimConfig(speed=0, data_dir=tmp_path, seed=3)) as sim:
        assert sim.synthetic
        assert sim.step(200) == 200
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{sim.rest_url}/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"}) as resp:
                assert resp.status == 200
                book = await resp.json()
            async with http.get(f"{sim.rest_url}/v3/exchangeInfo") as resp:
                info = await resp.json()
        assert len(book["bids"]) == 5 and float(book["bids"][0][0]) < float(book["asks"][0][0])
        assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
        assert sim.markets["BTCUSDT"].trades, "the synthetic market trades"


async def test_run_simulator_prints_banner_and_urls(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    task = asyncio.create_task(run_simulator(SimConfig(speed=0, data_dir=data_dir)))
    out = ""
    try:
        async with asyncio.timeout(10):
            while "WS API" not in out:
                await asyncio.sleep(0.02)
                out += capsys.readouterr().out
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert "SIMULATED EXCHANGE" in out
    assert "http://127.0.0.1:" in out and "/ws-api/v3" in out


async def test_ws_api_rate_limit_reply(data_dir: Path) -> None:
    config = SimConfig(speed=0, data_dir=data_dir, limits=RateLimitConfig(weight_limit_1m=30, ban_after_429=50))
    async with Simulator(config) as sim, websockets.connect(sim.ws_api_url) as ws:
        statuses = []
        for i in range(12):  # depth costs 5 (plus 2 to connect): the limit of 30 is crossed within 6-12 calls
            await ws.send(orjson.dumps({"id": i, "method": "depth", "params": {"symbol": "BTCUSDT"}}).decode())
            async with asyncio.timeout(5):
                reply = orjson.loads(await ws.recv())
            statuses.append(reply["status"])
            if reply["status"] == 429:
                assert reply["error"]["code"] == -1003 and reply["error"]["data"]["retryAfter"] > 0
                break
        assert statuses[-1] == 429 and statuses[0] == 200


async def test_replay_gives_the_loop_a_turn_after_every_event(data_dir: Path) -> None:
    """A peer sharing the simulator's loop (the embedded `serve`) reads each frame before the next event is replayed,
    even unpaced, where every event is due at once."""
    turns = 0
    seen: list[int] = []
    enough = asyncio.Event()

    def tap(stream: str, payload: object) -> None:
        seen.append(turns)
        if len(seen) >= 300:
            enough.set()

    async def spin() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    async with Simulator(SimConfig(speed=math.inf, data_dir=data_dir)) as sim:
        sim.market_taps.append(tap)
        spinner = asyncio.create_task(spin())
        try:
            async with asyncio.timeout(10):
                await enough.wait()
        finally:
            spinner.cancel()
    replayed = sorted(set(seen))
    assert len(replayed) > 100, "frames of different events were seen on different loop turns"
    # the frames one event emits (a trade and its derived streams) share a turn; no turn holds a burst of events
    assert max(seen.count(t) for t in replayed) <= 8
