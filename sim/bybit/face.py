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

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from tradingmcp.sim.app import Simulator
from tradingmcp.sim.bybit import info
from tradingmcp.sim.bybit.orders import BybitTrading
from tradingmcp.sim.bybit.public import MarketView
from tradingmcp.sim.bybit.pushes import MarketPushes, PrivatePushes
from tradingmcp.sim.bybit.rest import LIMITS_PER_S, RestState, SecondWindow, make_rest_routes
from tradingmcp.sim.bybit.trade import TradeEndpoint
from tradingmcp.sim.bybit.wire import OrderIds
from tradingmcp.sim.bybit.ws import WsConfig, WsHub
from tradingmcp.sim.venueface import FaceSettings, VenueFace

__all__ = ["BYBIT_SIM_KEY", "BYBIT_SIM_SECRET", "BybitFace", "BybitFaceConfig", "banner"]

BYBIT_SIM_KEY = "bybit-sim-key"
"""The Bybit face's dev API key (simulator only)."""
BYBIT_SIM_SECRET = "bybit-sim-secret"
"""Its secret (simulator only)."""


@dataclass(frozen=True)
class BybitFaceConfig(FaceSettings):
    """How to serve the Bybit face (and what :class:`~tradingmcp.sim.venueface.FaceSettings` holds).

    Attributes:
        limit_scale: multiplies the per-second endpoint limits (tests shrink them to reach 10006).
        ws: WebSocket limits.
    """

    api_keys: Mapping[str, str] = field(default_factory=lambda: {BYBIT_SIM_KEY: BYBIT_SIM_SECRET})
    limit_scale: float = 1.0
    ws: WsConfig = field(default_factory=WsConfig)


class BybitFace(VenueFace[str]):
    """The Bybit face of ``sim`` (see the module docstring).

    Attributes:
        rest: the REST state (``faults``, ``calls``, ``limiter`` for tests).
        trade: the order entry WebSocket (``faults``, ``requests`` for tests).
        hub: WebSocket subscriptions (``connections``, ``cut()``).
        market: the public push builder (``drop_depth`` injects lost orderbook deltas).
        ids: engine ↔ Bybit order ids.
    """

    hub: WsHub
    market: MarketPushes

    def __init__(self, sim: Simulator, config: BybitFaceConfig | None = None) -> None:
        self.config = config = config or BybitFaceConfig()
        super().__init__(sim, config)
        symbols = {s: sim.exchange_info.symbol(s) for s in sim.config.symbols}
        entries = {s: info.instrument_entry(i) for s, i in symbols.items()}
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

    def _wants(self, topic: str) -> bool:
        return self.hub.wants(topic)

    def _fee_of(self, api_key: str, symbol: str, order_id: int) -> Decimal:
        acct = self.sim.engine.account_of(api_key)
        return sum((t.commission for t in acct.trades if t.symbol == symbol and t.order_id == order_id), Decimal(0))

    # ---- urls ------------------------------------------------------------------------------------------------------

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

    def _on_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for api_key, event in events:
            if api_key in self.config.api_keys:
                for topic, frame in self.private.on_event(api_key, event):
                    self.hub.publish_private(topic, frame, api_key)

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        make_rest_routes(app, self.rest)
        app.router.add_get("/v5/public/spot", self.hub.endpoint(private=False))
        app.router.add_get("/v5/private", self.hub.endpoint(private=True))
        app.router.add_get("/v5/trade", self.trade.handle)

    async def _cut_more(self) -> None:
        await self.trade.cut()


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
