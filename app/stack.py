"""The exchange side of a server: the embedded simulator (default) or Binance Spot Testnet, its adapter, the market
bridge to MCP streams and the market-data tools — shared by ``tradingmcp serve`` and ``tradingmcp demo``.

Without credentials (``BINANCE_API_KEY``/``BINANCE_API_SECRET`` unset) the server runs the embedded simulator replaying
the real recording (or the synthetic market) and says so in a banner; with them, Binance Spot Testnet.

``ExchangeOptions.exchange`` picks the venues: ``binance`` (default), ``mexc`` or ``both`` (Binance is then the default
venue), or ``ccxt:<id>``: any exchange ccxt knows, through ccxt (:mod:`tradingmcp.app.ccxt_venue`; on the simulator
for ``ccxt:binance`` and ``ccxt:mexc``). MEXC without ``MEXC_API_KEY``/``MEXC_API_SECRET`` is the simulator's MEXC
face (the same replayed market and matching engine, Binance data re-encoded into MEXC shapes); with them it is the REAL MEXC — MEXC has no testnet, so
that is live trading with real funds, and the banner says so. ``mexc_offset_bps`` gives the MEXC face a simulator of
its own replaying the same recording with every price moved by that many basis points (its own books and engine), so
the two venues quote different prices (cross-venue arbitrage on the simulator).

``bybit`` without ``BYBIT_API_KEY``/``BYBIT_API_SECRET`` is the simulator's Bybit face (the same replayed market and
engine, re-encoded into Bybit V5 shapes); with them it is Bybit's TESTNET (``api-testnet.bybit.com``). Bybit mainnet
is never chosen from the environment: it needs ``BybitConfig(testnet=False, allow_live=True)``.

Endpoints of a real venue can be pointed elsewhere (a proxy, a standalone ``tradingmcp sim``) with
``BINANCE_REST_URL`` / ``BINANCE_STREAM_URL`` / ``BINANCE_WS_API_URL`` and ``MEXC_REST_URL`` / ``MEXC_WS_URL`` (and ``BYBIT_REST_URL`` / ``BYBIT_PUBLIC_WS_URL`` / ``BYBIT_PRIVATE_WS_URL``).
A real venue that cannot be reached at start-up (or refuses the key), or an audit store that cannot be opened, is a
:class:`~tradingmcp.app.failure.StartupError` naming the venue and its URL (the store and its location).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tradingmcp.app.ccxt_venue import ccxt_id, ccxt_venue
from tradingmcp.app.failure import StartupError, cause_text
from tradingmcp.server.audit import AuditUnavailable
from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.bybit.adapter import BybitAdapter
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.errors import ExchangeError, ExchangeUnavailable
from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
from tradingmcp.server.exchanges.mexc.config import MEXC_REST_URL, MEXC_WS_URL, MexcConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.toolset import Toolset, ToolsetConfig, build_toolset
from tradingmcp.server.venues import Mode, Venue, Venues, key_hint
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.bybit import BYBIT_SIM_KEY, BYBIT_SIM_SECRET, BybitFace
from tradingmcp.sim.bybit.face import banner as bybit_banner
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET
from tradingmcp.sim.mexc import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace
from tradingmcp.sim.mexc.face import banner as mexc_banner
from tradingmcp.sim.run import banner
from tradingmcp.sim.wsapi import WS_API_PATH

EXCHANGES = ("binance", "mexc", "both", "bybit")
"""Values of ``ExchangeOptions.exchange``."""


class VenueUnreachable(StartupError):
    """A venue failed to start: ``cannot reach venue NAME at URL: <cause>``."""

    def __init__(self, venue: str, url: str, cause: BaseException) -> None:
        self.venue = venue
        self.url = url
        # an unreachable exchange's own message speaks of orders; at start-up the transport's reason is what helps
        under = cause.__cause__ if isinstance(cause, ExchangeUnavailable) and cause.__cause__ is not None else cause
        super().__init__(f"cannot reach venue {venue} at {url}: {cause_text(under)}")


@dataclass(frozen=True)
class ExchangeOptions:
    """``speed``: replay pace (×real time); ``loop``: restart the replay at the end (a server runs indefinitely);
    ``exchange``: ``binance``, ``mexc``, ``both`` (Binance and MEXC), ``bybit`` or ``ccxt:<id>`` (see the module
    docstring); ``remote_sim``: see below."""

    exchange: str = "binance"
    speed: float = 1.0
    loop: bool = True
    data_dir: Path | None = None
    synthetic: bool = False
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    remote_sim: str | None = None
    """REST URL of a standalone simulator (``tradingmcp sim``) shared by several processes (``binance`` only)."""
    mexc_offset_bps: float = 0.0
    """The simulator's MEXC face replays the market with every price moved by this many basis points (0: the same
    simulator and prices as the Binance face)."""


class ExchangeStack:
    """``await ExchangeStack.start(app, hub, opts)`` … ``await stack.close()``. ``banner`` says what runs.

    Registers every tool family (:func:`build_toolset`) on ``app`` for the venues it starts.
    """

    def __init__(
        self,
        venues: Venues,
        toolset: Toolset,
        sim: Simulator | None,
        text: str,
        mexc_face: MexcFace | None = None,
        bybit_face: BybitFace | None = None,
    ) -> None:
        self.venues = venues
        self.toolset = toolset
        self.sim = sim
        self.banner = text
        self.mexc_face = mexc_face
        self.bybit_face = bybit_face
        self.mexc_sim: Simulator | None = None
        """The MEXC face's own simulator (``mexc_offset_bps``), else None (it shares ``sim``)."""

    @property
    def adapter(self) -> ExchangeAdapter:
        """The default venue's adapter."""
        return self.venues.get().adapter

    @classmethod
    async def start(
        cls, app: McpApp, hub: StreamHub, opts: ExchangeOptions, tools: ToolsetConfig | None = None
    ) -> ExchangeStack:
        """Start the venues ``opts.exchange`` names (simulator or real exchange, see the module docstring), their
        adapters and user streams, and every tool family.

        Raises:
            ValueError: ``opts.exchange`` is not one of :data:`EXCHANGES`.
            VenueUnreachable: a venue's adapter could not start (network, key, or an exchange error).
            StartupError: the audit store cannot be opened.
        """
        opened = await OpenVenues.open(opts)
        toolset = build_toolset(app, hub, opened.venues, tools)
        stack = cls(opened.venues, toolset, opened.sim, opened.banner, opened.face, opened.bybit_face)
        stack.mexc_sim = opened.mexc_sim
        try:
            await opened.start_adapters()
            for venue in opened.venues:
                await venue.user.start()
            try:
                await toolset.start()
            except AuditUnavailable as exc:
                raise StartupError(str(exc)) from exc
        except BaseException:
            await stack.close()
            raise
        return stack

    async def close(self) -> None:
        await self.toolset.close()
        for venue in self.venues:
            await venue.user.close()
            await venue.adapter.close()
        if self.mexc_face is not None:
            await self.mexc_face.stop()
        if self.bybit_face is not None:
            await self.bybit_face.stop()
        if self.sim is not None:
            await self.sim.stop()
        if self.mexc_sim is not None:
            await self.mexc_sim.stop()


