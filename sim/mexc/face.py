"""``MexcFace``: the simulator's MEXC Spot v3 face — its own aiohttp server (REST ``/api/v3/*`` + WebSocket ``/ws``)
over a running :class:`~tradingmcp.sim.app.Simulator`'s replayed market and matching engine.

Same books, same engine, same replay clock as the Binance face; MEXC accounts are engine accounts keyed by their MEXC
API key (dev key ``mexc-sim-key``/``mexc-sim-secret``, simulator-only). The market is the real BINANCE recording
re-encoded into MEXC shapes: DERIVED data, labelled so in :func:`banner`.

Usage::

    sim = Simulator(SimConfig(...)); await sim.start()
    face = MexcFace(sim); await face.start()     # face.rest_url, face.ws_url
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
from tradingmcp.sim.mexc import info
from tradingmcp.sim.mexc.orders import MexcTrading
from tradingmcp.sim.mexc.public import MarketView
from tradingmcp.sim.mexc.pushes import MarketPushes, PrivatePushes
from tradingmcp.sim.mexc.rest import EndpointWindow, ListenKeys, RestState, make_rest_routes
from tradingmcp.sim.mexc.wire import OrderIds
from tradingmcp.sim.mexc.ws import WsConfig, WsHub
from tradingmcp.sim.venueface import FaceSettings, VenueFace

__all__ = ["MEXC_SIM_KEY", "MEXC_SIM_SECRET", "MexcFace", "MexcFaceConfig", "banner"]

MEXC_SIM_KEY = "mexc-sim-key"
"""The MEXC face's dev API key (simulator only)."""
MEXC_SIM_SECRET = "mexc-sim-secret"
"""Its secret (simulator only; a real secret is never logged)."""


@dataclass(frozen=True)
class MexcFaceConfig(FaceSettings):
    """How to serve the MEXC face (and what :class:`~tradingmcp.sim.venueface.FaceSettings` holds).

    Attributes:
        max_requests_per_10s: requests per IP per endpoint in 10 s before 429 (MEXC: 500).
        ws: WebSocket limits (30 topics per connection, 30 s without a subscription…).
    """

    api_keys: Mapping[str, str] = field(default_factory=lambda: {MEXC_SIM_KEY: MEXC_SIM_SECRET})
    max_requests_per_10s: int = 500
    ws: WsConfig = field(default_factory=WsConfig)


class MexcFace(VenueFace[bytes]):
    """The MEXC face of ``sim`` (see the module docstring).

    Attributes:
        rest: the REST state (``faults``, ``calls``, ``listen_keys`` for tests).
        hub: WebSocket subscriptions (``connections``, ``cut()``).
        market: the market push builder (``drop_depth`` injects lost depth pushes).
        ids: engine ↔ MEXC order ids.
    """

    hub: WsHub
    market: MarketPushes

    def __init__(self, sim: Simulator, config: MexcFaceConfig | None = None) -> None:
        self.config = config = config or MexcFaceConfig()
        super().__init__(sim, config)
        symbols = {s: sim.exchange_info.symbol(s) for s in sim.config.symbols}
        entries = {s: info.symbol_entry(i) for s, i in symbols.items()}
        rules = {s: info.symbol_rules(i) for s, i in symbols.items()}
        self.ids = OrderIds()
        self.listen_keys = ListenKeys()
        self.hub = WsHub(symbols, self.listen_keys.owner, config.ws)
        view = MarketView(sim.markets, sim.engine, entries, sim.state.server_ms, sim.market_ms)
        self.rest = RestState(
            view=view,
            trading=MexcTrading(sim.engine, rules, self.ids),
            api_keys=dict(config.api_keys),
            listen_keys=self.listen_keys,
            on_engine_events=sim.dispatch_engine_events,
            limiter=EndpointWindow(config.max_requests_per_10s),
            hang_s=config.hang_s,
        )
        self.market = MarketPushes(sim.markets, self.hub.wants, sim.market_ms)
        balances: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
        for key in config.api_keys:
            acct = sim.engine.account_of(key)
            balances[key] = {a: (acct.free_of(a), acct.locked_of(a)) for a in {*acct.free, *acct.locked}}
        self.private = PrivatePushes(self.ids, balances)

    # ---- urls ------------------------------------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """WebSocket endpoint (``MexcConfig.ws_url``)."""
        return f"ws://{self.config.host}:{self._port}/ws"

    # ---- taps ------------------------------------------------------------------------------------------------------

    def _on_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for api_key, event in events:
            if api_key in self.config.api_keys:
                self._send(self.private.on_event(api_key, event), api_key)

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/ws", self.hub.handle)
        make_rest_routes(app, self.rest)  # last: it ends with the catch-all of unknown paths


def banner(face: MexcFace) -> str:
    """The startup text of the MEXC face: SIMULATED, DERIVED data, URLs and the dev key."""
    return "\n".join([
        "=" * 72,
        "  SIMULATED EXCHANGE (MEXC Spot v3 protocol) -- not a real exchange, no real funds",
        "  market data DERIVED from the Binance recording, re-encoded into MEXC shapes",
        "=" * 72,
        f"  REST:     {face.rest_url}/api/v3",
        f"  streams:  {face.ws_url} (protobuf)",
        f"  API keys: {', '.join(face.config.api_keys)} (simulator-only keys)",
    ])  # fmt: skip
