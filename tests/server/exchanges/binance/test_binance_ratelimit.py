"""Rate limiter: windows from the real exchangeInfo, header sync, 429/418, and the asyncio queue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tradingmcp.server.exchanges.binance.ratelimit import RateLimitCore, RateLimiter
from tradingmcp.server.exchanges.errors import IpBanned, RateLimited

T0 = 1_723_161_240_000  # a whole minute (ms)


def test_windows_from_exchange_info(exchange_info_body: dict[str, Any]) -> None:
    core = RateLimitCore(exchange_info_body["rateLimits"], safety_fraction=1.0)
    usage = {(u.kind, u.interval_s): u for u in core.usage(T0)}
    assert usage[("REQUEST_WEIGHT", 60)].limit == 6000
    assert usage[("ORDERS", 10)].limit == 100 and usage[("ORDERS", 86400)].limit == 200000
    assert usage[("RAW_REQUESTS", 300)].limit == 61000


def test_weight_window_waits_until_next_minute() -> None:
    core = RateLimitCore(safety_fraction=1.0)
    core.consume(5990, False, T0 + 1_000)
    assert core.delay_ms(10, False, T0 + 2_000) == 0
    assert core.delay_ms(11, False, T0 + 2_000) == 58_000  # until the minute rolls
    assert core.delay_ms(11, False, T0 + 60_000) == 0  # new minute, weight reset
    with pytest.raises(ValueError, match="exceeds"):
        core.delay_ms(6001, False, T0)


def test_order_window_and_headers() -> None:
    core = RateLimitCore(safety_fraction=1.0)
    core.update_from_headers({"X-MBX-USED-WEIGHT-1M": "120", "X-MBX-ORDER-COUNT-10S": "100"}, T0 + 5)
    usage = {(u.kind, u.interval_s): u.used for u in core.usage(T0 + 5)}
    assert usage[("REQUEST_WEIGHT", 60)] == 120 and usage[("ORDERS", 10)] == 100
    assert core.delay_ms(1, False, T0 + 5) == 0  # not an order: the order window does not apply
    assert core.delay_ms(1, True, T0 + 5) == 9_995  # the 10 s order window is full


def test_429_and_418_block() -> None:
    core = RateLimitCore()
    core.on_too_many_requests(7, T0)
    assert core.delay_ms(1, False, T0 + 1_000) == 6_000
    core.on_ip_ban(300, T0)
    assert core.banned_until_ms == T0 + 300_000 and core.delay_ms(1, False, T0) == 300_000
    assert core.delay_ms(1, False, T0 + 300_000) == 0 and core.banned_until_ms is None


async def test_acquire_queues_then_proceeds() -> None:
    now = [T0]
    limiter = RateLimiter(RateLimitCore(safety_fraction=1.0), max_wait_s=1.0, clock_ms=lambda: now[0])
    limiter.core.consume(6000, False, T0 + 59_950)
    now[0] = T0 + 59_950

    async def advance() -> None:
        await asyncio.sleep(0.01)
        now[0] = T0 + 60_000

    async with asyncio.timeout(2):
        await asyncio.gather(limiter.acquire(5), advance())
    assert limiter.waited_ms >= 50
    assert limiter.usage()[0].used == 5


async def test_acquire_raises_beyond_wait_budget() -> None:
    limiter = RateLimiter(RateLimitCore(), max_wait_s=0.5, clock_ms=lambda: T0)
    limiter.on_too_many_requests(30)
    with pytest.raises(RateLimited) as info:
        await limiter.acquire(1)
    assert info.value.retry_after_s == 30 and not isinstance(info.value, IpBanned)
    limiter.on_ip_ban(600)
    with pytest.raises(IpBanned) as banned:
        await limiter.acquire(1)
    assert banned.value.banned_until_ms == T0 + 600_000
