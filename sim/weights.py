"""Request weights and rate limits, as Binance Spot enforces them (sans-I/O; the caller passes the clock).

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits and the per-endpoint weights of
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints (and trading/account pages):

- REQUEST_WEIGHT per IP in fixed 1-minute windows aligned to the clock minute, reported in ``X-MBX-USED-WEIGHT-1M``
  on every response (REST) and in ``rateLimits`` (WS API; both share the IP's budget). A request that takes the
  used weight over the limit is refused with HTTP 429, -1003, and ``Retry-After`` (s to the next window). Sending
  ``ban_after_429`` more requests while refused earns an HTTP 418 ban of ``ban_s`` seconds.
- ORDERS per account: 10-second and 1-day windows, reported in ``X-MBX-ORDER-COUNT-10S`` / ``-1D``; over the limit
  -1015 with HTTP 429.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradingmcp.sim.errors import BinanceError, ip_banned, too_many_orders, too_much_weight

__all__ = [
    "RateLimitConfig",
    "RateLimitedError",
    "RateLimiter",
    "depth_weight",
    "rest_weight",
    "ws_weight",
]

MINUTE_MS = 60_000
TEN_S_MS = 10_000
DAY_MS = 86_400_000


def depth_weight(limit: int) -> int:
    """Weight of ``depth`` for ``limit`` levels: 5 (≤100), 25 (≤500), 50 (≤1000), 250 (≤5000)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def _int(params: Mapping[str, Any], name: str, default: int) -> int:
    try:
        return int(str(params.get(name, default)))
    except ValueError:
        return default


def _symbols_weight(params: Mapping[str, Any], one: int, all_: int) -> int:
    return one if params.get("symbol") else all_


_FIXED_REST: dict[tuple[str, str], int] = {
    ("GET", "ping"): 1,
    ("GET", "time"): 1,
    ("GET", "exchangeInfo"): 20,
    ("GET", "trades"): 25,
    ("GET", "historicalTrades"): 25,
    ("GET", "aggTrades"): 4,
    ("GET", "klines"): 2,
    ("GET", "uiKlines"): 2,
    ("GET", "avgPrice"): 2,
    ("POST", "order"): 1,
    ("GET", "order"): 4,
    ("DELETE", "order"): 1,
    ("DELETE", "openOrders"): 1,
    ("GET", "allOrders"): 20,
    ("GET", "account"): 20,
    ("POST", "orderList/oco"): 1,
    ("DELETE", "orderList"): 1,
    ("GET", "orderList"): 4,
    ("POST", "order/cancelReplace"): 1,
}


def rest_weight(method: str, endpoint: str, params: Mapping[str, Any]) -> int:
    """Request weight of a REST call.

    Args:
        method: HTTP method (``GET``...).
        endpoint: path after ``/api/v3/`` (``"depth"``, ``"ticker/24hr"``, ``"order/test"``...).
        params: the request params (symbol/limit/orderId change some weights).
    """
    fixed = _FIXED_REST.get((method, endpoint))
    if fixed is not None:
        return fixed
    if endpoint == "depth":
        return depth_weight(_int(params, "limit", 100))
    if endpoint == "ticker/24hr":
        return _symbols_weight(params, 2, 80)
    if endpoint in ("ticker/price", "ticker/bookTicker"):
        return _symbols_weight(params, 2, 4)
    if endpoint == "order/test":
        return 20 if str(params.get("computeCommissionRates", "")).lower() == "true" else 1
    if endpoint == "openOrders":
        return _symbols_weight(params, 6, 80)
    if endpoint == "myTrades":
        return 5 if params.get("orderId") else 20
    return 1


_FIXED_WS: dict[str, int] = {
    "ping": 1,
    "time": 1,
    "exchangeInfo": 20,
    "order.place": 1,
    "order.status": 4,
    "order.cancel": 1,
    "order.cancelReplace": 1,
    "orderList.place.oco": 1,
    "openOrders.cancelAll": 1,
    "account.status": 20,
    "allOrders": 20,
    "trades.recent": 25,
    "klines": 2,
    "avgPrice": 2,
    "userDataStream.subscribe.signature": 2,
    "userDataStream.unsubscribe": 2,
    "session.subscriptions": 2,
}