@dataclass
class OpenVenues:
    """The venues ``opts.exchange`` names, made but not started (the simulator, when one runs, is started):
    what :class:`ExchangeStack` builds its tools on, and what a bus role (feed, trader) starts only part of."""

    venues: Venues
    sim: Simulator | None
    face: MexcFace | None
    banner: str
    urls: dict[str, str]
    bybit_face: BybitFace | None = None
    mexc_sim: Simulator | None = None

    @classmethod
    async def open(cls, opts: ExchangeOptions) -> OpenVenues:
        """Make the venues (and start the simulator when one is needed).

        Raises:
            ValueError: ``opts.exchange`` is not one of :data:`EXCHANGES` or ``ccxt:<id>``, or ``remote_sim`` with a
                venue but Binance.
        """
        via_ccxt = ccxt_id(opts.exchange)
        if opts.exchange not in EXCHANGES and via_ccxt is None:
            raise ValueError(f"exchange must be one of {', '.join(EXCHANGES)} or ccxt:<id>, got {opts.exchange!r}")
        if opts.remote_sim is not None and opts.exchange != "binance":
            raise ValueError("a standalone simulator (--sim-url) serves the binance venue only")
        sim: Simulator | None = None
        mexc_sim: Simulator | None = None
        face: MexcFace | None = None
        bybit_face: BybitFace | None = None
        venues_list: list[Venue] = []
        texts: list[str] = []
        urls: dict[str, str] = {}

        def sim_config(price_offset_bps: float = 0.0) -> SimConfig:
            return SimConfig(
                speed=opts.speed,
                loop=opts.loop,
                data_dir=opts.data_dir,
                synthetic=opts.synthetic,
                symbols=opts.symbols,
                price_offset_bps=price_offset_bps,
            )

        async def simulator() -> Simulator:
            nonlocal sim
            if sim is None:
                sim = Simulator(sim_config())
                await sim.start()
            return sim

        async def mexc_simulator() -> Simulator:
            nonlocal mexc_sim
            if not opts.mexc_offset_bps:
                return await simulator()
            if mexc_sim is None:
                mexc_sim = Simulator(sim_config(opts.mexc_offset_bps))
                await mexc_sim.start()
            return mexc_sim

        try:
            if via_ccxt is not None:
                venue, text, face, urls[via_ccxt] = await ccxt_venue(via_ccxt, simulator)
                venues_list.append(venue)
                texts.append(text)
            if opts.remote_sim is not None:
                venue, text, urls["binance"] = _remote_sim_venue(opts.remote_sim)
                venues_list.append(venue)
                texts.append(text)
            elif opts.exchange in ("binance", "both"):
                venue, text, urls["binance"] = await _binance_venue(simulator)
                venues_list.append(venue)
                texts.append(text)
            if opts.exchange in ("mexc", "both"):
                venue, text, face, urls["mexc"] = await _mexc_venue(mexc_simulator)
                venues_list.append(venue)
                texts.append(text)
            if opts.exchange == "bybit":
                venue, text, bybit_face, urls["bybit"] = await _bybit_venue(simulator)
                venues_list.append(venue)
                texts.append(text)
        except BaseException:
            for v in venues_list:
                await v.adapter.close()
            if face is not None:
                await face.stop()
            if bybit_face is not None:
                await bybit_face.stop()
            for started in (sim, mexc_sim):
                if started is not None:
                    await started.stop()
            raise
        return cls(Venues(venues_list), sim, face, "\n".join(texts), urls, bybit_face, mexc_sim)

    async def start_adapters(self) -> None:
        """Start every venue's adapter (its market and order connections).

        Raises:
            VenueUnreachable: a venue's adapter could not start (network, key, or an exchange error).
        """
        for venue in self.venues:
            try:
                await venue.adapter.start()
            except (ExchangeError, OSError, TimeoutError) as exc:
                raise VenueUnreachable(venue.name, self.urls[venue.name], exc) from exc

    async def close(self) -> None:
        """Close the adapters, then the simulator (and its MEXC face) when one runs here."""
        for venue in self.venues:
            await venue.user.close()
            await venue.adapter.close()
        if self.face is not None:
            await self.face.stop()
        if self.bybit_face is not None:
            await self.bybit_face.stop()
        if self.sim is not None:
            await self.sim.stop()
        if self.mexc_sim is not None:
            await self.mexc_sim.stop()


