"""Two-step confirmation of large orders: ``preview_order`` issues a token, ``place_order`` redeems it (sans-I/O).

A token is random (``secrets.token_urlsafe``), short-lived (``ttl_s``), single-use, and bound to the principal (the
token name of the caller), the venue and the exact order parameters (:func:`orders.fingerprint`; the client order id
is not part of it). Redeeming one with anything else is refused with code ``confirmation_required`` and a
``reason`` (``missing``, ``unknown``, ``expired``, ``used``, ``mismatch``).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from tradingmcp.server.mcp.registry import ToolError


@dataclass(frozen=True, slots=True)
class _Grant:
    principal: str
    venue: str
    fingerprint: str
    expires_at_s: float


class ConfirmationError(ToolError):
    """``confirmation_required``: the order needs a valid token from ``preview_order``; ``reason`` says why not."""

    def __init__(self, message: str, reason: str, **details: object) -> None:
        super().__init__(message, "confirmation_required", {"reason": reason, **details})


class ConfirmationBook:
    """Issued, not yet redeemed tokens (at most ``max_tokens``; the oldest are dropped first).

    Args:
        ttl_s: token lifetime (s).
        clock_s: monotonic clock (s), injectable for tests.
    """

    def __init__(self, ttl_s: float, max_tokens: int = 10_000, clock_s: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_tokens = max_tokens
        self._clock = clock_s
        self._grants: OrderedDict[str, _Grant] = OrderedDict()
        self._used: OrderedDict[str, float] = OrderedDict()

    def issue(self, principal: str, venue: str, fingerprint: str) -> str:
        """A new token for this principal, venue and order fingerprint."""
        self._expire()
        token = "conf-" + secrets.token_urlsafe(18)
        self._grants[token] = _Grant(principal, venue, fingerprint, self._clock() + self.ttl_s)
        while len(self._grants) > self.max_tokens:
            self._grants.popitem(last=False)
        return token

    def redeem(self, token: str | None, principal: str, venue: str, fingerprint: str, what: str) -> None:
        """Consume ``token`` for this exact order; ``what`` describes why confirmation is needed (for messages).

        Raises:
            ConfirmationError: missing, unknown, expired, already used or issued for other parameters.
        """
        hint = "call preview_order with the same parameters and pass its confirmation_token"
        if not token:
            raise ConfirmationError(f"{what}: this order needs confirmation; {hint}", "missing")
        if token in self._used:
            raise ConfirmationError(f"confirmation token already used (tokens are single-use); {hint}", "used")
        grant = self._grants.get(token)
        if grant is None:
            raise ConfirmationError(f"unknown or expired confirmation token; {hint}", "unknown")
        if grant.expires_at_s <= self._clock():
            del self._grants[token]
            raise ConfirmationError(f"confirmation token expired (valid {self.ttl_s:g} s); {hint}", "expired")
        if (grant.principal, grant.venue, grant.fingerprint) != (principal, venue, fingerprint):
            raise ConfirmationError(
                f"confirmation token was issued for different order parameters (or another caller); {hint}",
                "mismatch",
            )
        del self._grants[token]
        self._used[token] = grant.expires_at_s
        self._expire()

    def _expire(self) -> None:
        now = self._clock()
        for book in (self._grants, self._used):
            stale = [t for t, v in book.items() if (v.expires_at_s if isinstance(v, _Grant) else v) <= now]
            for t in stale:
                del book[t]
        while len(self._used) > self.max_tokens:
            self._used.popitem(last=False)
