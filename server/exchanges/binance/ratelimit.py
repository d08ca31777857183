"""Weight-aware rate limiter for Binance Spot: a sans-I/O core (``RateLimitCore``) and an asyncio shell
(``RateLimiter``) that queues callers instead of failing.

Follows "LIMITS" (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits):

* exchangeInfo ``rateLimits`` give fixed windows: REQUEST_WEIGHT per 1 minute, ORDERS per 10 seconds and per day,
  RAW_REQUESTS per 5 minutes. Windows are aligned on the clock (a new minute resets the minute's weight).
* every response carries ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-10S``/``-1D``: the exchange's own count
  replaces ours (it also sees other clients on the same IP/account).
* 429 comes with ``Retry-After`` (seconds): nothing is sent before then. 418 is an IP ban (2 min to 3 days): nothing is
  sent until it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tradingmcp.server.exchanges.errors import IpBanned, RateLimited
from tradingmcp.server.exchanges.models import RateLimitUsage

INTERVAL_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
"""exchangeInfo ``interval`` → milliseconds."""

DEFAULT_RATE_LIMITS: tuple[dict[str, Any], ...] = (
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
)
"""Binance's documented Spot limits, used until exchangeInfo is loaded."""


@dataclass(slots=True)
class _Window:
    kind: str
    interval_ms: int
    limit: int
    header_suffix: str = ""
    """``1M``, ``10S``, ``1D``: the tail of the matching ``X-MBX-...`` header."""
    used: int = 0
    start_ms: int = 0

    def roll(self, now_ms: int) -> None:
        start = now_ms - now_ms % self.interval_ms
        if start != self.start_ms:
            self.start_ms, self.used = start, 0

    def cost(self, weight: int, is_order: bool) -> int:
        if self.kind == "REQUEST_WEIGHT":
            return weight
        if self.kind == "ORDERS":
            return 1 if is_order else 0
        return 1  # RAW_REQUESTS


