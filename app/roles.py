"""``tradingmcp serve --bus nats://… [--role feed|gateway|trader]``: the roles of a deployment over the NATS bus
(:mod:`tradingmcp.server.bus`), one or several in this process (all three without ``--role``).

Start-up order: the gateway's port is bound first (a port in use fails before anything is contacted), then the bus
(one line naming its URL, never its credentials, when it cannot be reached), then the venues of a feed or trader,
then the gateway waits for a trader's description (its tools) and opens. Failures end in one line on stderr, exit 1.

A gateway's HTTP face also serves the web console (``/console``: the page is an MCP client of the gateway, whose
tools are the trader's, forwarded) and the TradingView webhook (``/webhooks/tradingview``): its ``signal`` action is
stored on the bus (:mod:`tradingmcp.server.bus.signals`), so the clients of every gateway get it; its ``order``
action is refused at start-up on a gateway (exit 2): an order goes through the trader's tools (``place_order``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tradingmcp.app.failure import EXIT_RUNTIME, EXIT_USAGE, StartupError, fail, listen_error
from tradingmcp.app.gatewayface import GATEWAY_OPEN_PATHS, GatewayFace
from tradingmcp.app.stack import OpenVenues
from tradingmcp.server.audit import AuditUnavailable
from tradingmcp.server.bus.config import BusConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.metrics import metrics_routes
from tradingmcp.server.tools.toolset import ToolsetConfig, build_toolset
from tradingmcp.server.wsserver import McpServer, ServerConfig

if TYPE_CHECKING:  # the bus modules import nats-py (the extra "bus"): loaded only when --bus is given
    from tradingmcp.server.bus.publisher import PublishingHub

ROLES = ("feed", "gateway", "trader")

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class BusOptions:
    """``url``: the bus; ``roles``: which of :data:`ROLES` run here; ``lease_ttl_s``: a trader's lease (the bound on
    a failover); ``describe_timeout_s``: how long a gateway waits at start-up for a trader to describe its tools."""

    url: str
    roles: frozenset[str] = frozenset(ROLES)
    lease_ttl_s: float = 3.0
    describe_timeout_s: float = 30.0


async def run_roles(opts: object, config: ServerConfig, tools: ToolsetConfig, generated: str | None) -> int:
    """Run the roles ``opts.bus`` names until SIGINT/SIGTERM. ``opts`` is the :class:`~tradingmcp.app.serve.
    ServeOptions`. Returns the exit status."""
    from tradingmcp.app.serve import ServeOptions, build_app, console_url

    try:
        from tradingmcp.server.bus.conn import BusUnreachable
    except ImportError as exc:
        return fail("serve", f"--bus needs nats-py: pip install 'tradingmcp[bus]' ({exc})", EXIT_USAGE)
    assert isinstance(opts, ServeOptions) and opts.bus is not None
    bus = opts.bus
    try:
        bus_config = BusConfig.from_env(bus.url, os.environ, lease_ttl_s=bus.lease_ttl_s)
    except ValueError as exc:
        return fail("serve", str(exc), EXIT_USAGE)
    closers: list[Closer] = []
    server: McpServer | None = None
    gateway = "gateway" in bus.roles
    tradingview = tools.tradingview if gateway and tools.tradingview.enabled else None
    app, hub = build_app(tools.streams)
    face = GatewayFace()
    if gateway:
        server = McpServer(
            app, config, streams=hub, routes=face.routes(hub, tradingview), open_paths=GATEWAY_OPEN_PATHS
        )
        try:
            await server.start(accepting=False)
        except OSError as exc:
            return fail("serve", str(listen_error(opts.host, opts.port, exc)), EXIT_RUNTIME)
        closers.append(server.stop)
    try:
        await _start_roles(opts, bus, bus_config, tools, app, hub, server, closers, face)
        if server is not None:
            server.accept()
            print(f"gateway: serving MCP over WebSocket at {server.url}", file=sys.stderr, flush=True)
            if server.http is not None:  # before the token's own line, which stays the last place it is printed
                print(f"web console: {console_url(server, generated)}", file=sys.stderr, flush=True)
            if generated:
                print(f"dev token (read+trade), shown once: {generated}", file=sys.stderr, flush=True)
        print(
            f"roles {', '.join(sorted(bus.roles))} on the bus at {bus_config.display_url}", file=sys.stderr, flush=True
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    except (StartupError, BusUnreachable) as exc:
        return fail("serve", str(exc), EXIT_RUNTIME)
    finally:
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                await close()
    return 0


async def _start_roles(
    opts: object,
    bus: BusOptions,
    bus_config: BusConfig,
    tools: ToolsetConfig,
    app: McpApp,
    hub: object,
    server: McpServer | None,
    closers: list[Closer],
    face: GatewayFace,
) -> None:
    from tradingmcp.app.serve import ServeOptions
    from tradingmcp.server.bus.conn import BusLink
    from tradingmcp.server.bus.feed import Feed
    from tradingmcp.server.bus.forward import TraderTools, describe_trader
    from tradingmcp.server.bus.gateway import BusStreams
    from tradingmcp.server.bus.publisher import BusPublisher, PublishingHub
    from tradingmcp.server.bus.resources import BusAccountResources, BusMarketResources
    from tradingmcp.server.bus.signals import SignalWriter
    from tradingmcp.server.bus.trader import Trader
    from tradingmcp.server.mcp.streams import StreamHub
    from tradingmcp.server.tools.live.poll import register_read_tool

    assert isinstance(opts, ServeOptions) and isinstance(hub, StreamHub)
    venues: OpenVenues | None = None
    if "feed" in bus.roles or "trader" in bus.roles:
        venues = await OpenVenues.open(opts.exchange)
        closers.append(venues.close)
        print(venues.banner, file=sys.stderr, flush=True)
        await venues.start_adapters()
    trader_hub: PublishingHub | None = None
    if "trader" in bus.roles:
        assert venues is not None
        link = await BusLink.connect(bus_config, "trader")
        closers.append(link.close)
        trader_hub = PublishingHub(BusPublisher(link))
        trader_app = McpApp()
        toolset = build_toolset(trader_app, trader_hub, venues.venues, tools)
        for venue in venues.venues:
            await venue.user.start()
        try:
            await toolset.start()
        except AuditUnavailable as exc:
            raise StartupError(str(exc)) from exc
        closers.append(toolset.close)
        trader = Trader(link, trader_app, trader_hub, venues.venues, bus_config.lease_ttl_s)
        await trader.start()
        closers.append(trader.close)
        if "feed" in bus.roles:  # one market-event consumer per adapter: the feed publishes the trader's bridges
            feed = Feed(link, trader_hub, [])
            await feed.start()
            closers.append(feed.close)
    elif "feed" in bus.roles:
        assert venues is not None
        link = await BusLink.connect(bus_config, "feed")
        closers.append(link.close)
        feed = Feed.for_venues(link, venues.venues)
        await feed.start()
        closers.append(feed.close)
    if server is not None:
        link = await BusLink.connect(bus_config, "gateway")
        closers.append(link.close)
        try:
            description = await describe_trader(link, bus.describe_timeout_s)
        except TimeoutError as exc:
            raise StartupError(f"{exc} at {bus_config.display_url}: start a trader (--role trader)") from None
        # the long poll reads this gateway's streams (the bus's numbering); the trader's copy would read its own hub,
        # which publishes on the bus and delivers nothing locally
        reader = register_read_tool(app, hub)
        closers.append(_async(reader.close))
        forwarded = TraderTools(link, description, bus_config.request_timeout_s)
        forwarded.register(app)
        face.trader = forwarded
        if isinstance(description.get("instructions"), str):
            app.instructions = description["instructions"]
        if isinstance(description.get("description"), str):
            app.description = description["description"]
        if isinstance(description.get("experimental"), dict):
            app.experimental.update(description["experimental"])
        streams = BusStreams(link, hub, forwarded.venues)
        market_resources = BusMarketResources(hub, forwarded.venues)
        market_resources.register(app)
        closers.append(_async(market_resources.close))
        account_resources = BusAccountResources(link, hub, forwarded.venues, bus_config.request_timeout_s)
        account_resources.register(app)
        closers.append(account_resources.aclose)
        face.signals = SignalWriter(link, bus_config.request_timeout_s)
        streams.start()
        closers.append(streams.aclose)
        server.http_routes.update(metrics_routes(app, lambda: server, None, None, bus=link.health))


def _async(close: Callable[[], None]) -> Closer:
    async def run() -> None:
        close()

    return run
