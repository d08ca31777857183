"""The exchange side of a server: the embedded simulator (default) or Binance Spot Testnet, its adapter, the market
bridge to MCP streams and the market-data tools — shared by ``tradingmcp serve`` and ``tradingmcp demo``.

Without credentials (``BINANCE_API_KEY``/``BINANCE_API_SECRET`` unset) the server runs the embedded simulator replaying
the real recording (or the synthetic market) and says so in a banner; with them, Binance Spot Testnet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.markets import MarketBridge, register_market_tools
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.sim.app import SimConfig, Simulator, banner


@dataclass(frozen=True)
class ExchangeOptions:
    """``speed``: replay pace (×real time); ``loop``: restart the replay at the end (a server runs indefinitely)."""

    speed: float = 1.0
    loop: bool = True
    data_dir: Path | None = None
    synthetic: bool = False
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")


class ExchangeStack:
    """``await ExchangeStack.start(app, hub, opts)`` … ``await stack.close()``. ``banner`` says what runs."""

    def __init__(self, adapter: BinanceAdapter, bridge: MarketBridge, sim: Simulator | None, text: str) -> None:
        self.adapter = adapter
        self.bridge = bridge
        self.sim = sim
        self.banner = text

    @classmethod
    async def start(cls, app: McpApp, hub: StreamHub, opts: ExchangeOptions) -> ExchangeStack:
        key, secret = os.environ.get("BINANCE_API_KEY", ""), os.environ.get("BINANCE_API_SECRET", "")
        sim: Simulator | None = None
        if key and secret:
            config = BinanceConfig(api_key=key, api_secret=secret)  # Spot Testnet by default
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
            text = banner(sim)
        adapter = BinanceAdapter(config)
        bridge = MarketBridge("binance", adapter, hub)
        register_market_tools(app, adapter, "binance")
        try:
            await adapter.start()
            await bridge.start()
        except BaseException:
            await adapter.close()
            if sim is not None:
                await sim.stop()
            raise
        return cls(adapter, bridge, sim, text)

    async def close(self) -> None:
        await self.bridge.close()
        await self.adapter.close()
        if self.sim is not None:
            await self.sim.stop()
