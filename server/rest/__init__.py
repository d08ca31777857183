"""The read-only market-data REST API for people and dashboards, on the MCP server's port (no MCP here).

* :mod:`.api`: :class:`~.api.RestApi`, the ``/v1/...`` operations (the read scope, checks, handlers);
* :mod:`.errors`: the JSON error answers and the statuses of refused values and exchange errors;
* :mod:`.face`: :class:`~.face.RestFace`, the routes the server mounts before the venues are up;
* :mod:`.models`: the pydantic models of every JSON body;
* :mod:`.openapi`: the OpenAPI 3.1 document, made from the operations and the models;
* :mod:`.docs`: Swagger UI at ``/docs``, served from the installed package.

:func:`rest_routes` gathers them for the HTTP face.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from tradingmcp.server.rest.api import RestApi, RestConfig
from tradingmcp.server.rest.docs import DOCS_PATHS, docs_routes
from tradingmcp.server.rest.errors import ApiError
from tradingmcp.server.rest.face import MarketSource, RestFace
from tradingmcp.server.rest.openapi import openapi_document

OPENAPI_PATH = "/openapi.json"
OPEN_PATHS = frozenset({OPENAPI_PATH, *DOCS_PATHS})
"""The paths the port's guard lets through without a token: the OpenAPI document and the docs hold no secret, and a
browser opening ``/docs`` sends none."""


def rest_routes(source: MarketSource, config: RestConfig | None = None) -> list[web.RouteDef]:
    """Every route of the REST API (see :class:`RestFace`): ``GET /openapi.json`` (its document is made once, on the
    first request after the venues are up; 503 before), ``/docs``, the ``/v1/`` operations and their JSON 404. Mount
    them behind the port's guard with :data:`OPEN_PATHS` open.

    Raises:
        FileNotFoundError: the docs' package (``swagger-ui-py``) is not installed.
    """
    face = RestFace(source, config)
    document: list[bytes] = []

    async def openapi(request: web.Request) -> web.Response:
        if not document:
            api = face.api()
            if api is None:
                return ApiError(503, "starting", "the server is starting: no exchange is up yet").response()
            document.append(orjson.dumps(openapi_document(api)))
        return web.Response(body=document[0], content_type="application/json")

    return [web.get(OPENAPI_PATH, openapi, allow_head=False), *docs_routes(), *face.routes()]


__all__ = ["OPENAPI_PATH", "OPEN_PATHS", "RestApi", "RestConfig", "RestFace", "rest_routes"]
