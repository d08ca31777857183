"""The OpenAPI 3.1 document of the REST API (``GET /openapi.json``), made from the API's own operation table
(:attr:`~tradingmcp.server.rest.api.RestApi.operations`: paths, parameters and their JSON Schemas) and its pydantic
response models (:mod:`tradingmcp.server.rest.models`, under ``components.schemas``): nothing is written twice.

Follows https://spec.openapis.org/oas/v3.1.0 (schemas are JSON Schema 2020-12, as pydantic writes them).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from pydantic.json_schema import models_json_schema

from tradingmcp.server.rest.api import Operation, Param, RestApi
from tradingmcp.server.rest.models import RESPONSE_MODELS, ErrorResponse, GuardErrorResponse

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
ERRORS: dict[int, str] = {
    400: "A bad symbol, interval or parameter, or one the exchange refuses",
    401: "No token, or one this server does not know (the port's guard)",
    403: "The token lacks the read scope, or the port's guard refused the Host or Origin",
    404: "An unknown exchange",
    429: "The exchange's rate limit, or over this server's request rate per token (the port's guard); see Retry-After",
    502: "The exchange answered with another error",
    503: "The exchange is down or did not answer in time, or the server is starting",
}
"""Every error status an operation may answer, with what it means."""
GUARD_ONLY = frozenset({401})
"""Statuses only the port's guard answers (:class:`~.models.GuardErrorResponse`)."""
GUARD_TOO = frozenset({403, 429})
"""Statuses both the guard and the API answer (either body)."""


def _version() -> str:
    try:
        return metadata.version("tradingmcp")
    except metadata.PackageNotFoundError:
        return "0"


def _ref(model: type[Any]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _parameter(p: Param) -> dict[str, Any]:
    out = {"name": p.name, "in": p.location, "required": p.required, "description": p.description, "schema": p.schema}
    if p.example is not None:
        out["example"] = p.example
    return out


def _error_schema(status: int) -> dict[str, Any]:
    if status in GUARD_ONLY:
        return _ref(GuardErrorResponse)
    if status in GUARD_TOO:
        return {"anyOf": [_ref(ErrorResponse), _ref(GuardErrorResponse)]}
    return _ref(ErrorResponse)


def _operation(op: Operation, secured: bool) -> dict[str, Any]:
    errors = {
        str(status): {
            "description": text,
            "content": {"application/json": {"schema": _error_schema(status)}},
            **(
                {"headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}}
                if status == 429
                else {}
            ),
        }
        for status, text in ERRORS.items()
        if secured or status != 401
    }
    return {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "tags": ["market data"],
        "parameters": [_parameter(p) for p in op.params],
        "responses": {
            "200": {
                "description": op.summary,
                "content": {"application/json": {"schema": _ref(op.response)}},
            },
            **errors,
        },
    }


def openapi_document(api: RestApi, title: str = "TradingMCP market data") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``api`` (a JSON-ready dict); bearer auth is declared when it has tokens."""
    _, defs = models_json_schema([(m, "serialization") for m in RESPONSE_MODELS], ref_template=REF)
    secured = api.config.secured
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": _version(),
            "description": "Read-only market data of the exchanges this TradingMCP server bridges, on the MCP "
            "server's own port. Reads go through the server's TTL cache (shared with its MCP market tools), so "
            "dashboards cannot spend the exchange's rate limit. Prices are decimal strings; times are ms since the "
            "epoch (UTC).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [{"name": "market data", "description": "Prices, candles, books, trades and symbols"}],
        "paths": {op.path: {"get": _operation(op, secured)} for op in api.operations},
        "components": {"schemas": defs.get("$defs", {})},
    }
    if secured:
        doc["components"]["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "a token with the read scope"}
        }
        doc["security"] = [{"bearerAuth": []}]
    return doc


__all__ = ["OPENAPI_VERSION", "openapi_document"]
