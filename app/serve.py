"""``tradingmcp serve``: settings, security defaults and the run loop.

Security defaults: TLS (wss) unless bound to loopback; auth tokens always, unless ``--insecure-no-auth`` on loopback;
with no tokens configured on loopback a random dev token (scopes read+trade) is generated and printed once on stderr;
a request-rate limit per connection (:data:`~tradingmcp.server.wsserver.DEFAULT_RATE_LIMIT`) unless bound to loopback.

Failures end in one line on stderr (:mod:`tradingmcp.app.failure`): exit 2 for a bad setting (malformed tokens, a
missing certificate, a bad ``--config``), 1 when the port cannot be bound or a venue cannot be reached. The port is
bound before any venue starts, so a busy port fails at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tradingmcp import perf
from tradingmcp.app.failure import EXIT_RUNTIME, EXIT_USAGE, StartupError, fail, listen_error
from tradingmcp.app.roles import BusOptions, run_roles
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.server.console import OPEN_PATHS as CONSOLE_OPEN_PATHS
from tradingmcp.server.console import console_routes
from tradingmcp.server.logs import install_json_logging
from tradingmcp.server.market import MarketData
from tradingmcp.server.mcp.mrtr import RequestStates
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.replay import Retention
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.metrics import metrics_routes
from tradingmcp.server.rest import OPEN_PATHS as REST_OPEN_PATHS
from tradingmcp.server.rest import RestConfig, rest_routes
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.conformance import register_conformance_fixtures
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.venues import Venues
from tradingmcp.server.webhooks import OPEN_PATHS as WEBHOOK_OPEN_PATHS
from tradingmcp.server.webhooks import HookBackend, TradingViewConfig, webhook_routes
from tradingmcp.server.wsserver import McpServer, ServerConfig, is_loopback
from tradingmcp.transport.auth import ENV_TOKENS, TokenStore, new_token
from tradingmcp.transport.ratelimit import RateLimit
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs
from tradingmcp.transport.ws import Backend

DEFAULT_CERT = Path("certs/server.pem")


class ServeError(Exception):
    """A configuration the server refuses to run with; the message says what to do."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    certfile: str | None = None
    client_cafile: str | None = None
    tls: bool = False
    tokens: str | None = None
    insecure_no_auth: bool = False
    backend: Backend = "picows"
    exchange: ExchangeOptions = field(default_factory=ExchangeOptions)
    with_exchange: bool = True
    log_json: bool = False  # structured, secret-redacted JSON log lines on stderr (server/logs.py)
    config_file: Path | None = None  # TOML with [safety], [audit], [portfolio] (ToolsetConfig.load)
    busy_poll: bool = False  # spin the loop, keep the order path warm (tradingmcp.perf): a core at 100 %
    rate_limit: RateLimit | None = None  # per connection; None: DEFAULT_RATE_LIMIT off loopback, none on loopback
    conformance_fixtures: bool = False  # the official conformance suite's reference tools/resources/prompts (tests)
    bus: BusOptions | None = None  # run roles over the NATS bus (app/roles.py); None: the embedded single process


def _priority_line(tuning: perf.Tuning) -> str:
    """What the low-latency mode's priority claim did, in a few words."""
    claim = tuning.priority
    if claim is None:
        return "priority unchanged"
    if claim.applied:
        return f"running at nice {claim.nice}"
    return f"priority unchanged ({'; '.join(claim.refused) or 'already higher'})"


def resolve_security(opts: ServeOptions) -> tuple[ServerConfig, str | None]:
    """Build the ServerConfig; returns it and a freshly generated dev token (or None).

    Raises:
        ServeError: plain ws or no auth requested on a non-loopback address; malformed tokens.
    """
    loopback = is_loopback(opts.host)
    use_tls = opts.tls or opts.certfile is not None or not loopback
    ssl = None
    if use_tls:
        cert = Path(opts.certfile) if opts.certfile else DEFAULT_CERT
        if not cert.exists():
            if opts.certfile or not loopback:
                raise ServeError(f"TLS certificate {cert} not found: run `tradingmcp certs` or pass --certfile")
            write_dev_certs(cert.parent)
        ssl = server_ssl_context(cert, opts.client_cafile)
    generated = None
    try:
        tokens = TokenStore.parse(opts.tokens) if opts.tokens is not None else TokenStore.from_env()
    except ValueError as exc:  # the message names the entry, never the token
        source = "--tokens" if opts.tokens is not None else f"${ENV_TOKENS}"
        raise ServeError(f"{source}: {exc}") from None
    if tokens is None and not opts.insecure_no_auth:
        generated = new_token()
        tokens = TokenStore({generated: ("dev", ["read", "trade"])})
    if tokens is None and not loopback:
        raise ServeError("refusing to serve without auth on a non-loopback address; configure --tokens")
    config = ServerConfig(
        host=opts.host, port=opts.port, ssl=ssl, tokens=tokens, backend=opts.backend, rate_limit=opts.rate_limit
    )
    return config, generated


def build_app(retention: Retention | None = None, conformance_fixtures: bool = False) -> tuple[McpApp, StreamHub]:
    """The MCP app with every tool registered, and its stream hub (``retention``: its replay windows); with
    ``conformance_fixtures`` also the reference fixtures of the official MCP conformance suite
    (:mod:`tradingmcp.server.tools.conformance`)."""
    app = McpApp(
        instructions="TradingMCP: crypto exchange market data and trading over MCP. Trading tools need the 'trade' scope.",
        request_states=RequestStates.from_env(os.environ),
    )
    hub = StreamHub(retention)
    register_builtin_tools(app, hub)
    if conformance_fixtures:
        register_conformance_fixtures(app)
    return app, hub


