"""The TTL cache with single flight in front of the venues' REST reads (on an event loop, with a clock the test
moves; the fetches are plain coroutines: nothing here is our own code path stubbed out)."""

from __future__ import annotations

import asyncio

import pytest

from tradingmcp.server.exchanges.errors import ExchangeUnavailable, InvalidSymbol
from tradingmcp.server.market.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


async def test_ttl_single_flight_and_counters() -> None:
    clock = Clock()
    cache = TtlCache(clock)
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    key = ("binance", "book", "BTCUSDT")
    reads = await asyncio.gather(*(cache.get(key, 1000, fetch) for _ in range(50)))
    assert calls == 1 and {r.value for r in reads} == {1}  # 50 concurrent misses share one request
    assert [r.cached for r in reads].count(False) == 1
    clock.now = 999
    read = await cache.get(key, 1000, fetch)
    assert (read.value, read.age_ms, read.cached, calls) == (1, 999, True, 1)
    clock.now = 1000  # expired
    read = await cache.get(key, 1000, fetch)
    assert (read.value, read.cached, calls) == (2, False, 2)
    assert cache.hits[("binance", "book")] == 50 and cache.misses[("binance", "book")] == 2
    other = await cache.get(("binance", "book", "ETHUSDT"), 1000, fetch)  # another key: its own entry
    assert other.value == 3 and cache.misses[("binance", "book")] == 3


async def test_lasting_errors_are_kept_others_are_not() -> None:
    clock = Clock()
    cache = TtlCache(clock)
    calls = 0

    async def unknown() -> int:
        nonlocal calls
        calls += 1
        raise InvalidSymbol("unknown symbol", exchange="binance", code=-1121)

    async def down() -> int:
        nonlocal calls
        calls += 1
        raise ExchangeUnavailable("down", exchange="binance")

    for _ in range(3):
        with pytest.raises(InvalidSymbol):
            await cache.get(("binance", "ticker", "NOPEUSDT"), 1000, unknown, (InvalidSymbol,))
    assert calls == 1  # the exchange's "no such symbol" answers again until the TTL ends
    clock.now = 1000
    with pytest.raises(InvalidSymbol):
        await cache.get(("binance", "ticker", "NOPEUSDT"), 1000, unknown, (InvalidSymbol,))
    assert calls == 2
    for _ in range(3):
        with pytest.raises(ExchangeUnavailable):
            await cache.get(("binance", "ticker", "BTCUSDT"), 1000, down, (InvalidSymbol,))
    assert calls == 5  # an outage is never kept


async def test_a_cancelled_caller_does_not_cancel_the_fetch_others_wait_for() -> None:
    cache = TtlCache(Clock())
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "book"

    key = ("binance", "book", "BTCUSDT")
    first = asyncio.ensure_future(cache.get(key, 1000, fetch))
    second = asyncio.ensure_future(cache.get(key, 1000, fetch))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert (await second).value == "book"
    assert first.cancelled()
    assert (await cache.get(key, 1000, fetch)).cached  # the fetch finished and was kept


async def test_entries_are_bounded_oldest_first() -> None:
    cache = TtlCache(Clock(), max_entries=3)

    async def fetch() -> int:
        return 1

    for i in range(5):
        await cache.get(("binance", "klines", i), 1000, fetch)
    assert len(cache) == 3
    await cache.get(("binance", "klines", 4), 1000, fetch)
    await cache.get(("binance", "klines", 0), 1000, fetch)  # evicted: fetched again
    assert cache.misses[("binance", "klines")] == 6


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        TtlCache(max_entries=0)
