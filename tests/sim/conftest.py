"""The simulator on the real recording: ``sim`` in manual-step mode (``speed=0``: only ``sim.step(n)`` advances it),
``live_sim`` replaying on its own at 20× in a loop."""

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


@pytest.fixture
async def live_sim(data_dir: Path) -> AsyncIterator[Simulator]:
    """The simulator replaying the recording at 20× in a loop, for clients that wait on live streams."""
    s = Simulator(SimConfig(speed=20, loop=True, data_dir=data_dir))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()
