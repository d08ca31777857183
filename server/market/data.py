"""The venues' market data read through one :class:`~tradingmcp.server.market.cache.TtlCache`: what the MCP market
tools and the REST API both read, so that neither can spend the exchange's rate limit faster than the TTLs allow.

Reads (each per venue and symbol; symbols in the venue's upper-case spelling):

* :meth:`MarketData.ticker`: best bid/ask and last price. The bid/ask come from the venue's own stream when one holds
  the symbol and its quote is fresh (:class:`~tradingmcp.server.live.tickers.TickerCache`), else from REST, kept
  ``ticker_ttl_ms``; the last price (REST only) is kept ``ticker_ttl_ms`` too;
* :meth:`MarketData.book`: the synced local book when the venue streams the symbol's depth, else a REST snapshot of
  :data:`BOOK_LEVELS_FETCHED` levels kept ``book_ttl_ms`` (any depth up to that many is cut from the same snapshot);
* :meth:`MarketData.trades`: the latest :data:`TRADES_FETCHED` public trades, kept ``trades_ttl_ms``;
* :meth:`MarketData.klines`: :data:`KLINES_FETCHED` candles from ``start_ms``, up to ``end_ms`` or the latest ones,
  kept ``klines_ttl_ms`` (a shorter ``limit`` is cut from them);
* :meth:`MarketData.stats_24h`: the rolling 24 h statistics, kept ``ticker_ttl_ms``;
* :meth:`MarketData.symbols`: the venue's exchange info (the adapter keeps it).

Every read first checks that the venue lists the symbol (its exchange info, which the adapter keeps): a symbol it does
not list is refused (``InvalidSymbol``) without a request, so made-up symbols neither spend the exchange's rate limit
nor fill the cache. Errors are the adapter's :class:`~tradingmcp.server.exchanges.errors.ExchangeError` s; a
:class:`~tradingmcp.server.exchanges.errors.BadParameter` is an answer too, kept for the read's TTL; rate limits and
outages are never kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from tradingmcp.server.exchanges.errors import BadParameter
from tradingmcp.server.exchanges.models import Kline, OrderBookSnapshot, Stats24h, SymbolRules, Ticker, Trade
from tradingmcp.server.market.cache import DEFAULT_MAX_ENTRIES, Cached, ClockMs, TtlCache, monotonic_ms
from tradingmcp.server.venues import Venue

BOOK_LEVELS_FETCHED = 100
"""Levels per side of a REST depth snapshot (Binance weight 5 up to 100)."""
TRADES_FETCHED = 100
"""Public trades per REST read."""
KLINES_FETCHED = 500
"""Candles per REST read (Binance weight 2 whatever the limit, up to 1000)."""
LASTING = (BadParameter,)
"""Exchange errors kept like values until their TTL ends (the exchange would answer the same)."""


@dataclass(frozen=True)
class MarketCacheConfig:
    """How long each REST read answers again (ms; 0: never, but concurrent reads still share one request), and how
    many entries are kept. ``[market]`` in the server's TOML file (:meth:`from_mapping`).

    Raises:
        ValueError: a negative or non-integer TTL, or ``max_entries`` below 1.
    """

    book_ttl_ms: int = 1_000
    ticker_ttl_ms: int = 10_000
    trades_ttl_ms: int = 1_000
    klines_ttl_ms: int = 1_000
    max_entries: int = DEFAULT_MAX_ENTRIES

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if type(value) is not int or value < (1 if f.name == "max_entries" else 0):
                raise ValueError(
                    f"[market] {f.name} must be an integer >= {int(f.name == 'max_entries')}, got {value!r}"
                )

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> MarketCacheConfig:
        """From a ``[market]`` table.

        Raises:
            ValueError: an unknown key or a bad value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"[market]: unknown key(s) {unknown}; expected {', '.join(sorted(known))}")
        return cls(**dict(doc))


@dataclass(frozen=True, slots=True)
class Quote:
    """A ticker read: ``ticker`` (best bid/ask), ``price`` (last trade), ``source`` of the bid/ask (``stream`` or
    ``rest``), ``cached`` True when this read sent nothing to the exchange, ``age_ms`` of its oldest REST part."""

    ticker: Ticker
    price: Decimal
    source: Literal["stream", "rest"]
    cached: bool
    age_ms: int


@dataclass(frozen=True, slots=True)
class BookRead:
    """A book read: ``book``, ``source`` (``local`` or ``rest``), ``cached`` and ``age_ms`` as in :class:`Quote`."""

    book: OrderBookSnapshot
    source: Literal["local", "rest"]
    cached: bool
    age_ms: int


