"""The aiohttp application of the MCP port's plain-HTTP side, and the seam other packages plug routes into.

:func:`build_app` composes, in this order (the first match wins): the MCP endpoint on its paths (``POST``/``GET``/
``DELETE``, :mod:`~tradingmcp.server.http.mcp`), the route contributions it is given (``routes``: ``/v1/...``,
``/openapi.json``, ``/docs``, ``/console`` come from their own packages through ``app/serve.py``), and last the
server's simple ``GET`` routes (``/health``, ``/metrics``: callables returning a
:class:`~tradingmcp.transport.ws.HttpResponse`, looked up at request time so they can be added after start). Every
request passes the :class:`~tradingmcp.server.http.guard.Guard` first.

:class:`HttpFace` runs it without a listening socket of its own: :attr:`HttpFace.protocol_factory` is what
:func:`tradingmcp.transport.ws.serve` hands each non-WebSocket connection of the shared port to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web

from tradingmcp.server.http.fastpath import FastPath
from tradingmcp.server.http.guard import Guard
from tradingmcp.server.http.mcp import McpEndpoint
from tradingmcp.transport import ws

SimpleRoute = Callable[[], ws.HttpResponse]
RouteContribution = web.RouteDef
"""A route another package adds (``web.get("/v1/price/{exchange}/{symbol}", handler)``...)."""


def build_app(
    endpoint: McpEndpoint,
    guard: Guard,
    *,
    paths: Sequence[str] = ("/mcp",),
    routes: Sequence[web.AbstractRouteDef] = (),
    simple_routes: Mapping[str, SimpleRoute] | None = None,
    client_max_size: int = 1 << 20,
) -> web.Application:
    """The application: guard middleware, the MCP endpoint on ``paths``, ``routes``, then ``simple_routes``."""
    app = web.Application(middlewares=[guard.middleware], client_max_size=client_max_size)
    for path in paths:
        app.router.add_post(path, endpoint.post)
        app.router.add_get(path, endpoint.get, allow_head=False)
        app.router.add_delete(path, endpoint.delete)
    app.router.add_routes(routes)
    if simple_routes is not None:
        table = simple_routes

        async def simple(request: web.Request) -> web.StreamResponse:
            route = table.get(request.path)
            if route is None:
                raise web.HTTPNotFound(text="Not Found\n")
            return _plain(route())

        app.router.add_get("/{tail:.*}", simple, allow_head=False)
    return app


def _plain(r: ws.HttpResponse) -> web.Response:
    resp = web.Response(status=r.status, body=r.body)
    resp.headers["Content-Type"] = r.content_type
    for name, value in r.headers:
        resp.headers[name] = value
    return resp


class HttpFace:
    """The running application: :meth:`start` (no socket), :attr:`protocol_factory` for the shared port, :meth:`stop`.

    With ``guard`` (the application's), each connection starts on the fast path
    (:class:`~tradingmcp.server.http.fastpath.FastPath`: a POST the engine answers at once, answered without aiohttp's
    request machinery) and goes to the application at its first other request; without it, straight to the
    application."""

    def __init__(
        self,
        app: web.Application,
        endpoint: McpEndpoint,
        guard: Guard | None = None,
        *,
        paths: Sequence[str] = ("/mcp",),
    ) -> None:
        self.app = app
        self.endpoint = endpoint
        self.guard = guard
        self.paths = paths
        self.runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True, access_log=None)
        self.fast: FastPath | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> ws.HttpProtocolFactory:
        """Set the application up; returns the protocol factory of its connections."""
        await self.runner.setup()
        self._sweeper = asyncio.get_running_loop().create_task(self.endpoint.sweep_forever())
        return self.protocol_factory

    @property
    def protocol_factory(self) -> ws.HttpProtocolFactory:
        server = self.runner.server
        assert server is not None, "HttpFace not started"
        if self.guard is None:
            return server
        if self.fast is None:
            max_body = self.endpoint.settings.max_body_bytes
            self.fast = FastPath(self.endpoint, self.guard, self.paths, server, max_body)
        return self.fast

    async def stop(self, timeout_s: float = 2.0) -> None:
        """End listen and GET streams (answered), end sessions, then close the connections."""
        self.endpoint.end_listeners()
        self.endpoint.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.fast is not None:
            self.fast.close()
        server = self.runner.server
        if server is not None:
            await server.shutdown(timeout_s)
        await self.runner.cleanup()