def _remote_sim_venue(rest_url: str) -> tuple[Venue, str, str]:
    """The Binance venue of a standalone simulator (``tradingmcp sim``) at ``rest_url``; its market streams and WS API
    listen on the next port, as ``tradingmcp sim`` binds them by default. Returns the venue, its banner and the URL."""
    parts = urlsplit(rest_url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise ValueError(f"--sim-url must be http://host:port, got {rest_url[:200]!r}")
    ws = f"ws://{parts.hostname}:{parts.port + 1}"
    config = sim_binance_config(f"http://{parts.hostname}:{parts.port}/api", f"{ws}/", f"{ws}{WS_API_PATH}")
    text = f"exchange: the standalone simulator at {rest_url} (no real funds)"
    return Venue("binance", BinanceAdapter(config), "sim", None), text, rest_url


async def _binance_venue(simulator: Callable[[], Awaitable[Simulator]]) -> tuple[Venue, str, str]:
    """Binance Spot Testnet with ``BINANCE_API_KEY`` and either ``BINANCE_API_SECRET`` (HMAC) or
    ``BINANCE_PRIVATE_KEY_FILE`` (an Ed25519 private key in PEM, Binance's recommended key type), else the simulator.
    Mainnet is never chosen from the environment: it needs ``BinanceConfig(testnet=False, allow_mainnet=True)``.
    ``BINANCE_REST_URL``/``BINANCE_STREAM_URL``/``BINANCE_WS_API_URL`` override the endpoints. Returns the venue, its
    banner and its REST URL.
    """
    key, secret = os.environ.get("BINANCE_API_KEY", ""), os.environ.get("BINANCE_API_SECRET", "")
    key_file = os.environ.get("BINANCE_PRIVATE_KEY_FILE", "")
    if key and (secret or key_file):
        private_key = _read_key_file(key_file) if key_file else ""
        config = BinanceConfig(  # Spot Testnet by default
            api_key=key,
            api_secret=secret,
            private_key=private_key,
            rest_url=os.environ.get("BINANCE_REST_URL") or None,
            stream_url=os.environ.get("BINANCE_STREAM_URL") or None,
            ws_api_url=os.environ.get("BINANCE_WS_API_URL") or None,
        )
        mode = binance_mode(config)
        what = {"testnet": "Testnet", "demo": "Demo Trading (paper funds)", "live": "MAINNET"}[mode]
        text = f"exchange: Binance Spot {what} ({config.effective_rest_url})"
        venue = Venue("binance", BinanceAdapter(config), mode, None, account=key_hint(key))
        return venue, text, config.effective_rest_url
    sim = await simulator()
    config = sim_binance_config(sim.rest_url, sim.stream_url, sim.ws_api_url)
    return Venue("binance", BinanceAdapter(config), "sim", sim), banner(sim), sim.rest_url


BINANCE_DEMO_HOST = "demo-api.binance.com"
"""REST host of Binance's Demo Mode (https://developers.binance.com/docs/binance-spot-api-docs/demo-mode): mainnet
prices, paper funds, its own API keys."""


def binance_mode(config: BinanceConfig) -> Mode:
    """``live`` for mainnet, ``demo`` when the REST URL is Binance's Demo Mode (:data:`BINANCE_DEMO_HOST`), else
    ``testnet``."""
    if not config.testnet:
        return "live"
    return "demo" if urlsplit(config.effective_rest_url).hostname == BINANCE_DEMO_HOST else "testnet"


def _read_key_file(path: str) -> str:
    """The PEM text of a private key file (read once at start-up, before any connection is served)."""
    return Path(path).read_text()


def sim_binance_config(rest_url: str, stream_url: str, ws_api_url: str) -> BinanceConfig:
    """The Binance adapter's config for a simulator at these URLs (``Simulator.rest_url``, ``stream_url``,
    ``ws_api_url``), signing as the simulator's default account."""
    return BinanceConfig(
        api_key=BINANCE_SIM_KEY,
        api_secret=BINANCE_SIM_SECRET,
        rest_url=rest_url,
        stream_url=stream_url,
        ws_api_url=ws_api_url,
    )


async def _mexc_venue(
    simulator: Callable[[], Awaitable[Simulator]],
) -> tuple[Venue, str, MexcFace | None, str]:
    """The REAL MEXC with ``MEXC_API_KEY``/``MEXC_API_SECRET`` (no testnet exists: live; ``MEXC_REST_URL``/
    ``MEXC_WS_URL`` override the endpoints), else the simulator's MEXC face (started here; the caller stops it).
    Returns the venue, its banner, the face (or None) and its REST URL."""
    key, secret = os.environ.get("MEXC_API_KEY", ""), os.environ.get("MEXC_API_SECRET", "")
    if key and secret:
        config = MexcConfig(
            api_key=key,
            api_secret=secret,
            rest_url=os.environ.get("MEXC_REST_URL") or MEXC_REST_URL,
            ws_url=os.environ.get("MEXC_WS_URL") or MEXC_WS_URL,
        )
        text = f"exchange: MEXC Spot LIVE ({config.rest_url}) -- MEXC has no testnet: REAL FUNDS, orders are real"
        return Venue("mexc", MexcAdapter(config), "live", None, account=key_hint(key)), text, None, config.rest_url
    sim = await simulator()
    face = MexcFace(sim)
    await face.start()
    config = MexcConfig(
        api_key=MEXC_SIM_KEY,
        api_secret=MEXC_SIM_SECRET,
        rest_url=face.rest_url,
        ws_url=face.ws_url,
        account_symbols=sim.config.symbols,
    )
    text = mexc_banner(face)
    if sim.config.price_offset_bps:
        text += f"\n  prices:   the recording's moved by {sim.config.price_offset_bps:g} bps (its own books and engine)"
    return Venue("mexc", MexcAdapter(config), "sim", sim), text, face, face.rest_url


async def _bybit_venue(
    simulator: Callable[[], Awaitable[Simulator]],
) -> tuple[Venue, str, BybitFace | None, str]:
    """Bybit TESTNET with ``BYBIT_API_KEY``/``BYBIT_API_SECRET`` (``BYBIT_REST_URL``/``BYBIT_PUBLIC_WS_URL``/
    ``BYBIT_PRIVATE_WS_URL`` override the endpoints), else the simulator's Bybit face (started here; the caller stops
    it). Returns the venue, its banner, the face (or None) and its REST URL."""
    key, secret = os.environ.get("BYBIT_API_KEY", ""), os.environ.get("BYBIT_API_SECRET", "")
    if key and secret:
        config = BybitConfig(
            api_key=key,
            api_secret=secret,
            rest_url=os.environ.get("BYBIT_REST_URL") or None,
            public_ws_url=os.environ.get("BYBIT_PUBLIC_WS_URL") or None,
            private_ws_url=os.environ.get("BYBIT_PRIVATE_WS_URL") or None,
        )
        text = f"exchange: Bybit Spot Testnet ({config.effective_rest_url})"
        venue = Venue("bybit", BybitAdapter(config), "testnet", None, account=key_hint(key))
        return venue, text, None, config.effective_rest_url
    sim = await simulator()
    face = BybitFace(sim)
    await face.start()
    config = BybitConfig(
        api_key=BYBIT_SIM_KEY,
        api_secret=BYBIT_SIM_SECRET,
        rest_url=face.rest_url,
        public_ws_url=face.public_ws_url,
        private_ws_url=face.private_ws_url,
    )
    return Venue("bybit", BybitAdapter(config), "sim", sim), bybit_banner(face), face, face.rest_url
