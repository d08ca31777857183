"""``BybitFace``: the simulator's Bybit V5 (spot) face — its own aiohttp server (REST ``/v5/*``, WebSocket
``/v5/public/spot``, ``/v5/private`` and the order entry ``/v5/trade``) over a running :class:`~tradingmcp.sim.app.Simulator`'s replayed market and
matching engine.

Same books, same engine, same replay clock as the Binance and MEXC faces; Bybit accounts are engine accounts keyed by
their API key (dev key ``bybit-sim-key``/``bybit-sim-secret``, simulator-only). The market is the real BINANCE
recording re-encoded into Bybit shapes: DERIVED data, labelled so in :func:`banner`.

Usage::

    sim = Simulator(SimConfig(...)); await sim.start()
    face = BybitFace(sim); await face.start()     # face.rest_url, face.public_ws_url, face.private_ws_url
    ...
    await face.stop(); await sim.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from tradingmcp.sim.app import Simulator
from tradingmcp.sim.bybit import info
from tradingmcp.sim.bybit.orders import BybitTrading
from tradingmcp.sim.bybit.public import MarketView
from tradingmcp.sim.bybit.pushes import MarketPushes, PrivatePushes, Push
from tradingmcp.sim.bybit.rest import LIMITS_PER_S, RestState, SecondWindow, make_rest_routes
from tradingmcp.sim.bybit.trade import TradeEndpoint
from tradingmcp.sim.bybit.wire import OrderIds
from tradingmcp.sim.bybit.ws import WsConfig, WsHub
from tradingmcp.sim.http import start_http

__all__ = ["BYBIT_SIM_KEY", "BYBIT_SIM_SECRET", "BybitFace", "BybitFaceConfig", "banner"]

BYBIT_SIM_KEY = "bybit-sim-key"
"""The Bybit face's dev API key (simulator only)."""
BYBIT_SIM_SECRET = "bybit-sim-secret"
"""Its secret (simulator only)."""


