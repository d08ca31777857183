"""Bybit rate limits read from the response headers (sans-I/O).

Bybit limits each endpoint per UID per second and tells the client where it stands on every answer
(https://bybit-exchange.github.io/docs/v5/rate-limit): ``X-Bapi-Limit-Status`` (requests left), ``X-Bapi-Limit``
(the limit) and ``X-Bapi-Limit-Reset-Timestamp`` (ms; when an exhausted limit frees up). Over it, Bybit answers
retCode 10006 "Too many visits!"; an IP over 600 requests per 5 s gets HTTP 403 for at least 10 minutes.

:class:`HeaderLimiter` keeps the last headers per endpoint so the client waits (until the reset time) instead of
drawing a 10006 when an endpoint has no requests left, and a "blocked until" time after a 10006 or a 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EndpointLimit:
    """What the last answer of one endpoint said: ``remaining`` of ``limit``; ``reset_ms`` when it frees up."""

    remaining: int
    limit: int
    reset_ms: int


class HeaderLimiter:
    """Per-endpoint limits from the ``X-Bapi-Limit-*`` headers (times: epoch ms, passed in by the caller)."""

    def __init__(self) -> None:
        self.endpoints: dict[str, EndpointLimit] = {}
        self.blocked_until_ms = 0
        self.banned = False

    def on_headers(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """Record an answer's limit headers (ignored when absent, as on public endpoints)."""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            remaining = int(lower["x-bapi-limit-status"])
            limit = int(lower["x-bapi-limit"])
            reset = int(lower.get("x-bapi-limit-reset-timestamp") or 0)
        except (KeyError, ValueError):
            return
        self.endpoints[endpoint] = EndpointLimit(remaining, limit, reset)

    def on_limited(self, until_ms: int, *, banned: bool = False) -> None:
        """A 10006 (``banned`` False) or an IP ban (True): block every call until ``until_ms``."""
        self.blocked_until_ms = max(self.blocked_until_ms, until_ms)
        self.banned = self.banned or banned

    def delay_ms(self, endpoint: str, now_ms: int) -> int:
        """How long to wait before calling ``endpoint`` (0: go now)."""
        if now_ms >= self.blocked_until_ms:
            self.banned = False
        wait = max(0, self.blocked_until_ms - now_ms)
        state = self.endpoints.get(endpoint)
        if state is not None and state.remaining <= 0 and state.reset_ms > now_ms:
            wait = max(wait, state.reset_ms - now_ms)
        return wait
