"""``tradingmcp sim``: the simulator on its own, with a clear SIMULATED EXCHANGE banner and its URLs."""

from __future__ import annotations

import asyncio
import math

from tradingmcp.sim.app import Simulator
from tradingmcp.sim.config import SimConfig

__all__ = ["banner", "run_simulator"]


def banner(sim: Simulator) -> str:
    """The startup text: a clear SIMULATED EXCHANGE banner and the URLs."""
    source = f"synthetic market (seed {sim.config.seed})" if sim.synthetic else f"recording under {sim.data_dir}"
    speed = sim.config.speed
    pace = "manual stepping" if speed == 0 else ("unpaced" if math.isinf(speed) else f"{speed:g}x real time")
    return "\n".join([
        "=" * 72,
        "  SIMULATED EXCHANGE (Binance Spot protocol) -- not a real exchange, no real funds",
        "=" * 72,
        f"  market:   {', '.join(sim.config.symbols)} from {source}, {pace}{', looping' if sim.config.loop else ''}",
        f"  REST:     {sim.rest_url}",
        f"  streams:  {sim.stream_url}  (WebSocket port {sim.ws_port}, shared with the WS API)",
        f"  WS API:   {sim.ws_api_url}",
        f"  API keys: {', '.join(sim.config.api_keys)} (simulator-only keys)",
    ])  # fmt: skip


async def run_simulator(config: SimConfig) -> None:
    """Run the simulator until cancelled, printing the banner and URLs (``tradingmcp sim``)."""
    sim = Simulator(config)
    await sim.start()
    print(banner(sim), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