@dataclass(frozen=True)
class BybitFaceConfig:
    """How to serve the Bybit face.

    Attributes:
        host: listen address (loopback).
        port: listen port; 0 picks a free one.
        api_keys: ``{api_key: secret}``; each gets an engine account with the simulator's ``balances``.
        limit_scale: multiplies the per-second endpoint limits (tests shrink them to reach 10006).
        ws: WebSocket limits.
        hang_s: how long the ``hang_after`` test fault holds an answer (s).
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: Mapping[str, str] = field(default_factory=lambda: {BYBIT_SIM_KEY: BYBIT_SIM_SECRET})
    limit_scale: float = 1.0
    ws: WsConfig = field(default_factory=WsConfig)
    hang_s: float = 1.0


class BybitFace:
    """The Bybit face of ``sim`` (see the module docstring).

    Attributes:
        rest: the REST state (``faults``, ``calls``, ``limiter`` for tests).
        trade: the order entry WebSocket (``faults``, ``requests`` for tests).
        hub: WebSocket subscriptions (``connections``, ``cut()``).
        market: the public push builder (``drop_depth`` injects lost orderbook deltas).
        ids: engine ↔ Bybit order ids.
    """

    def __init__(self, sim: Simulator, config: BybitFaceConfig | None = None) -> None:
        self.sim = sim
        self.config = config = config or BybitFaceConfig()
        symbols = {s: sim.exchange_info.symbol(s) for s in sim.config.symbols}
        entries = {s: info.instrument_entry(i) for s, i in symbols.items()}
        for key in config.api_keys:
            if not sim.engine.has_account(key):
                sim.engine.add_account(key, {a: Decimal(v) for a, v in sim.config.balances.items()})
        self.ids = OrderIds()
        self.market = MarketPushes(sim.markets, self._wants, sim.market_ms)
        self.hub = WsHub(symbols, config.api_keys, self.market.snapshot, sim.state.server_ms, config.ws)
        self.trading = BybitTrading(sim.engine, {s: info.rules_of(e) for s, e in entries.items()}, self.ids)
        self.rest = RestState(
            view=MarketView(sim.markets, entries, sim.state.server_ms, sim.market_ms),
            trading=self.trading,
            api_keys=dict(config.api_keys),
            on_engine_events=sim.dispatch_engine_events,
            limiter=SecondWindow(LIMITS_PER_S, config.limit_scale),
            hang_s=config.hang_s,
        )
        self.trade = TradeEndpoint(self.trading, config.api_keys, sim.state.server_ms, sim.dispatch_engine_events,
                                   SecondWindow(LIMITS_PER_S, config.limit_scale))  # fmt: skip
        self.private = PrivatePushes(self.ids, self._fee_of)
        self._flush_scheduled = False
        self._runner: web.AppRunner | None = None
        self._port = 0

    def _wants(self, topic: str) -> bool:
        return self.hub.wants(topic)

    def _fee_of(self, api_key: str, symbol: str, order_id: int) -> Decimal:
        acct = self.sim.engine.account_of(api_key)
        return sum((t.commission for t in acct.trades if t.symbol == symbol and t.order_id == order_id), Decimal(0))

    # ---- urls ------------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return self._port

    @property
    def rest_url(self) -> str:
        """REST base without ``/v5`` (``BybitConfig.rest_url``)."""
        return f"http://{self.config.host}:{self._port}"

    @property
    def public_ws_url(self) -> str:
        """Public spot WebSocket (``BybitConfig.public_ws_url``)."""
        return f"ws://{self.config.host}:{self._port}/v5/public/spot"

    @property
    def trade_ws_url(self) -> str:
        """Order entry WebSocket (``BybitConfig.trade_ws_url``)."""
        return f"ws://{self.config.host}:{self._port}/v5/trade"

    @property
    def private_ws_url(self) -> str:
        """Private WebSocket (``BybitConfig.private_ws_url``)."""
        return f"ws://{self.config.host}:{self._port}/v5/private"

    # ---- taps ------------------------------------------------------------------------------------------------------

    def _on_market(self, stream: str, payload: dict[str, Any]) -> None:
        self._send(self.market.on_frame(stream, payload))
        if self.market.dirty and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._send(self.market.flush())

    def _send(self, frames: list[Push]) -> None:
        for topic, frame in frames:
            self.hub.publish(topic, frame)

    def _on_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for api_key, event in events:
            if api_key in self.config.api_keys:
                for topic, frame in self.private.on_event(api_key, event):
                    self.hub.publish_private(topic, frame, api_key)

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Hook into the simulator and bind the port."""
        app = web.Application()
        make_rest_routes(app, self.rest)
        app.router.add_get("/v5/public/spot", self.hub.endpoint(private=False))
        app.router.add_get("/v5/private", self.hub.endpoint(private=True))
        app.router.add_get("/v5/trade", self.trade.handle)
        self._runner, self._port = await start_http(app, self.config.host, self.config.port)
        self.sim.market_taps.append(self._on_market)
        self.sim.event_taps.append(self._on_events)

    async def stop(self) -> None:
        """Unhook and close every connection."""
        if self._on_market in self.sim.market_taps:
            self.sim.market_taps.remove(self._on_market)
        if self._on_events in self.sim.event_taps:
            self.sim.event_taps.remove(self._on_events)
        await self.hub.cut()
        await self.trade.cut()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BybitFace:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def banner(face: BybitFace) -> str:
    """The startup text of the Bybit face: SIMULATED, DERIVED data, URLs and the dev key."""
    return "\n".join([
        "=" * 72,
        "  SIMULATED EXCHANGE (Bybit V5 spot protocol) -- not a real exchange, no real funds",
        "  market data DERIVED from the Binance recording, re-encoded into Bybit shapes",
        "=" * 72,
        f"  REST:     {face.rest_url}/v5",
        f"  streams:  {face.public_ws_url} (public), {face.private_ws_url} (private), {face.trade_ws_url} (orders)",
        f"  API keys: {', '.join(face.config.api_keys)} (simulator-only keys)",
    ])  # fmt: skip
