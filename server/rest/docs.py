"""Interactive API docs at ``/docs``: Swagger UI reading ``/openapi.json``, its JavaScript and CSS served from the
installed ``swagger-ui-py`` package (the swagger-ui dist files, Apache-2.0, vendored in its ``static/`` folder), never
from a CDN: a server here may have no internet. The page's Content-Security-Policy allows only this origin, so a
browser refuses anything else the page might ask for.

Routes: ``/docs`` (the page), ``/docs/init.js`` (starts Swagger UI on ``/openapi.json``), ``/docs/static/<file>`` (the
files of :data:`STATIC_FILES` only).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aiohttp import web

STATIC_PACKAGE = "swagger_ui"
"""The import name of ``swagger-ui-py`` (https://github.com/PWZER/swagger-ui-py), whose ``static/`` folder holds the
swagger-ui dist files (https://github.com/swagger-api/swagger-ui, Apache-2.0)."""
STATIC_FILES = {
    "swagger-ui.css": "text/css",
    "index.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
    "LICENSE": "text/plain",
}
"""The files ``/docs/static/`` serves, with their content types."""
DOCS_PATHS = frozenset({"/docs", "/docs/init.js", *(f"/docs/static/{name}" for name in STATIC_FILES)})
"""Every path the docs answer."""
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
"""Content-Security-Policy of the docs: this origin only (Swagger UI sets inline styles, and draws data: images)."""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TradingMCP market data API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="stylesheet" href="/docs/static/index.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

INIT_JS = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
"""


def static_dir() -> Path:
    """The installed swagger-ui dist folder (found without importing the package).

    Raises:
        FileNotFoundError: ``swagger-ui-py`` is not installed.
    """
    spec = importlib.util.find_spec(STATIC_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {STATIC_PACKAGE!r} package (pip install swagger-ui-py) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    if not (folder / "swagger-ui-bundle.js").is_file():
        raise FileNotFoundError(f"{folder} holds no swagger-ui-bundle.js")
    return folder


def docs_routes() -> list[web.RouteDef]:
    """The routes of ``/docs`` (see the module docstring); the files are read once, here.

    Raises:
        FileNotFoundError: ``swagger-ui-py`` is not installed.
    """
    folder = static_dir()
    files = {name: ((folder / name).read_bytes(), kind) for name, kind in STATIC_FILES.items()}
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", headers=headers)

    async def init(request: web.Request) -> web.Response:
        return web.Response(text=INIT_JS, content_type="text/javascript", headers=headers)

    async def static(request: web.Request) -> web.Response:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="no such docs file\n")
        body, kind = found
        return web.Response(body=body, content_type=kind, headers={**headers, "Cache-Control": "public, max-age=86400"})

    return [
        web.get("/docs", page, allow_head=False),
        web.get("/docs/init.js", init, allow_head=False),
        web.get("/docs/static/{name}", static, allow_head=False),
    ]


__all__ = ["CSP", "DOCS_PATHS", "STATIC_FILES", "docs_routes", "static_dir"]
