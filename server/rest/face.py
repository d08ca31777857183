"""What the server mounts of the REST API: :class:`RestFace`, whose routes exist from the start (the port is bound
before the venues start) while the :class:`~tradingmcp.server.rest.api.RestApi` behind them is made on the first
request after the venues are up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from tradingmcp.server.market.data import MarketData
from tradingmcp.server.rest.api import OPERATION_PATHS, RestApi, RestConfig
from tradingmcp.server.rest.errors import ApiError
from tradingmcp.server.venues import Venues

MarketSource = Callable[[], "tuple[Venues, MarketData] | None"]
"""The venues and the cached market reads once the exchanges are up (None before)."""


class RestFace:
    """The REST API's routes on the server's port: :meth:`routes` from the start; the :class:`RestApi` (and its
    OpenAPI document, built once) when ``source`` first gives the venues. Before that every operation answers 503
    ``starting``."""

    def __init__(self, source: MarketSource, config: RestConfig | None = None) -> None:
        self.source = source
        self.config = config or RestConfig()
        self._api: RestApi | None = None

    def api(self) -> RestApi | None:
        """The API, made on the first call that finds the venues up."""
        if self._api is None:
            found = self.source()
            if found is not None:
                self._api = RestApi(*found, self.config)
        return self._api

    def routes(self) -> list[web.RouteDef]:
        """A GET route per operation, then a JSON 404 for any other GET under ``/v1/``."""
        out = [web.get(path, self._dispatch(path), allow_head=False) for path in OPERATION_PATHS]
        out.append(web.get("/v1/{tail:.*}", self._not_found, allow_head=False))
        return out

    def _dispatch(self, path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            api = self.api()
            if api is None:
                return ApiError(
                    503, "starting", "the server is starting: no exchange is up yet", headers={"Retry-After": "1"}
                ).response()
            return await api.endpoints[path](request)

        return dispatch

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        paths = ", ".join(OPERATION_PATHS)
        return ApiError(
            404, "not_found", f"no such operation: GET {request.path}; the operations are {paths}"
        ).response()


__all__ = ["MarketSource", "RestFace"]
