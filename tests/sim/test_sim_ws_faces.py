"""The simulator's WebSocket port (streams + WS API on our transport): routing, refused connects, both backends."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import websockets

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.weights import RateLimitConfig
from tradingmcp.transport import ws


async def _recv_json(conn: websockets.ClientConnection) -> Any:
    async with asyncio.timeout(5):
        return orjson.loads(await conn.recv())


async def test_separate_ports_and_plain_http_answers(data_dir: Path) -> None:
    async with Simulator(SimConfig(speed=0, data_dir=data_dir)) as sim:
        assert sim.ws_port not in (0, sim.port)
        assert sim.stream_url == f"ws://127.0.0.1:{sim.ws_port}/"
        assert sim.ws_api_url == f"ws://127.0.0.1:{sim.ws_port}/ws-api/v3"
        base = f"http://127.0.0.1:{sim.ws_port}"
        async with aiohttp.ClientSession() as http, asyncio.timeout(5):
            async with http.get(f"{base}/nope") as resp:
                assert resp.status == 404
            async with http.get(f"{base}/ws-api/v3") as resp:  # no upgrade
                assert resp.status == 400
            async with http.get(f"{sim.rest_url}/v3/ping") as resp:  # REST stays on its own port
                assert resp.status == 200


async def test_too_many_streams_in_the_url_is_http_400(data_dir: Path) -> None:
    from tradingmcp.sim.streams import StreamConfig

    config = SimConfig(speed=0, data_dir=data_dir, streams=StreamConfig(max_streams=1))
    async with Simulator(config) as sim:
        with pytest.raises(websockets.InvalidStatus) as exc:
            async with asyncio.timeout(5):
                await websockets.connect(sim.stream_url + "stream?streams=btcusdt@trade/ethusdt@trade")
        assert exc.value.response.status_code == 400


async def test_ws_api_connect_over_the_weight_limit_is_refused_with_1013(data_dir: Path) -> None:
    # a connect costs 2: the first one fills the minute, the next is refused and (ban_after_429=0) bans the IP, so a
    # minute boundary between two connects only costs one more attempt
    limits = RateLimitConfig(weight_limit_1m=2, ban_after_429=0, ban_s=60)
    async with Simulator(SimConfig(speed=0, data_dir=data_dir, limits=limits)) as sim:
        refused: Any = None
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(3):  # bounded
                conn = await stack.enter_async_context(websockets.connect(sim.ws_api_url))
                try:
                    async with asyncio.timeout(0.5):  # an accepted connection says nothing until asked
                        refused = orjson.loads(await conn.recv())
                except TimeoutError:
                    continue
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await _recv_json(conn)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
                break
        assert refused is not None and refused["status"] in (429, 418) and refused["id"] is None
        assert refused["error"]["code"] == -1003 and refused["error"]["data"]["retryAfter"] > 0


@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_streams_and_ws_api_on_each_backend(data_dir: Path, backend: ws.Backend) -> None:
    async with (
        Simulator(SimConfig(speed=0, data_dir=data_dir, ws_backend=backend)) as sim,
        websockets.connect(sim.stream_url + "stream?streams=btcusdt@trade") as streams,
        websockets.connect(sim.ws_api_url) as api,
    ):
        await api.send(orjson.dumps({"id": "t", "method": "time", "params": {}}).decode())
        reply = await _recv_json(api)
        assert reply["id"] == "t" and reply["status"] == 200 and reply["result"]["serverTime"] > 0
        market = sim.markets["BTCUSDT"]
        before = len(market.trades)
        for _ in range(200):  # bounded
            sim.step(10)
            if len(market.trades) > before:
                break
        frame = await _recv_json(streams)
        assert frame["stream"] == "btcusdt@trade" and frame["data"]["t"] == market.trades[before]["id"]