class MarketData:
    """The cached market reads of any venue (see the module docstring); one per server.

    Args:
        config: the TTLs.
        clock_ms: monotonic clock in ms (injectable for tests).

    Attributes:
        cache: the :class:`TtlCache` (its ``hits``/``misses`` are the ``/metrics`` counters).
    """

    def __init__(self, config: MarketCacheConfig | None = None, clock_ms: ClockMs = monotonic_ms) -> None:
        self.config = config or MarketCacheConfig()
        self.cache = TtlCache(clock_ms, self.config.max_entries)

    async def ticker(self, venue: Venue, symbol: str) -> Quote:
        """Best bid/ask and last price of ``symbol`` (see the module docstring).

        Raises:
            InvalidSymbol: the venue does not list ``symbol``. ExchangeError: from the adapter.
        """
        await venue.adapter.symbol_rules(symbol)
        ttl = self.config.ticker_ttl_ms
        adapter = venue.adapter
        price_read = self.cache.get((venue.name, "price", symbol), ttl, lambda: adapter.price(symbol), LASTING)
        live = venue.tickers.get(symbol)
        if live is not None:
            price = await price_read
            return Quote(live, price.value, "stream", price.cached, price.age_ms)
        book_read = self.cache.get((venue.name, "ticker", symbol), ttl, lambda: adapter.book_ticker(symbol), LASTING)
        tick, price = await asyncio.gather(book_read, price_read)
        return Quote(tick.value, price.value, "rest", tick.cached and price.cached, max(tick.age_ms, price.age_ms))

    async def book(self, venue: Venue, symbol: str, depth: int) -> BookRead:
        """Top ``depth`` (≤ :data:`BOOK_LEVELS_FETCHED`) levels per side of ``symbol``'s book.

        Raises:
            ValueError: ``depth`` out of range. InvalidSymbol: the venue does not list ``symbol``. ExchangeError: from
                the adapter.
        """
        if not 1 <= depth <= BOOK_LEVELS_FETCHED:
            raise ValueError(f"depth must be 1..{BOOK_LEVELS_FETCHED}, got {depth}")
        await venue.adapter.symbol_rules(symbol)
        local = venue.adapter.local_book(symbol, depth)
        if local is not None:
            return BookRead(local, "local", False, 0)
        read = await self.cache.get(
            (venue.name, "book", symbol),
            self.config.book_ttl_ms,
            lambda: venue.adapter.order_book(symbol, BOOK_LEVELS_FETCHED),
            LASTING,
        )
        return BookRead(read.value, "rest", read.cached, read.age_ms)

    async def trades(self, venue: Venue, symbol: str) -> Cached[list[Trade]]:
        """The latest :data:`TRADES_FETCHED` public trades of ``symbol``, oldest first.

        Raises:
            InvalidSymbol: the venue does not list ``symbol``. ExchangeError: from the adapter.
        """
        await venue.adapter.symbol_rules(symbol)
        return await self.cache.get(
            (venue.name, "trades", symbol),
            self.config.trades_ttl_ms,
            lambda: venue.adapter.recent_trades(symbol, TRADES_FETCHED),
            LASTING,
        )

    async def klines(
        self, venue: Venue, symbol: str, interval: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> Cached[list[Kline]]:
        """:data:`KLINES_FETCHED` candles of ``symbol``, oldest first: the first ones from ``start_ms`` when given,
        else the latest ones (up to ``end_ms`` when given). ``interval`` in the tools' (Binance) spelling.

        Raises:
            InvalidSymbol: the venue does not list ``symbol``. ExchangeError: from the adapter.
        """
        await venue.adapter.symbol_rules(symbol)
        return await self.cache.get(
            (venue.name, "klines", symbol, interval, start_ms, end_ms),
            self.config.klines_ttl_ms,
            lambda: venue.adapter.klines(symbol, interval, KLINES_FETCHED, start_ms, end_ms),
            LASTING,
        )

    async def stats_24h(self, venue: Venue, symbol: str) -> Cached[Stats24h]:
        """Rolling 24 h statistics of ``symbol``.

        Raises:
            InvalidSymbol: the venue does not list ``symbol``. ExchangeError: from the adapter.
        """
        await venue.adapter.symbol_rules(symbol)
        return await self.cache.get(
            (venue.name, "stats", symbol),
            self.config.ticker_ttl_ms,
            lambda: venue.adapter.ticker_24h(symbol),
            LASTING,
        )

    async def symbols(self, venue: Venue) -> dict[str, SymbolRules]:
        """Every symbol the venue lists, by name (the adapter's cached exchange info).

        Raises:
            ExchangeError: from the adapter.
        """
        return await venue.adapter.exchange_info()


__all__ = [
    "BOOK_LEVELS_FETCHED",
    "KLINES_FETCHED",
    "TRADES_FETCHED",
    "BookRead",
    "MarketCacheConfig",
    "MarketData",
    "Quote",
]