def ws_weight(method: str, params: Mapping[str, Any]) -> int:
    """Request weight of a WS API method (same table as REST; see ``rest_weight``)."""
    fixed = _FIXED_WS.get(method)
    if fixed is not None:
        return fixed
    if method == "depth":
        return depth_weight(_int(params, "limit", 100))
    if method == "order.test":
        return 20 if params.get("computeCommissionRates") in (True, "true") else 1
    if method == "openOrders.status":
        return _symbols_weight(params, 6, 80)
    if method == "myTrades":
        return 5 if params.get("orderId") else 20
    if method in ("ticker.price", "ticker.book"):
        return _symbols_weight(params, 2, 4)
    if method == "ticker.24hr":
        return _symbols_weight(params, 2, 80)
    return 1


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Limits (Binance Spot's documented defaults; lower them in tests to hit a limit quickly).

    Attributes:
        weight_limit_1m: REQUEST_WEIGHT per IP per minute.
        orders_limit_10s: ORDERS per account per 10 s.
        orders_limit_1d: ORDERS per account per day.
        ban_after_429: requests still sent while refused with 429 before an IP ban (418).
        ban_s: length of a 418 ban (s).
    """

    weight_limit_1m: int = 6000
    orders_limit_10s: int = 100
    orders_limit_1d: int = 200_000
    ban_after_429: int = 5
    ban_s: float = 120.0


class RateLimitedError(BinanceError):
    """A 429/418 refusal; ``retry_after_s`` goes in the ``Retry-After`` header, ``until_ms`` in WS ``retryAfter``."""

    def __init__(self, base: BinanceError, retry_after_s: int, until_ms: int) -> None:
        super().__init__(base.code, base.msg, base.http_status)
        self.retry_after_s = retry_after_s
        self.until_ms = until_ms


@dataclass(slots=True)
class _IpState:
    window_start_ms: int = 0
    used: int = 0
    refused: int = 0
    banned_until_ms: int = 0


@dataclass(slots=True)
class _OrderState:
    window_10s_ms: int = 0
    count_10s: int = 0
    window_1d_ms: int = 0
    count_1d: int = 0


@dataclass(slots=True)
class RateLimiter:
    """Per-IP request weight and per-account order counters (fixed windows aligned to the epoch)."""

    config: RateLimitConfig = field(default_factory=RateLimitConfig)
    _ips: dict[str, _IpState] = field(default_factory=dict)
    _orders: dict[str, _OrderState] = field(default_factory=dict)

    def _ip(self, ip: str, now_ms: int) -> _IpState:
        state = self._ips.get(ip)
        if state is None:
            state = self._ips[ip] = _IpState()
        start = now_ms - now_ms % MINUTE_MS
        if state.window_start_ms != start:
            state.window_start_ms, state.used, state.refused = start, 0, 0
        return state

    def used_weight(self, ip: str, now_ms: int) -> int:
        """Weight used by ``ip`` in the current minute."""
        return self._ip(ip, now_ms).used

    def charge(self, ip: str, weight: int, now_ms: int) -> int:
        """Add ``weight`` to ``ip``'s minute and return the used weight.

        Raises:
            RateLimitedError: HTTP 418 while banned; HTTP 429 (-1003) when the minute's weight is over the limit.
        """
        state = self._ip(ip, now_ms)
        if state.banned_until_ms > now_ms:
            retry = -(-(state.banned_until_ms - now_ms) // 1000)
            raise RateLimitedError(ip_banned(state.banned_until_ms), retry, state.banned_until_ms)
        state.used += weight
        if state.used <= self.config.weight_limit_1m:
            return state.used
        state.refused += 1
        if state.refused > self.config.ban_after_429:
            state.banned_until_ms = now_ms + int(self.config.ban_s * 1000)
            retry = -(-(state.banned_until_ms - now_ms) // 1000)
            raise RateLimitedError(ip_banned(state.banned_until_ms), retry, state.banned_until_ms)
        reset_ms = state.window_start_ms + MINUTE_MS
        retry = max(1, -(-(reset_ms - now_ms) // 1000))
        raise RateLimitedError(too_much_weight(self.config.weight_limit_1m, "1m"), retry, reset_ms)

    def _order_state(self, api_key: str, now_ms: int) -> _OrderState:
        state = self._orders.get(api_key)
        if state is None:
            state = self._orders[api_key] = _OrderState()
        w10 = now_ms - now_ms % TEN_S_MS
        if state.window_10s_ms != w10:
            state.window_10s_ms, state.count_10s = w10, 0
        w1d = now_ms - now_ms % DAY_MS
        if state.window_1d_ms != w1d:
            state.window_1d_ms, state.count_1d = w1d, 0
        return state

    def order_counts(self, api_key: str, now_ms: int) -> tuple[int, int]:
        """``(orders in the current 10 s, orders today)`` for ``api_key``."""
        state = self._order_state(api_key, now_ms)
        return state.count_10s, state.count_1d

    def count_order(self, api_key: str, now_ms: int) -> tuple[int, int]:
        """Count one new order for ``api_key``; returns the counts after it.

        Raises:
            RateLimitedError: -1015 with HTTP 429 over the 10 s or 1 day limit.
        """
        state = self._order_state(api_key, now_ms)
        state.count_10s += 1
        state.count_1d += 1
        if state.count_10s > self.config.orders_limit_10s:
            reset = state.window_10s_ms + TEN_S_MS
            err = too_many_orders(self.config.orders_limit_10s, "10s")
            raise RateLimitedError(err, max(1, -(-(reset - now_ms) // 1000)), reset)
        if state.count_1d > self.config.orders_limit_1d:
            reset = state.window_1d_ms + DAY_MS
            err = too_many_orders(self.config.orders_limit_1d, "1d")
            raise RateLimitedError(err, max(1, -(-(reset - now_ms) // 1000)), reset)
        return state.count_10s, state.count_1d

    def rate_limits(self, ip: str, api_key: str | None, now_ms: int) -> list[dict[str, Any]]:
        """The WS API ``rateLimits`` array: REQUEST_WEIGHT, plus ORDERS counts when ``api_key`` is given."""
        out: list[dict[str, Any]] = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.config.weight_limit_1m,
                "count": self.used_weight(ip, now_ms),
            }
        ]
        if api_key is not None:
            c10, c1d = self.order_counts(api_key, now_ms)
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": self.config.orders_limit_10s,
                    "count": c10,
                }
            )
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "DAY",
                    "intervalNum": 1,
                    "limit": self.config.orders_limit_1d,
                    "count": c1d,
                }
            )
        return out
