"""A venue's ticker cache (sans-I/O) on an injected clock: freshness, explicit arrival times, gaps, wanted symbols."""

from __future__ import annotations

from decimal import Decimal

from tradingmcp.server.exchanges.models import StreamStatus, Ticker
from tradingmcp.server.live.tickers import TICKER_MAX_AGE_MS, TickerCache

MS = 1_000_000  # ns


class Clock:
    """A monotonic ns clock the test moves."""

    def __init__(self, now_ns: int = 10_000 * MS) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance_ms(self, ms: int) -> None:
        self.now_ns += ms * MS


def ticker(symbol: str = "BTCUSDT", bid: str = "61000", ask: str = "61000.01") -> Ticker:
    return Ticker(symbol, Decimal(0), Decimal(bid), Decimal("1"), Decimal(ask), Decimal("2"))


def test_a_quote_is_trusted_for_max_age_then_stale() -> None:
    clock = Clock()
    cache = TickerCache(clock)
    assert cache.get("BTCUSDT") is None  # never streamed
    t = ticker()
    cache.put(t)
    assert cache.get("BTCUSDT") is t and cache.get("btcusdt") is t  # symbols are case-insensitive
    clock.advance_ms(TICKER_MAX_AGE_MS)
    assert cache.get("BTCUSDT") is t  # exactly max age: still trusted
    clock.advance_ms(1)
    assert cache.get("BTCUSDT") is None  # older: ask REST instead
    assert cache.get("BTCUSDT", max_age_ms=TICKER_MAX_AGE_MS + 1) is t  # a caller's own bound
    newer = ticker(bid="61001")
    cache.put(newer)
    assert cache.get("BTCUSDT") is newer and cache.get("ETHUSDT") is None


def test_an_injected_arrival_time_is_used_instead_of_the_clock() -> None:
    clock = Clock()
    cache = TickerCache(clock)
    cache.put(ticker(), at_ns=clock.now_ns - (TICKER_MAX_AGE_MS + 1) * MS)  # arrived before the bound
    assert cache.get("BTCUSDT") is None and cache.get("BTCUSDT", max_age_ms=5_000) is not None
    cache.put(ticker("ETHUSDT"), at_ns=clock.now_ns - 10 * MS)
    assert cache.get("ETHUSDT", max_age_ms=10) is not None and cache.get("ETHUSDT", max_age_ms=9) is None


def test_a_stream_gap_clears_every_quote() -> None:
    cache = TickerCache(Clock())
    for state in ("reconnecting", "overflow"):
        cache.put(ticker())
        cache.put(ticker("ETHUSDT", "2600", "2600.01"))
        cache.on_status(StreamStatus(state, "lost", None))
        assert cache.get("BTCUSDT") is None and cache.get("ETHUSDT") is None, state
    cache.put(ticker())
    for state in ("connected", "resynced", "book_gap"):  # no market event was lost: quotes stay
        cache.on_status(StreamStatus(state, "", "BTCUSDT"))
        assert cache.get("BTCUSDT") is not None, state
    cache.clear()
    assert cache.get("BTCUSDT") is None


def test_wanted_symbols_are_announced_once_each() -> None:
    cache = TickerCache(Clock())
    cache.want("BTCUSDT")  # before any listener: recorded
    heard: list[str] = []
    remove = cache.add_listener(heard.append)
    cache.want("ethusdt")
    cache.want("ETHUSDT")
    cache.want("BTCUSDT")
    assert heard == ["ETHUSDT"] and cache.wanted == {"BTCUSDT", "ETHUSDT"}
    cache.put(ticker())
    cache.clear()  # forgetting quotes does not forget what the venue trades
    assert cache.wanted == {"BTCUSDT", "ETHUSDT"}
    remove()
    cache.want("BNBUSDT")
    assert heard == ["ETHUSDT"] and "BNBUSDT" in cache.wanted


def test_a_second_source_fills_in_only_while_no_fresh_quote_is_there() -> None:
    clock = Clock()
    cache = TickerCache(clock)
    top = ticker(bid="60999", ask="61001")
    assert cache.put_if_stale(top) and cache.get("BTCUSDT") is top  # nothing there: the book's top stands in
    fresh = ticker()
    cache.put(fresh)
    assert not cache.put_if_stale(top) and cache.get("BTCUSDT") is fresh  # a fresh book ticker is never replaced
    clock.advance_ms(TICKER_MAX_AGE_MS + 1)
    assert cache.put_if_stale(top) and cache.get("BTCUSDT") is top  # a stale one is
    cache.on_status(StreamStatus("reconnecting", symbol="BTCUSDT"))
    assert cache.get("BTCUSDT") is None and cache.put_if_stale(top)  # so is one cleared by a gap
