"""The REST API's error answers: :class:`ApiError` (a status, a code, a message, the optional fields of
:class:`~tradingmcp.server.rest.models.ErrorBody`) and how the tool-boundary checks and the adapters' errors map onto
statuses (:func:`bad_params`, :func:`exchange_error`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tradingmcp.server.exchanges.errors import (
    BadParameter,
    ExchangeError,
    ExchangeUnavailable,
    InvalidSymbol,
    RateLimited,
)
from tradingmcp.server.rest import models
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

log = logging.getLogger("tradingmcp.server.rest")


class ApiError(Exception):
    """An error answer: ``status``, ``code``, ``message`` and the optional fields of :class:`~.models.ErrorBody`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> web.Response:
        body = models.ErrorResponse(
            error=models.ErrorBody(status=self.status, code=self.code, message=self.message, **self.extra)
        )
        return json_response(body, self.status, self.headers, exclude_none=True)


def json_response(
    model: models.Model, status: int = 200, headers: Mapping[str, str] | None = None, exclude_none: bool = False
) -> web.Response:
    """``model`` as a JSON answer (``exclude_none``: leave out the optional fields that are None)."""
    return web.Response(
        body=model.model_dump_json(exclude_none=exclude_none).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def bad_params(exc: JsonRpcError) -> ApiError:
    """A tool-boundary refusal (-32602 about ``arguments.<field>``) as a 400 naming the field."""
    if exc.code != ErrorCode.INVALID_PARAMS:
        return ApiError(500, "internal", "unexpected error")
    data = exc.data if isinstance(exc.data, dict) else {}
    path = str(data.get("path", "")) or None
    message = exc.message.removeprefix("Invalid params: ").removeprefix("arguments.")
    return ApiError(400, "bad_request", message, field=path)


def exchange_error(exc: ExchangeError) -> ApiError:
    """An adapter error as its status: 400 a refused parameter, 429 rate limited, 503 unavailable, else 502."""
    text = f"{exc.exchange or 'exchange'}: {exc}"
    if isinstance(exc, BadParameter):
        return ApiError(400, "bad_request", text, field="symbol" if isinstance(exc, InvalidSymbol) else None)
    if isinstance(exc, RateLimited):
        retry = exc.retry_after_s
        headers = {"Retry-After": str(max(1, math.ceil(retry)))} if retry is not None else None
        return ApiError(429, "rate_limited", text, headers=headers, retry_after_s=retry)
    if isinstance(exc, ExchangeUnavailable):
        return ApiError(503, "exchange_unavailable", text, headers={"Retry-After": "1"})
    log.warning("REST read failed: %r", exc)
    return ApiError(502, "exchange_error", text)


__all__ = ["ApiError", "bad_params", "exchange_error", "json_response"]
