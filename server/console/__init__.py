"""The web console at ``/console``: a page for operators, served from this package on the MCP port.

The page (``static/``: ``index.html``, and ``console.js`` + ``console.css`` built by esbuild from the npm project in
``console/`` at the top of the repository, ``make console``) speaks MCP over WebSocket to the same port: subprotocols
``mcp`` and ``auth.<token>`` (a browser cannot set headers on a WebSocket), the token read from the URL's fragment
(``/console#token=...``, never sent to a server). Its panels read the MCP tools and push streams; the Origin check of
the port allows the page because it is the server's own origin.

Routes (:func:`console_routes`):

* ``GET /console``, ``/console/``: the page; ``GET /console/<file>``: the files of :data:`STATIC_FILES` only. Open
  paths (:data:`OPEN_PATHS`): static files hold no secret and a browser fetching them sends no token.
* ``GET /console/whoami``: ``{"name", "scopes"}`` of the bearer token (``Authorization: Bearer <token>``); behind the
  port's guard like every other path, so a wrong token is HTTP 401 there. The page asks it first: a refused token is
  a clear error instead of a WebSocket that fails without a status, and its scopes say whether the kill switch is
  enabled (the server still checks the ``trade`` scope on the call).
"""

from __future__ import annotations

from pathlib import Path

import orjson
from aiohttp import web

from tradingmcp.server.http.guard import principal_of

STATIC_DIR = Path(__file__).parent / "static"
"""The built page, shipped in the package (``[tool.setuptools.package-data]``)."""
STATIC_FILES = {
    "index.html": "text/html",
    "console.js": "text/javascript",
    "console.css": "text/css",
}
"""The files ``/console/`` serves, with their content types."""
PAGE_PATHS = ("/console", "/console/")
WHOAMI_PATH = "/console/whoami"
OPEN_PATHS = frozenset({*PAGE_PATHS, *(f"/console/{name}" for name in STATIC_FILES)})
"""The paths the port's guard answers without a token (``/console/whoami`` is not one of them)."""
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""Content-Security-Policy of the page: this origin only (``connect-src 'self'`` covers ``ws://``/``wss://`` to the
same host and port); uPlot sets inline styles."""
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def load_static(folder: Path = STATIC_DIR) -> dict[str, tuple[bytes, str]]:
    """The files of :data:`STATIC_FILES` in ``folder``: ``{name: (body, content type)}``.

    Raises:
        FileNotFoundError: a file is missing (the package was built without ``make console``'s output).
    """
    return {name: ((folder / name).read_bytes(), kind) for name, kind in STATIC_FILES.items()}


def console_routes(folder: Path = STATIC_DIR) -> list[web.RouteDef]:
    """The routes of the console (see the module docstring); the files are read once, here.

    Raises:
        FileNotFoundError: a file of :data:`STATIC_FILES` is missing from ``folder``.
    """
    files = load_static(folder)

    def answer(name: str) -> web.Response:
        body, kind = files[name]
        return web.Response(body=body, content_type=kind, headers=HEADERS)

    async def page(request: web.Request) -> web.Response:
        return answer("index.html")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound(text="no such console file\n")
        return answer(name)

    async def whoami(request: web.Request) -> web.Response:
        principal = principal_of(request)
        if principal is None:  # only when mounted on an open path by mistake: the guard refuses a bad token first
            raise web.HTTPUnauthorized(text="Unauthorized: send Authorization: Bearer <token>\n")
        body = orjson.dumps({"name": principal.name, "scopes": sorted(principal.scopes)})
        return web.Response(body=body, content_type="application/json", headers={"Cache-Control": "no-store"})

    return [
        *(web.get(path, page, allow_head=False) for path in PAGE_PATHS),
        web.get(WHOAMI_PATH, whoami, allow_head=False),
        web.get("/console/{name}", static, allow_head=False),
    ]


__all__ = ["CSP", "OPEN_PATHS", "STATIC_DIR", "STATIC_FILES", "WHOAMI_PATH", "console_routes", "load_static"]
