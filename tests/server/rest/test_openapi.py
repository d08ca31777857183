"""``/openapi.json`` and ``/docs`` on the live server: the document describes exactly the operations the API serves
(made from the same table and models), and the docs page loads only files served by this server, from the installed
swagger-ui package."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator

from tradingmcp.server.rest.docs import CSP, STATIC_FILES

from ..support import READER_TOKEN, ToolServer

OPERATIONS = {
    "/v1/price/{exchange}/{symbol}": "PriceResponse",
    "/v1/ohlcv/{exchange}/{symbol}": "OhlcvResponse",
    "/v1/book/{exchange}/{symbol}": "BookResponse",
    "/v1/trades/{exchange}/{symbol}": "TradesResponse",
    "/v1/symbols/{exchange}": "SymbolsResponse",
    "/v1/indicators/{exchange}/{symbol}": "IndicatorsResponse",
}
EXAMPLES = {
    "/v1/price/{exchange}/{symbol}": "/v1/price/binance/BTCUSDT",
    "/v1/ohlcv/{exchange}/{symbol}": "/v1/ohlcv/binance/BTCUSDT?interval=1m&limit=5",
    "/v1/book/{exchange}/{symbol}": "/v1/book/binance/BTCUSDT?depth=7",
    "/v1/trades/{exchange}/{symbol}": "/v1/trades/binance/BTCUSDT?limit=3",
    "/v1/symbols/{exchange}": "/v1/symbols/binance",
    "/v1/indicators/{exchange}/{symbol}": "/v1/indicators/binance/BTCUSDT?interval=1s&indicators=rsi,macd&limit=20",
}


async def fetch(srv: ToolServer, path: str, token: bool = False) -> tuple[int, bytes, aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {READER_TOKEN}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(srv.http_url + path, headers=headers) as r:
        return r.status, await r.read(), r


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``doc``."""
    return Draft202012Validator({**schema, "components": doc["components"]})


async def test_the_document_matches_what_the_api_serves(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    status, _, resp = await fetch(tool_server, "/openapi.json")
    assert status == 200
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0" and set(doc["paths"]) == set(OPERATIONS)
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, model in OPERATIONS.items():
        op = doc["paths"][path]["get"]
        assert set(op["responses"]) == {"200", "400", "401", "403", "404", "429", "502", "503"}
        params = {p["name"]: p for p in op["parameters"]}
        assert params["exchange"]["schema"]["enum"] == ["binance"] and params["exchange"]["required"] is True
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{model}"}
        status, body, resp = await fetch(tool_server, EXAMPLES[path], token=True)
        assert status == 200, body
        validator(doc, ok).validate(await resp.json())  # the served body is what the document says
    book = doc["paths"]["/v1/book/{exchange}/{symbol}"]["get"]
    depth = next(p for p in book["parameters"] if p["name"] == "depth")
    assert depth["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    errors = op["responses"]["404"]["content"]["application/json"]["schema"]
    status, body, resp = await fetch(tool_server, "/v1/symbols/kraken", token=True)
    assert status == 404
    validator(doc, errors).validate(await resp.json())
    unauthorized = op["responses"]["401"]["content"]["application/json"]["schema"]
    status, body, resp = await fetch(tool_server, "/v1/symbols/binance")
    assert status == 401
    validator(doc, unauthorized).validate(await resp.json())  # the guard's JSON-RPC error, as documented


async def test_docs_load_only_this_servers_files(tool_server: ToolServer) -> None:
    status, page, resp = await fetch(tool_server, "/docs")
    assert status == 200 and resp.content_type == "text/html"
    assert resp.headers["Content-Security-Policy"] == CSP and "default-src 'self'" in CSP
    html = page.decode()
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("<!DOCTYPE html>", "")
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/docs/static/swagger-ui-bundle.js" in assets and "/docs/static/swagger-ui.css" in assets
    for asset in assets:
        assert asset.startswith("/docs/"), asset
        status, body, resp = await fetch(tool_server, asset)
        assert status == 200 and len(body) > 100, asset
    status, init, _ = await fetch(tool_server, "/docs/init.js")
    assert b'url: "/openapi.json"' in init and b"validatorUrl: null" in init  # no call to an online validator
    status, bundle, resp = await fetch(tool_server, "/docs/static/swagger-ui-bundle.js")
    assert resp.content_type == "text/javascript" and b"SwaggerUIBundle" in bundle
    status, licence, _ = await fetch(tool_server, "/docs/static/LICENSE")
    assert status == 200 and b"Apache License" in licence
    assert set(STATIC_FILES) >= {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"}
    status, _, _ = await fetch(tool_server, "/docs/static/swagger-editor-bundle.js")  # only the listed files
    assert status == 401  # not an open path: the guard asks for a token before anything says 404
    status, _, _ = await fetch(tool_server, "/docs/static/swagger-editor-bundle.js", token=True)
    assert status == 404
