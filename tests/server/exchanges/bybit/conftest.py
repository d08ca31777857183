"""Fixtures for the Bybit adapter tests: the simulator's Bybit face (manual-step simulator on the real recording) and
an adapter aimed at it over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.server.exchanges.bybit.adapter import BybitAdapter
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.bybit import BYBIT_SIM_KEY, BYBIT_SIM_SECRET, BybitFace, BybitFaceConfig
from tradingmcp.sim.state import Order

WARM_UP_EVENTS = 2000


@dataclass
class BybitSim:
    """The manual-step simulator and its Bybit face (``face.rest.calls``/``faults``, ``face.hub``, ``face.market``)."""

    sim: Simulator
    face: BybitFace

    async def replay(self, events: int, chunk: int = 50, pause_s: float = 0.002) -> None:
        """Replay ``events`` recorded events in chunks, letting the pushes go out between chunks."""
        for _ in range(0, events, chunk):
            self.sim.step(chunk)
            await asyncio.sleep(pause_s)

    def orders(self) -> list[Order]:
        """Every order of the Bybit dev account."""
        return list(self.sim.engine.account_of(BYBIT_SIM_KEY).orders)


@pytest.fixture
async def bybit_sim(data_dir: Path) -> AsyncIterator[BybitSim]:
    sim = Simulator(SimConfig(speed=0, data_dir=data_dir))
    await sim.start()
    sim.step(WARM_UP_EVENTS)
    face = BybitFace(sim, BybitFaceConfig(hang_s=1.0))
    await face.start()
    try:
        yield BybitSim(sim, face)
    finally:
        await face.stop()
        await sim.stop()


def sim_config(bs: BybitSim, **overrides: Any) -> BybitConfig:
    """An adapter config aimed at the Bybit face with its dev key, short timeouts and fast reconnects."""
    base: dict[str, Any] = {
        "api_key": BYBIT_SIM_KEY,
        "api_secret": BYBIT_SIM_SECRET,
        "rest_url": bs.face.rest_url,
        "public_ws_url": bs.face.public_ws_url,
        "private_ws_url": bs.face.private_ws_url,
        "request_timeout_s": 2.0,
        "reconnect_delay_s": 0.05,
    }
    base.update(overrides)
    return BybitConfig(**base)


@pytest.fixture
async def adapter(bybit_sim: BybitSim) -> AsyncIterator[BybitAdapter]:
    async with BybitAdapter(sim_config(bybit_sim)) as ex:
        yield ex
