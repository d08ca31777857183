"""The simulator on the real recording, in manual-step mode (``speed=0``): only ``sim.step(n)`` advances it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tradingmcp.sim.app import SimConfig, Simulator


@pytest.fixture
async def sim(data_dir: Path) -> AsyncIterator[Simulator]:
    s = Simulator(SimConfig(speed=0, data_dir=data_dir))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()