class RateLimitCore:
    """Sans-I/O accounting of Binance's fixed windows; every method takes the current time in ms.

    Args:
        rate_limits: exchangeInfo ``rateLimits`` entries (``rateLimitType``, ``interval``, ``intervalNum``, ``limit``).
        safety_fraction: share of each limit we allow ourselves (0.9 keeps 10 % for clock skew and other clients).
    """

    def __init__(self, rate_limits: Iterable[Mapping[str, Any]] = DEFAULT_RATE_LIMITS, safety_fraction: float = 0.9):
        self.safety_fraction = safety_fraction
        self.windows: list[_Window] = []
        self.blocked_until_ms = 0
        """No request before this time (429 Retry-After or 418 ban end)."""
        self.banned_until_ms: int | None = None
        """Set while a 418 ban lasts."""
        self.configure(rate_limits)

    def configure(self, rate_limits: Iterable[Mapping[str, Any]]) -> None:
        """(Re)build the windows from exchangeInfo ``rateLimits``, keeping counts of windows that stay."""
        old = {(w.kind, w.interval_ms): w for w in self.windows}
        windows = []
        for entry in rate_limits:
            interval_ms = INTERVAL_MS[str(entry["interval"])] * int(entry.get("intervalNum", 1))
            key = (str(entry["rateLimitType"]), interval_ms)
            suffix = f"{int(entry.get('intervalNum', 1))}{str(entry['interval'])[0]}"
            window = old.get(key) or _Window(key[0], interval_ms, int(entry["limit"]), suffix)
            window.limit = int(entry["limit"])
            windows.append(window)
        self.windows = windows

    def _allowance(self, window: _Window) -> int:
        return max(1, int(window.limit * self.safety_fraction))

    def delay_ms(self, weight: int, is_order: bool, now_ms: int) -> int:
        """How long (ms) a request of ``weight`` must wait before it fits every window; 0 = send now.

        Raises:
            ValueError: ``weight`` exceeds a whole window's allowance (it could never be sent).
        """
        wait = max(0, self.blocked_until_ms - now_ms)
        if self.banned_until_ms is not None and now_ms >= self.banned_until_ms:
            self.banned_until_ms = None
        for window in self.windows:
            window.roll(now_ms)
            cost = window.cost(weight, is_order)
            if not cost:
                continue
            allowance = self._allowance(window)
            if cost > allowance:
                raise ValueError(f"request weight {cost} exceeds the {window.kind} allowance {allowance}")
            if window.used + cost > allowance:
                wait = max(wait, window.start_ms + window.interval_ms - now_ms)
        return wait

    def consume(self, weight: int, is_order: bool, now_ms: int) -> None:
        """Count a request that is being sent now."""
        for window in self.windows:
            window.roll(now_ms)
            window.used += window.cost(weight, is_order)

    def update_from_headers(self, headers: Mapping[str, str], now_ms: int) -> None:
        """Adopt the exchange's counts from ``X-MBX-USED-WEIGHT-<n><u>`` / ``X-MBX-ORDER-COUNT-<n><u>`` headers."""
        lower = {k.lower(): v for k, v in headers.items()}
        for window in self.windows:
            prefix = {"REQUEST_WEIGHT": "x-mbx-used-weight-", "ORDERS": "x-mbx-order-count-"}.get(window.kind)
            if prefix is None:
                continue
            value = lower.get(prefix + window.header_suffix.lower())
            if value is not None and value.isdigit():
                window.roll(now_ms)
                window.used = int(value)

    def on_too_many_requests(self, retry_after_s: float | None, now_ms: int) -> int:
        """A 429 (or -1003/-1015): block until ``Retry-After`` (default: the end of the current minute).

        Returns:
            The time (ms) until which nothing is sent.
        """
        next_minute = now_ms - now_ms % 60_000 + 60_000
        until = next_minute if retry_after_s is None else now_ms + int(retry_after_s * 1000)
        self.blocked_until_ms = max(self.blocked_until_ms, until)
        return self.blocked_until_ms

    def on_ip_ban(self, retry_after_s: float | None, now_ms: int) -> int:
        """A 418: the IP is banned for ``Retry-After`` seconds (default 2 minutes, Binance's shortest ban)."""
        until = now_ms + int((retry_after_s if retry_after_s is not None else 120) * 1000)
        self.blocked_until_ms = max(self.blocked_until_ms, until)
        self.banned_until_ms = self.blocked_until_ms
        return self.blocked_until_ms

    def usage(self, now_ms: int) -> tuple[RateLimitUsage, ...]:
        """Headroom of every window (used / the exchange's limit) for ``get_server_status``."""
        out = []
        for window in self.windows:
            window.roll(now_ms)
            out.append(RateLimitUsage(window.kind, window.interval_ms // 1000, window.used, window.limit))
        return tuple(out)


def wall_clock_ms() -> int:
    """Local wall-clock time in ms (windows are aligned on the exchange's minute, so a wall clock)."""
    return time.time_ns() // 1_000_000


class RateLimiter:
    """asyncio shell over :class:`RateLimitCore`: ``await acquire(weight, is_order)`` waits its turn (FIFO).

    Args:
        core: the accounting core.
        max_wait_s: longest wait accepted; a longer one raises instead (RateLimited, or IpBanned during a ban).
        clock_ms: time source in ms (the adapter passes local time + server offset).
    """

    def __init__(
        self,
        core: RateLimitCore | None = None,
        max_wait_s: float = 60.0,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.core = core or RateLimitCore()
        self.max_wait_s = max_wait_s
        self.clock_ms = clock_ms
        self._lock = asyncio.Lock()
        self.waited_ms = 0
        """Total time callers spent queued (for metrics)."""

    async def acquire(self, weight: int = 1, is_order: bool = False, max_wait_s: float | None = None) -> None:
        """Wait until a request of ``weight`` (and one order when ``is_order``) fits, then count it.

        Raises:
            IpBanned: during a 418 ban that outlasts ``max_wait_s``.
            RateLimited: when the wait would exceed ``max_wait_s``.
        """
        limit_ms = int((self.max_wait_s if max_wait_s is None else max_wait_s) * 1000)
        async with self._lock:
            while True:
                now = self.clock_ms()
                delay = self.core.delay_ms(weight, is_order, now)
                if delay <= 0:
                    self.core.consume(weight, is_order, now)
                    return
                if delay > limit_ms:
                    banned = self.core.banned_until_ms
                    if banned is not None and banned > now:
                        raise IpBanned(
                            f"IP banned by the exchange (HTTP 418) for {delay / 1000:.0f} s more; no request is "
                            "sent until the ban ends",
                            exchange="binance",
                            status=418,
                            banned_until_ms=banned,
                            retry_after_s=delay / 1000,
                        )
                    raise RateLimited(
                        f"rate limit reached: next slot in {delay / 1000:.1f} s (over the {limit_ms / 1000:.0f} s "
                        "wait budget); retry later or send fewer/lighter requests",
                        exchange="binance",
                        retry_after_s=delay / 1000,
                    )
                self.waited_ms += delay
                await asyncio.sleep(delay / 1000)

    def update_from_headers(self, headers: Mapping[str, str]) -> None:
        """Feed a response's headers (see :meth:`RateLimitCore.update_from_headers`)."""
        self.core.update_from_headers(headers, self.clock_ms())

    def on_too_many_requests(self, retry_after_s: float | None) -> None:
        """Record a 429 (see :meth:`RateLimitCore.on_too_many_requests`)."""
        self.core.on_too_many_requests(retry_after_s, self.clock_ms())

    def on_ip_ban(self, retry_after_s: float | None) -> None:
        """Record a 418 (see :meth:`RateLimitCore.on_ip_ban`)."""
        self.core.on_ip_ban(retry_after_s, self.clock_ms())

    def usage(self) -> tuple[RateLimitUsage, ...]:
        """Current headroom of every window."""
        return self.core.usage(self.clock_ms())
