"""The simulator (real recorded market, real sockets on 127.0.0.1) and an adapter pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.sim.app import SimConfig, Simulator

from .tcpproxy import TcpProxy


def sim_config(sim: Simulator, **overrides: object) -> BinanceConfig:
    """An adapter config aimed at ``sim`` with its dev key."""
    base: dict[str, object] = {
        "api_key": "sim-key",
        "api_secret": "sim-secret",
        "rest_url": sim.rest_url,
        "stream_url": sim.stream_url,
        "ws_api_url": sim.ws_api_url,
        "request_timeout_s": 5.0,
        "reconnect_delay_s": 0.05,
    }
    base.update(overrides)
    return BinanceConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
async def sim(data_dir: Path) -> AsyncIterator[Simulator]:
    """The simulator replaying the real BTCUSDT/ETHUSDT recording at 5× real time."""
    simulator = Simulator(SimConfig(port=0, speed=5.0, data_dir=data_dir))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def adapter(sim: Simulator) -> AsyncIterator[BinanceAdapter]:
    """A started adapter on the simulator."""
    async with BinanceAdapter(sim_config(sim)) as ex:
        yield ex


@pytest.fixture
async def proxy(sim: Simulator) -> AsyncIterator[TcpProxy]:
    """A loopback TCP proxy in front of the simulator's WS API port (cut it to drop connections mid-request)."""
    p = TcpProxy("127.0.0.1", sim.ws_port)
    await p.start()
    try:
        yield p
    finally:
        await p.close()