StackGetter = Callable[[], "ExchangeStack | None"]
"""The running exchange stack (None before it started, or without venues): route handlers read it per request."""


HTTP_OPEN_PATHS = REST_OPEN_PATHS | CONSOLE_OPEN_PATHS | WEBHOOK_OPEN_PATHS
"""The paths of :func:`http_routes` the port's guard answers without a token (``/openapi.json``, ``/docs``, the
console's page and files, and ``/webhooks/tradingview``, which checks its own shared secret)."""


def http_routes(
    stack: StackGetter,
    secured: bool = True,
    *,
    hub: StreamHub | None = None,
    tradingview: TradingViewConfig | None = None,
) -> Sequence[web.AbstractRouteDef]:
    """The route contributions of the port's plain-HTTP side beside ``/mcp``, ``/health`` and ``/metrics``: each
    package that serves HTTP (the REST market data, its OpenAPI document and docs, the console, the webhooks) adds its
    routes here. The server is bound before the venues start, so handlers reach the stack through ``stack()`` at
    request time. ``secured``: the port asks for bearer tokens (the OpenAPI document says so). ``tradingview`` with a
    secret (and ``hub``, where its signals go) mounts ``POST /webhooks/tradingview``."""

    def market() -> tuple[Venues, MarketData] | None:
        s = stack()
        return (s.venues, s.toolset.market) if s is not None else None

    def hook_backend() -> HookBackend | None:
        s = stack()
        return HookBackend(s.venues, s.toolset.desk, s.toolset.audit) if s is not None else None

    routes: list[web.AbstractRouteDef] = [*rest_routes(market, RestConfig(secured=secured)), *console_routes()]
    if tradingview is not None and hub is not None:
        routes += webhook_routes(tradingview, hub, hook_backend)
    return routes


def console_url(server: McpServer, token: str | None = None) -> str:
    """The web console's address on ``server``'s port: ``http(s)://host:port/console``, with ``#token=<token>`` when
    given (a fragment: the browser keeps it, no server or proxy log ever sees it); without one, the page asks."""
    base = server.http_url.removesuffix("/mcp") + "/console"
    return f"{base}#token={token}" if token else f"{base} (open it with #token=<your token>)"


async def run_serve(opts: ServeOptions) -> int:
    """Serve until SIGINT/SIGTERM, then shut down gracefully (drain, close 1001). Returns the exit status: 0, or
    after one line on stderr 2 (a bad setting) or 1 (the port is in use, a venue or the audit store is out of reach).
    """
    try:
        config, generated = resolve_security(opts)
    except ServeError as exc:
        return fail("serve", str(exc), EXIT_USAGE)
    try:
        tools = ToolsetConfig.load(opts.config_file)
    except (OSError, ValueError) as exc:
        return fail("serve", f"configuration: {exc}", EXIT_USAGE)
    try:  # the key input-required results are sealed with: checked before build_app reads it
        RequestStates.from_env(os.environ)
    except ValueError as exc:
        return fail("serve", str(exc), EXIT_USAGE)
    if opts.log_json:
        install_json_logging()
    if opts.bus is not None:
        return await run_roles(opts, config, tools, generated)
    app, hub = build_app(tools.streams, opts.conformance_fixtures)
    stack: ExchangeStack | None = None
    server = McpServer(
        app,
        config,
        streams=hub,
        routes=http_routes(lambda: stack, config.tokens is not None, hub=hub, tradingview=tools.tradingview),
        open_paths=HTTP_OPEN_PATHS,
    )
    try:  # bind first: a port in use fails before any venue is contacted
        await server.start(accepting=False)
    except OSError as exc:
        return fail("serve", str(listen_error(opts.host, opts.port, exc)), EXIT_RUNTIME)
    try:
        stack = await ExchangeStack.start(app, hub, opts.exchange, tools) if opts.with_exchange else None
    except StartupError as exc:
        await server.stop()
        return fail("serve", str(exc), EXIT_RUNTIME)
    except BaseException:
        await server.stop()
        raise
    try:
        await _serve(opts, server, stack, generated)
    finally:
        await server.stop()
        if stack is not None:
            await stack.close()
    return 0


async def _serve(opts: ServeOptions, server: McpServer, stack: ExchangeStack | None, generated: str | None) -> None:
    """Open the bound server, announce it, and wait for SIGINT/SIGTERM."""
    if stack is not None:
        print(stack.banner, file=sys.stderr, flush=True)
    # /metrics (Prometheus) and /health with exchange status, on the MCP port
    server.http_routes.update(
        metrics_routes(
            server.app,
            lambda: server,
            stack.venues if stack else None,
            stack.toolset.audit if stack else None,
            stack.toolset.market if stack else None,
        )
    )
    server.accept()
    limits = f"per connection: {server.rate_limit.describe()}, {server.config.max_in_flight} calls in flight"
    http = f" and Streamable HTTP at {server.http_url}" if server.http is not None else ""
    print(
        f"TradingMCP serving MCP over WebSocket at {server.url}{http} (backend {server.config.backend}; {limits})",
        file=sys.stderr,
    )
    if server.http is not None:  # before the token's own line, which stays the last place the token is printed
        print(f"web console: {console_url(server, generated)}", file=sys.stderr)
    if generated:
        print(f"dev token (read+trade), shown once: {generated}", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tuning = perf.attach_server(stack.toolset.desk if stack is not None else None) if opts.busy_poll else None
    if tuning is not None:
        print(
            "busy polling: the event loop spins (one core at 100 %, held while other tasks contend for it), keeping "
            f"the order path warm; {_priority_line(tuning)}",
            file=sys.stderr,
        )
    await stop.wait()
    if tuning is not None:
        tuning.stop()
