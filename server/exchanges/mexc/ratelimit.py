"""Client-side request weights for MEXC Spot (sans-I/O core + a tiny asyncio wait).

MEXC limits every endpoint independently: 500 weight per 10 s per IP (public) and per UID (signed), and answers
429 with ``Retry-After`` (seconds) when exceeded; ignoring 429s earns a 418 IP ban (2 min to 3 days).
API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/#limits

``EndpointLimiter`` keeps a sliding 10 s window of spent weight per endpoint so the client waits instead of drawing
a 429, and a "blocked until" time set from 429/418 ``Retry-After``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 10.0
"""MEXC's rate-limit window, seconds."""

LIMIT_PER_WINDOW = 500
"""MEXC's weight per endpoint per window."""

WEIGHTS: dict[str, int] = {
    "GET /api/v3/ping": 1,
    "GET /api/v3/time": 1,
    "GET /api/v3/exchangeInfo": 10,
    "GET /api/v3/depth": 1,
    "GET /api/v3/trades": 5,
    "GET /api/v3/aggTrades": 1,
    "GET /api/v3/klines": 1,
    "GET /api/v3/ticker/24hr": 1,
    "GET /api/v3/ticker/price": 1,
    "GET /api/v3/ticker/bookTicker": 1,
    "POST /api/v3/order": 1,
    "POST /api/v3/order/test": 1,
    "DELETE /api/v3/order": 1,
    "DELETE /api/v3/openOrders": 1,
    "GET /api/v3/order": 2,
    "GET /api/v3/openOrders": 3,
    "GET /api/v3/allOrders": 10,
    "GET /api/v3/myTrades": 10,
    "GET /api/v3/account": 10,
    "POST /api/v3/batchOrders": 1,
    "POST /api/v3/userDataStream": 1,
    "PUT /api/v3/userDataStream": 1,
    "DELETE /api/v3/userDataStream": 1,
}
"""Documented weight of each endpoint (``METHOD /path``); unknown endpoints weigh 1."""


@dataclass
class _Window:
    spent: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0


class EndpointLimiter:
    """Per-endpoint sliding-window weight accounting (sans-I/O: the caller passes the monotonic time in seconds).

    Args:
        limit: weight allowed per endpoint per window (MEXC: 500).
        window_s: window length in seconds (MEXC: 10).
    """

    def __init__(self, limit: int = LIMIT_PER_WINDOW, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self.blocked_until_s = 0.0
        self.banned = False
        self._windows: dict[str, _Window] = {}

    @staticmethod
    def weight(endpoint: str) -> int:
        """Documented weight of ``endpoint`` (``"GET /api/v3/depth"``)."""
        return WEIGHTS.get(endpoint, 1)

    def _trim(self, w: _Window, now_s: float) -> None:
        while w.spent and w.spent[0][0] <= now_s - self.window_s:
            w.total -= w.spent.popleft()[1]

    def delay_s(self, endpoint: str, now_s: float) -> float:
        """Seconds to wait before ``endpoint`` may be called (0 when it may go now)."""
        wait = max(0.0, self.blocked_until_s - now_s)
        w = self._windows.get(endpoint)
        if w is None:
            return wait
        self._trim(w, now_s)
        need = self.weight(endpoint)
        if w.total + need <= self.limit:
            return wait
        freed, at = 0, now_s
        for t, spent in w.spent:
            freed += spent
            at = t + self.window_s
            if w.total - freed + need <= self.limit:
                break
        return max(wait, at - now_s)

    def spend(self, endpoint: str, now_s: float) -> None:
        """Record one call of ``endpoint`` at ``now_s``."""
        w = self._windows.setdefault(endpoint, _Window())
        self._trim(w, now_s)
        need = self.weight(endpoint)
        w.spent.append((now_s, need))
        w.total += need

    def used(self, endpoint: str, now_s: float) -> int:
        """Weight spent on ``endpoint`` in the current window."""
        w = self._windows.get(endpoint)
        if w is None:
            return 0
        self._trim(w, now_s)
        return w.total

    def on_retry_after(self, retry_after_s: float, now_s: float, *, banned: bool) -> None:
        """A 429 (``banned`` False) or 418 (True) arrived: block every call for ``retry_after_s`` seconds."""
        self.blocked_until_s = max(self.blocked_until_s, now_s + retry_after_s)
        self.banned = self.banned or banned

    def clear_ban(self, now_s: float) -> None:
        """Forget an expired ban (called when ``now_s`` is past ``blocked_until_s``)."""
        if now_s >= self.blocked_until_s:
            self.banned = False

    def usage(self, now_s: float) -> list[tuple[str, int]]:
        """``(endpoint, weight spent in the current window)`` for every endpoint called, busiest first."""
        rows = [(endpoint, self.used(endpoint, now_s)) for endpoint in self._windows]
        return sorted(rows, key=lambda row: -row[1])
