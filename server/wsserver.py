"""The MCP-over-WebSocket server: the asyncio shell around :class:`~tradingmcp.server.mcp.engine.ServerSession`
(each connection is the session's sink and frame handler; a :class:`~tradingmcp.server.mcp.runner.TaskRunner` runs
its async tool calls).

Connection setup (documented for custom clients, as the MCP spec asks of custom transports):

1. ``GET /mcp`` (or ``/``) with ``Upgrade: websocket`` and ``Sec-WebSocket-Protocol: mcp`` (required; the server selects
   ``mcp``). Auth: ``Authorization: Bearer <token>``, or an extra offered subprotocol ``auth.<token>``. No/invalid token:
   HTTP 401 before the upgrade. A browser ``Origin`` not in ``allowed_origins`` and not the server's own (a page it
   served, such as ``/console``: ``http(s)://`` plus the checked ``Host``, or over TLS off loopback ``https://`` plus
   the ``Host``), or a ``Host`` outside ``allowed_hosts`` (loopback names when bound to loopback: DNS-rebinding
   protection): HTTP 403. ``Sec-WebSocket-Version`` other than
   13: HTTP 426 (the transport's check, before this server's).
2. One JSON-RPC 2.0 message per text frame, UTF-8. Binary frame → close 1003; reserved bits set → 1002; message over
   ``max_message_bytes`` → 1009; invalid JSON → -32700; not JSON-RPC → -32600; unknown method → -32601; bad params →
   -32602.
3. Cancellation is ``notifications/cancelled``; a dropped connection cancels that connection's handlers.
4. Limits per connection: ``max_in_flight`` async tool calls at once, and a request rate (``rate_limit``, a token
   bucket: :data:`DEFAULT_RATE_LIMIT` unless bound to loopback, where local benchmarks and tests run unthrottled);
   both answer -32005, the rate limit with ``data: {"retry_after_ms": N}``.
5. Heartbeats: WebSocket ping every ``ping_interval_s``; no pong within ``ping_timeout_s`` → dropped, subscriptions
   released. A client behind its outbound queue (``slow_consumer_bytes`` or ``slow_consumer_grace_s``) → 1008.
6. Shutdown: stop accepting, answer in-flight requests (up to ``drain_timeout_s``), flush queues, close 1001.

Plain HTTP on the same port and path (picows backend; ``ServerConfig.http``): Streamable HTTP MCP (``POST``/``GET``/
``DELETE /mcp``, :mod:`tradingmcp.server.http`) with the same auth, Origin/Host checks, audit and metrics; ``/health``
(JSON), any extra ``http_routes`` (``/metrics``) and the route contributions given as ``routes`` (REST, docs).
With the websockets backend only ``/health`` and ``http_routes`` answer plain GETs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl as ssl_module
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiohttp import web

from tradingmcp.server.http.app import HttpFace, build_app
from tradingmcp.server.http.guard import Guard, GuardSettings
from tradingmcp.server.http.mcp import EndpointSettings, McpEndpoint
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.resources import ResourceHub
from tradingmcp.server.mcp.runner import TaskRunner, loop_call_later
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.transport import ws
from tradingmcp.transport.auth import (
    ANONYMOUS,
    LOOPBACK_HOSTS,
    Principal,
    TokenStore,
    host_allowed,
    origin_allowed,
    presented_token,
)
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.outbound import OutboundQueue
from tradingmcp.transport.ratelimit import NO_LIMIT, RateLimit

log = logging.getLogger("tradingmcp.server")
SUBPROTOCOL = "mcp"
DEFAULT_RATE_LIMIT = RateLimit(per_s=1000.0, burst=2000)
"""Requests per second (sustained) and burst per connection when ``ServerConfig.rate_limit`` is None and the server
is not bound to loopback."""


@dataclass(frozen=True)
class ServerConfig:
    """Server settings (units in names). ``tokens`` None disables auth (refused off loopback by the CLI).

    ``rate_limit``: each connection's request-rate limit (on HTTP: each token's); None = :data:`DEFAULT_RATE_LIMIT`
    unless bound to loopback (no limit there), ``NO_LIMIT`` (``RateLimit(0, 0)``) = none anywhere.

    ``http``: serve Streamable HTTP (and the contributed routes) on the WebSocket port; None = when the backend is
    picows (the websockets backend cannot share its port; True with it fails at start). ``http_session_idle_s``: a
    2025-11-25 HTTP session unused this long (and with no GET stream open) ends. ``http_fast_path``: a POST the
    engine answers at once is answered without aiohttp's request machinery (:mod:`~tradingmcp.server.http.fastpath`);
    False sends every request through aiohttp (the benchmark's comparison). ``slow_consumer_bytes`` also bounds each
    SSE response's queue.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    ssl: ssl_module.SSLContext | None = None
    tokens: TokenStore | None = None
    backend: ws.Backend = ws.DEFAULT_BACKEND
    wire: ws.WireOptions = field(default_factory=ws.WireOptions)
    paths: tuple[str, ...] = ("/mcp", "/")
    allowed_origins: frozenset[str] = frozenset()
    allowed_hosts: frozenset[str] | None = None  # None: loopback names when bound to loopback, else any
    max_in_flight: int = 64
    rate_limit: RateLimit | None = None
    slow_consumer_bytes: int = 8 << 20
    slow_consumer_grace_s: float = 10.0
    drain_timeout_s: float = 5.0
    resource_min_interval_s: float = 0.25
    http: bool | None = None
    http_session_idle_s: float = 900.0
    http_fast_path: bool = True


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ClientConnection:
    """One accepted client: the FrameHandler for the wire and the Sink for the engine; ``runner`` is its session's
    shell for async tool calls.

    ``on_text`` is the session's ``on_message`` itself (no extra frame between the wire and the engine).
    """

    __slots__ = ("conn", "on_text", "out", "principal", "runner", "server", "session")

    def __init__(self, server: McpServer, principal: Principal) -> None:
        self.server = server
        self.principal = principal
        self.conn: ws.Connection | None = None
        self.out: OutboundQueue | None = None
        self.runner = TaskRunner()
        self.session = ServerSession(
            server.app,
            self,
            principal,
            shell=self.runner,
            resources=server.resources,
            max_in_flight=server.config.max_in_flight,
            rate_limit=server.rate_limit,
        )
        self.on_text: Callable[[ws.TextData], None] = self.session.on_message

    # FrameHandler ------------------------------------------------------
    def on_open(self, conn: ws.Connection) -> None:
        self.conn = conn
        self.out = OutboundQueue(conn.send_text, conn)  # reads conn.writing_paused on each send
        self.server.connections.add(self)

    def on_writable(self) -> None:
        if self.out is not None and self.conn is not None and not self.conn.closed:  # nothing goes after a close
            self.out.flush()

    def on_close(self, code: int, reason: str) -> None:
        self.server.connections.discard(self)
        # a dropped link (not a normal close) keeps its streams running a while, so the client can resume them
        self.server.streams.release(self, linger=code != CloseCode.NORMAL_CLOSURE)
        self.session.on_closed()

    # Sink --------------------------------------------------------------
    def send(self, data: bytes) -> None:
        out = self.out
        if out is not None:
            out.send(data)
            if out.behind_since is not None:
                self._check_slow(out)

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        out = self.out
        if out is not None:
            out.send_conflatable(key, data)
            if out.behind_since is not None:
                self._check_slow(out)

    def _check_slow(self, out: OutboundQueue) -> None:
        if self.conn is None or self.conn.closed:  # already closing: once is enough (no warning per message)
            return
        cfg = self.server.config
        if out.queued_bytes > cfg.slow_consumer_bytes or out.behind_for() > cfg.slow_consumer_grace_s:
            log.warning("closing slow consumer %s (%d bytes queued)", self.principal.name, out.queued_bytes)
            self.close(CloseCode.POLICY_VIOLATION, "slow consumer: outbound queue limit exceeded")

    def close(self, code: int, reason: str) -> None:
        if self.conn is not None:
            self.conn.close(code, reason)

    @property
    def stats(self) -> dict[str, Any]:
        out = self.out
        return {
            "principal": self.principal.name,
            "queued": len(out) if out else 0,
            "queued_bytes": out.queued_bytes if out else 0,
            "sent": out.sent if out else 0,
            "conflated": out.conflated if out else 0,
            "in_flight": len(self.session.in_flight),
        }


class McpServer:
    """``await McpServer(app, config).start()``; ``port``; ``await stop()`` (graceful: drain, close 1001)."""

    def __init__(
        self,
        app: McpApp,
        config: ServerConfig | None = None,
        *,
        streams: StreamHub | None = None,
        http_routes: dict[str, Callable[[], ws.HttpResponse]] | None = None,
        routes: Sequence[web.AbstractRouteDef] = (),
        open_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.config = config or ServerConfig()
        self.streams = streams or StreamHub()
        self.resources = ResourceHub(self.config.resource_min_interval_s, loop_call_later)
        self.connections: set[ClientConnection] = set()
        self.http_routes = {"/health": self._health, **(http_routes or {})}
        self.routes = tuple(routes)
        """Route contributions of the HTTP side (REST, docs...), composed in ``app/serve.py``."""
        self.open_paths = frozenset(open_paths)
        """Paths of those routes the guard answers without a token (beside ``/health`` and ``/metrics``)."""
        self.http: HttpFace | None = None
        """The plain-HTTP side of the port once started (None: WebSocket only)."""
        self.started_at = time.time()
        self.accepting = False
        if self.config.rate_limit is not None:
            self.rate_limit: RateLimit = self.config.rate_limit
        else:
            self.rate_limit = NO_LIMIT if is_loopback(self.config.host) else DEFAULT_RATE_LIMIT
        """The request-rate limit every connection gets (``enabled`` False: none)."""
        self._server: ws.WsServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        if self.config.allowed_hosts is not None:
            self._hosts: frozenset[str] | None = self.config.allowed_hosts
        else:
            self._hosts = LOOPBACK_HOSTS if is_loopback(self.config.host) else None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.port

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.ssl is not None else "ws"
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"{scheme}://{host}:{self.port}/mcp"

    @property
    def http_url(self) -> str:
        """The Streamable HTTP endpoint (same host, port and path as :attr:`url`)."""
        return "http" + self.url[2:]

    async def start(self, accepting: bool = True) -> McpServer:
        """Bind and listen. With ``accepting`` False, upgrades get HTTP 503 until :meth:`accept` (bind the port
        first, open it once everything behind it runs).

        Raises:
            OSError: the address is in use or not bindable.
        """
        cfg = self.config
        serve_http = cfg.http if cfg.http is not None else cfg.backend == "picows"
        factory: ws.HttpProtocolFactory | None = None
        if serve_http:
            self.http = self._http_face()
            factory = await self.http.start()
        try:
            self._server = await ws.serve(
                self._upgrade,
                cfg.host,
                cfg.port,
                ssl=cfg.ssl,
                backend=cfg.backend,
                options=cfg.wire,
                http=factory,
            )
        except BaseException:
            if self.http is not None:
                await self.http.stop()
                self.http = None
            raise
        self.accepting = accepting
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        return self

    def _http_face(self) -> HttpFace:
        cfg = self.config
        endpoint = McpEndpoint(
            self.app,
            self.resources,
            self.streams,
            EndpointSettings(
                max_body_bytes=cfg.wire.max_message_bytes,
                max_in_flight=cfg.max_in_flight,
                sse_limit_bytes=cfg.slow_consumer_bytes,
                session_idle_s=cfg.http_session_idle_s,
            ),
            lambda: self.accepting,
        )
        settings = GuardSettings(cfg.tokens, cfg.allowed_origins, self._hosts, self.rate_limit)
        guard = Guard(replace(settings, open_paths=settings.open_paths | self.open_paths))
        app = build_app(
            endpoint,
            guard,
            paths=cfg.paths,
            routes=self.routes,
            simple_routes=self.http_routes,
            client_max_size=cfg.wire.max_message_bytes,
        )
        return HttpFace(app, endpoint, guard if cfg.http_fast_path else None, paths=cfg.paths)

    def accept(self) -> None:
        """Start accepting connections (after ``start(accepting=False)``)."""
        self.accepting = True

    def _upgrade(self, req: ws.UpgradeRequest) -> ws.Accept | ws.HttpResponse:
        path = req.path.split("?", 1)[0]
        if not host_allowed(req.header("host"), self._hosts):
            return ws.HttpResponse(403, b"Forbidden: Host not allowed (DNS-rebinding protection)\n")
        own = req.header("host") if self._hosts is not None else None
        origin = req.header("origin")
        if not origin_allowed(origin, self.config.allowed_origins, own) and not self._own_tls_origin(req, origin):
            return ws.HttpResponse(403, b"Forbidden: Origin not allowed\n")
        if not req.is_upgrade:
            route = self.http_routes.get(path)
            return route() if route is not None else ws.HttpResponse(404, b"Not Found\n")
        if path not in self.config.paths:
            return ws.HttpResponse(404, b"Not Found: the MCP endpoint is /mcp\n")
        if not self.accepting:
            return ws.HttpResponse(503, b"Service Unavailable: not accepting connections (starting or shutting down)\n")
        if SUBPROTOCOL not in req.subprotocols:
            return ws.HttpResponse(400, b"Bad Request: offer the 'mcp' WebSocket subprotocol\n")
        principal = ANONYMOUS
        if self.config.tokens is not None:
            found = self.config.tokens.authenticate(presented_token(req.header("authorization"), req.subprotocols))
            if found is None:
                return ws.HttpResponse(
                    401,
                    b"Unauthorized: send Authorization: Bearer <token> or the subprotocol auth.<token>\n",
                    (("WWW-Authenticate", 'Bearer realm="tradingmcp"'),),
                )
            principal = found
        return ws.Accept(ClientConnection(self, principal), SUBPROTOCOL)

    def _own_tls_origin(self, req: ws.UpgradeRequest, origin: str | None) -> bool:
        """A page this TLS server served calling it back (the web console) when any Host is allowed (bound off
        loopback with no ``allowed_hosts``): Origin ``https://`` plus the request's Host. Safe from DNS rebinding
        there: a rebound page's browser checks our certificate against its own host name, so its TLS handshake fails
        before any request arrives."""
        host = req.header("host")
        return self.config.ssl is not None and self._hosts is None and bool(host) and origin == f"https://{host}"

    def _health(self) -> ws.HttpResponse:
        body = {
            "status": "ok" if self.accepting else "draining",
            "connections": len(self.connections),
            "uptime_s": round(time.time() - self.started_at, 3),
            "streams": self.streams.active(),
        }
        return ws.HttpResponse(200, orjson.dumps(body), content_type="application/json")

    async def _sweep(self) -> None:
        """Once a second: close consumers that stayed behind with nothing new queued."""
        while True:
            await asyncio.sleep(1.0)
            for client in list(self.connections):
                out = client.out
                if out is not None and out.behind_since is not None:
                    client._check_slow(out)

    async def stop(self) -> None:
        """Graceful shutdown: stop accepting, let in-flight calls answer, end listen streams, flush, close 1001."""
        self.accepting = False
        if self._server is not None:
            await self._server.close()
        deadline = time.monotonic() + self.config.drain_timeout_s
        await _until(lambda: not any(c.session.in_flight for c in self.connections), deadline)
        for client in list(self.connections):
            client.session.end_listeners()
        await _until(lambda: not any(c.out and len(c.out) for c in self.connections), deadline)
        for client in list(self.connections):
            client.close(CloseCode.GOING_AWAY, "server shutting down")
        # closing handshakes get their own short bound even when draining used up the deadline
        await _until(lambda: not self.connections, max(deadline, time.monotonic() + 1.0))
        if self.http is not None:
            await self.http.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper


async def _until(done: Callable[[], bool], deadline: float, step_s: float = 0.01) -> None:
    """Poll ``done`` until it holds or the monotonic ``deadline`` passes (shutdown only, never the hot path)."""
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 - several conditions, bounded by deadline
        await asyncio.sleep(step_s)
