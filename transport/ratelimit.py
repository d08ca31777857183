"""A token bucket for request-rate limits (sans-I/O: the clock is injected, nothing sleeps or schedules).

The bucket holds up to ``burst`` tokens and refills at ``per_s`` tokens a second; each request takes one. A request
that finds less than one token is refused and takes nothing: :meth:`TokenBucket.take` returns how long until a token
is there, so a client that waits that long is served, and a client that keeps sending while refused is still served
at ``per_s`` on average.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
"""Seconds on a monotonic clock (``time.monotonic`` by default)."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``per_s`` requests a second sustained, ``burst`` at once (a full bucket). ``per_s`` 0 means no limit.

    Raises:
        ValueError: a negative or non-finite rate, or a burst below 1 with a rate set.
    """

    per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not math.isfinite(self.per_s) or self.per_s < 0:
            raise ValueError(f"rate must be a finite number of requests per second >= 0, got {self.per_s}")
        if self.per_s > 0 and self.burst < 1:
            raise ValueError(f"burst must be at least 1 request, got {self.burst}")

    @property
    def enabled(self) -> bool:
        return self.per_s > 0

    def describe(self) -> str:
        """``1000 requests/s, burst 2000`` (for messages and banners)."""
        return f"{self.per_s:g} requests/s, burst {self.burst}" if self.enabled else "no request-rate limit"


_ONE_TOKEN = 1.0 - 1e-9
"""One token, less float rounding: a client that waited exactly the time it was told is served."""

NO_LIMIT = RateLimit(0.0, 0)
"""A :class:`RateLimit` that limits nothing."""


class TokenBucket:
    """One client's bucket for ``limit`` (enabled), full at creation. ``take()`` → 0.0 (go) or seconds to wait."""

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "per_s")

    def __init__(self, limit: RateLimit, clock: Clock = time.monotonic) -> None:
        if not limit.enabled:
            raise ValueError("a token bucket needs a rate above 0")
        self.per_s = limit.per_s
        self.burst = float(limit.burst)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def take(self) -> float:
        """Take one token. Returns 0.0 when the request may go, else the seconds until one token is there (the
        refused request took nothing)."""
        now = self._clock()
        tokens = self._tokens + (now - self._stamp) * self.per_s
        tokens = min(tokens, self.burst)
        self._stamp = now
        if tokens >= _ONE_TOKEN:
            self._tokens = tokens - 1.0
            return 0.0
        self._tokens = tokens
        return (1.0 - tokens) / self.per_s

    @property
    def tokens(self) -> float:
        """Tokens there now (fractional)."""
        return min(self.burst, self._tokens + (self._clock() - self._stamp) * self.per_s)


def retry_after_ms(wait_s: float) -> int:
    """``wait_s`` as whole milliseconds, rounded up (never 0 for a refused request)."""
    return max(1, math.ceil(wait_s * 1000))
