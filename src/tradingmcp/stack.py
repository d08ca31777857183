"""The exchange side of a server: the embedded simulator (default) or Binance Spot Testnet, its adapter, the market
bridge to MCP streams and the market-data tools — shared by ``tradingmcp serve`` and ``tradingmcp demo``.

Without credentials (``BINANCE_API_KEY``/``BINANCE_API_SECRET`` unset) the server runs the embedded simulator replaying
the real recording (or the synthetic market) and says so in a banner; with them, Binance Spot Testnet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.sim.app import SimConfig, Simulator, banner
from tradingmcp.server.toolset import Toolset, ToolsetConfig, build_toolset
from tradingmcp.server.venues import Mode, Venue, Venues


@dataclass(frozen=True)
class ExchangeOptions:
    """``speed``: replay pace (×real time); ``loop``: restart the replay at the end (a server runs indefinitely)."""

    speed: float = 1.0
    loop: bool = True
    data_dir: Path | None = None
    synthetic: bool = False
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")


class ExchangeStack:
    """``await ExchangeStack.start(app, hub, opts)`` … ``await stack.close()``. ``banner`` says what runs.

    Registers every tool family (:func:`build_toolset`) on ``app`` for the venues it starts.
    """

    def __init__(self, venues: Venues, toolset: Toolset, sim: Simulator | None, text: str) -> None:
        self.venues = venues
        self.toolset = toolset
        self.sim = sim
        self.banner = text

    @property
    def adapter(self) -> ExchangeAdapter:
        """The default venue's adapter."""
        return self.venues.get().adapter

    @classmethod
    async def start(
        cls, app: McpApp, hub: StreamHub, opts: ExchangeOptions, tools: ToolsetConfig | None = None
    ) -> ExchangeStack:
        key, secret = os.environ.get("BINANCE_API_KEY", ""), os.environ.get("BINANCE_API_SECRET", "")
        sim: Simulator | None = None
        mode: Mode
        if key and secret:
            config = BinanceConfig(api_key=key, api_secret=secret)  # Spot Testnet by default
            mode = "testnet" if config.testnet else "live"
            text = f"exchange: Binance Spot {'Testnet' if config.testnet else 'MAINNET'} ({config.effective_rest_url})"
        else:
            sim = Simulator(
                SimConfig(
                    speed=opts.speed,
                    loop=opts.loop,
                    data_dir=opts.data_dir,
                    synthetic=opts.synthetic,
                    symbols=opts.symbols,
                )
            )
            await sim.start()
            config = BinanceConfig(
                api_key="sim-key",
                api_secret="sim-secret",
                rest_url=sim.rest_url,
                stream_url=sim.stream_url,
                ws_api_url=sim.ws_api_url,
            )
            mode = "sim"
            text = banner(sim)
        adapter = BinanceAdapter(config)
        venues = Venues([Venue("binance", adapter, mode, sim)])
        toolset = build_toolset(app, hub, venues, tools)
        try:
            await adapter.start()
            for venue in venues:
                await venue.user.start()
            await toolset.start()
        except BaseException:
            await toolset.close()
            await adapter.close()
            if sim is not None:
                await sim.stop()
            raise
        return cls(venues, toolset, sim, text)

    async def close(self) -> None:
        await self.toolset.close()
        for venue in self.venues:
            await venue.user.close()
            await venue.adapter.close()
        if self.sim is not None:
            await self.sim.stop()
