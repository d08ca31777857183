"""Fixtures for the MEXC tests: the real MEXC samples under ``../shared/data/mexc`` (missing data fails), and the
simulator's MEXC face (manual-step simulator on the real recording) with an adapter aimed at it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.mexc import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace, MexcFaceConfig
from tradingmcp.sim.state import Order


@pytest.fixture(scope="session")
def mexc_dir(data_dir: Path) -> Path:
    """``<data>/mexc``: samples, REST bodies, MEXC's official .proto files."""
    path = data_dir / "mexc"
    assert path.is_dir(), f"missing {path}"
    return path


@pytest.fixture(scope="session")
def misc_samples(mexc_dir: Path) -> dict[str, Any]:
    """``mexc_misc_real_samples.json``: protobuf-era pushes decoded to JSON, an exchangeInfo body, a trades body."""
    body: dict[str, Any] = json.loads((mexc_dir / "mexc_misc_real_samples.json").read_text())
    return body


@pytest.fixture(scope="session")
def rest_bodies(mexc_dir: Path) -> dict[str, Any]:
    """``mexc_rest_responses_ccxt.json``: real REST bodies keyed by request."""
    body: dict[str, Any] = json.loads((mexc_dir / "mexc_rest_responses_ccxt.json").read_text())
    return body


@pytest.fixture(scope="session")
def symbol_entries(mexc_dir: Path) -> list[dict[str, Any]]:
    """``exchangeInfo`` symbol entries for six USDT pairs (numbers stringified by ccxt)."""
    body: dict[str, Any] = json.loads((mexc_dir / "mexc_exchangeInfo_spot_symbols_ccxt.json").read_text())
    entries: list[dict[str, Any]] = body["symbols"]
    return entries


WARM_UP_EVENTS = 2000
"""Events replayed before a test starts (books, trades and prices exist)."""


@dataclass
class MexcSim:
    """The manual-step simulator and its MEXC face (``face.rest.calls``/``faults``, ``face.hub``, ``face.market``)."""

    sim: Simulator
    face: MexcFace

    async def replay(self, events: int, chunk: int = 50, pause_s: float = 0.002) -> None:
        """Replay ``events`` recorded events in chunks, letting the pushes go out between chunks."""
        for _ in range(0, events, chunk):
            self.sim.step(chunk)
            await asyncio.sleep(pause_s)

    def orders(self) -> list[Order]:
        """Every order of the MEXC dev account."""
        return list(self.sim.engine.account_of(MEXC_SIM_KEY).orders)


@pytest.fixture
async def mexc_sim(data_dir: Path) -> AsyncIterator[MexcSim]:
    """The simulator (speed 0, real recording) with its MEXC face on 127.0.0.1."""
    sim = Simulator(SimConfig(speed=0, data_dir=data_dir))
    await sim.start()
    sim.step(WARM_UP_EVENTS)
    face = MexcFace(sim, MexcFaceConfig(hang_s=1.0))
    await face.start()
    try:
        yield MexcSim(sim, face)
    finally:
        await face.stop()
        await sim.stop()


def sim_config(ms: MexcSim, **overrides: Any) -> MexcConfig:
    """An adapter config aimed at the MEXC face with its dev key, short timeouts and fast reconnects."""
    base: dict[str, Any] = {
        "api_key": MEXC_SIM_KEY,
        "api_secret": MEXC_SIM_SECRET,
        "rest_url": ms.face.rest_url,
        "ws_url": ms.face.ws_url,
        "request_timeout_s": 2.0,
        "reconnect_delay_s": 0.05,
        "fill_merge_window_ms": 300,
    }
    base.update(overrides)
    return MexcConfig(**base)


@pytest.fixture
async def adapter(mexc_sim: MexcSim) -> AsyncIterator[MexcAdapter]:
    """A started ``MexcAdapter`` on the MEXC face."""
    async with MexcAdapter(sim_config(mexc_sim)) as ex:
        yield ex
