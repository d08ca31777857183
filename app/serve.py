"""``tradingmcp serve``: settings, security defaults and the run loop.

Security defaults: TLS (wss) unless bound to loopback; auth tokens always, unless ``--insecure-no-auth`` on loopback;
with no tokens configured on loopback a random dev token (scopes read+trade) is generated and printed once on stderr.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tradingmcp import perf
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.server.logs import install_json_logging
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.metrics import metrics_routes
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.wsserver import McpServer, ServerConfig, is_loopback
from tradingmcp.transport.auth import TokenStore, new_token
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


def resolve_security(opts: ServeOptions) -> tuple[ServerConfig, str | None]:
    """Build the ServerConfig; returns it and a freshly generated dev token (or None).

    Raises:
        ServeError: plain ws or no auth requested on a non-loopback address.
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
    tokens = TokenStore.parse(opts.tokens) if opts.tokens else TokenStore.from_env()
    if tokens is None and not opts.insecure_no_auth:
        generated = new_token()
        tokens = TokenStore({generated: ("dev", ["read", "trade"])})
    if tokens is None and not loopback:
        raise ServeError("refusing to serve without auth on a non-loopback address; configure --tokens")
    return ServerConfig(host=opts.host, port=opts.port, ssl=ssl, tokens=tokens, backend=opts.backend), generated


def build_app() -> tuple[McpApp, StreamHub]:
    """The MCP app with every tool registered, and its stream hub."""
    app = McpApp(
        instructions="TradingMCP: crypto exchange market data and trading over MCP. Trading tools need the 'trade' scope."
    )
    hub = StreamHub()
    register_builtin_tools(app, hub)
    return app, hub


async def run_serve(opts: ServeOptions) -> int:
    """Serve until SIGINT/SIGTERM, then shut down gracefully (drain, close 1001). Returns the exit status."""
    try:
        config, generated = resolve_security(opts)
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        tools = ToolsetConfig.load(opts.config_file)
    except (OSError, ValueError) as exc:
        print(f"error: configuration: {exc}", file=sys.stderr)
        return 2
    if opts.log_json:
        install_json_logging()
    app, hub = build_app()
    stack = await ExchangeStack.start(app, hub, opts.exchange, tools) if opts.with_exchange else None
    if stack is not None:
        print(stack.banner, file=sys.stderr, flush=True)
    server: McpServer | None = None
    routes = metrics_routes(  # /metrics (Prometheus) and /health with exchange status, on the MCP port
        app, lambda: server, stack.venues if stack else None, stack.toolset.audit if stack else None
    )
    server = await McpServer(app, config, streams=hub, http_routes=routes).start()
    print(f"TradingMCP serving MCP over WebSocket at {server.url} (backend {config.backend})", file=sys.stderr)
    if generated:
        print(f"dev token (read+trade), shown once: {generated}", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tuning = perf.attach_server(stack.toolset.desk if stack is not None else None) if opts.busy_poll else None
    if tuning is not None:
        print("busy polling: the event loop spins (one core at 100 %), keeping the order path warm", file=sys.stderr)
    await stop.wait()
    if tuning is not None:
        tuning.stop()
    await server.stop()
    if stack is not None:
        await stack.close()
    return 0
