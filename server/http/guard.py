"""What every HTTP request on the MCP port passes before its handler, the same rules as the WebSocket handshake
(:mod:`tradingmcp.transport.auth`): ``Host`` and ``Origin`` checks (403, DNS-rebinding protection), bearer tokens with
scopes (401 with ``WWW-Authenticate``), and a request-rate limit per token (429 with ``Retry-After``).

Routes other packages add (:func:`tradingmcp.server.http.app.build_app` ``routes``) read the caller with
:func:`principal_of` and refuse with :func:`require_scope`; the guard has already authenticated any token presented.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import orjson
from aiohttp import web

from tradingmcp.transport import jsonrpc
from tradingmcp.transport.auth import ANONYMOUS, Principal, TokenStore, host_allowed, origin_allowed, presented_token
from tradingmcp.transport.jsonrpc import ErrorCode
from tradingmcp.transport.ratelimit import RateLimit, TokenBucket, retry_after_ms

_PRINCIPAL = web.RequestKey("tradingmcp.principal", Principal)
"""The request key under which the guard stores the caller (read it with :func:`principal_of`)."""
WWW_AUTHENTICATE = 'Bearer realm="tradingmcp"'


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """``tokens`` None: no auth (every caller is :data:`~tradingmcp.transport.auth.ANONYMOUS`); ``allowed_hosts`` None:
    any Host; ``rate_limit`` disabled: no limit; ``open_paths``: paths answered without a token (``/health``...)."""

    tokens: TokenStore | None
    allowed_origins: frozenset[str]
    allowed_hosts: frozenset[str] | None
    rate_limit: RateLimit
    open_paths: frozenset[str] = frozenset({"/health", "/metrics"})


def json_error(
    status: int, code: int, message: str, data: object = None, headers: dict[str, str] | None = None
) -> web.Response:
    """An HTTP error whose body is a JSON-RPC error with a null id (the request was refused before it was read)."""
    return web.Response(
        status=status,
        body=jsonrpc.encode_error(None, code, message, data),
        content_type="application/json",
        headers=headers,
    )


class Guard:
    """The checks, as an aiohttp middleware (:meth:`middleware`), plus one token bucket per token name."""

    def __init__(self, settings: GuardSettings) -> None:
        self.settings = settings
        self.buckets: dict[str, TokenBucket] = {}

    def principal(self, request: web.Request) -> Principal | None:
        """The caller of ``request`` by its bearer token; None when auth is on and no valid token came."""
        tokens = self.settings.tokens
        if tokens is None:
            return ANONYMOUS
        return tokens.authenticate(presented_token(request.headers.get("Authorization"), ()))

    def take(self, principal: Principal) -> float:
        """One request of ``principal`` against its bucket: 0.0 (go) or the seconds to wait."""
        limit = self.settings.rate_limit
        if not limit.enabled:
            return 0.0
        bucket = self.buckets.get(principal.name)
        if bucket is None:
            bucket = self.buckets[principal.name] = TokenBucket(limit)
        return bucket.take()

    def screen(self, headers: Mapping[str, str], path: str) -> Principal | web.Response | None:
        """The checks of one request: its refusal (403, 401, 429), or its caller (None: an open path called without a
        valid token). A caller's request counts against its rate limit only when it passes."""
        caller = self.identify(headers, path)
        if caller is None or isinstance(caller, web.Response):
            return caller
        wait_s = self.charge(caller, path)
        if wait_s:
            ms = retry_after_ms(wait_s)
            return json_error(
                429,
                ErrorCode.TOO_MANY_REQUESTS,
                f"Request rate limit exceeded for {caller.name!r} ({self.settings.rate_limit.describe()}): "
                f"retry after {ms} ms",
                {"retry_after_ms": ms},
                {"Retry-After": str(max(1, math.ceil(ms / 1000)))},
            )
        return caller

    def identify(self, headers: Mapping[str, str], path: str) -> Principal | web.Response | None:
        """:meth:`screen` without the rate limit: the refusal (403, 401) or the caller (None: an open path called
        without a valid token). Changes nothing."""
        s = self.settings
        host = headers.get("Host")
        if not _host_allowed(host, s.allowed_hosts):
            return json_error(403, ErrorCode.INVALID_REQUEST, "Forbidden: Host not allowed (DNS-rebinding protection)")
        own = host if s.allowed_hosts is not None else None
        if not origin_allowed(headers.get("Origin"), s.allowed_origins, own):
            return json_error(403, ErrorCode.INVALID_REQUEST, "Forbidden: Origin not allowed")
        tokens = s.tokens
        principal = (
            ANONYMOUS if tokens is None else tokens.authenticate(presented_token(headers.get("Authorization"), ()))
        )
        if principal is None and path not in s.open_paths:
            return json_error(
                401,
                ErrorCode.INVALID_REQUEST,
                "Unauthorized: send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": WWW_AUTHENTICATE},
            )
        return principal

    def charge(self, principal: Principal, path: str) -> float:
        """One request of ``principal`` to ``path`` against its rate limit (open paths are free): 0.0 (go, the
        token taken) or the seconds to wait (nothing taken)."""
        return 0.0 if path in self.settings.open_paths else self.take(principal)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        verdict = self.screen(request.headers, request.path)
        if isinstance(verdict, web.Response):
            return verdict
        if verdict is not None:
            request[_PRINCIPAL] = verdict
        return await handler(request)


@functools.lru_cache(maxsize=256)
def _host_allowed(host: str | None, allowed_hosts: frozenset[str] | None) -> bool:
    """:func:`~tradingmcp.transport.auth.host_allowed`, remembered per ``Host`` value (clients repeat theirs)."""
    return host_allowed(host, allowed_hosts)


def principal_of(request: web.Request) -> Principal | None:
    """The authenticated caller of ``request`` (None on an open path called without a valid token)."""
    return request.get(_PRINCIPAL)


def require_scope(request: web.Request, scope: str) -> Principal:
    """The caller, when it holds ``scope``.

    Raises:
        web.HTTPUnauthorized: no valid token (401 with ``WWW-Authenticate``).
        web.HTTPForbidden: the token lacks ``scope`` (403).
    """
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPUnauthorized(
            headers={"WWW-Authenticate": WWW_AUTHENTICATE}, text="Unauthorized: send Authorization: Bearer <token>\n"
        )
    if not principal.can(scope):
        raise web.HTTPForbidden(
            text=orjson.dumps({"error": f"token {principal.name!r} lacks the {scope!r} scope"}).decode(),
            content_type="application/json",
        )
    return principal
