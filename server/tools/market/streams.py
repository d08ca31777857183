"""Exchange → MCP: the live market streams fed by an exchange adapter (:class:`MarketBridge`) and their stream keys.
JSON shapes: :mod:`tradingmcp.server.tools.market.shapes`; the latest best bid/ask of each symbol is also kept for the
order path in the venue's :class:`~tradingmcp.server.live.tickers.TickerCache`, whose wanted symbols the bridge keeps
streamed (:mod:`.ticker_feed`).

Stream keys (``subscribe`` tool), symbols case-insensitive:

* ``trades:<exchange>:<SYMBOL>`` — public trades (``trade_json``), lossless: never conflated, every one replayed on
  resume;
* ``book_ticker:<exchange>:<SYMBOL>`` — best bid/ask (``ticker_json``);
* ``book:<exchange>:<SYMBOL>[:<levels>]`` — top N of the local order book, default 10, with its ``last_update_id``;
* ``klines:<exchange>:<SYMBOL>:<interval>`` — the open candlestick (about once a second) and each closed one
  (``kline_json``; ``closed: true`` ones are never conflated away); Binance intervals ``1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M``;
* ``ticker_24h:<exchange>:<SYMBOL>`` — rolling 24 h statistics (``stats_json``, about once a second).

Every other kind is a full state per message (a book message is the whole top N with its ``last_update_id``): a client
that is behind keeps the latest, and a resume or a late subscriber starts from the latest (the snapshot).
One exchange subscription feeds every MCP client of a key; it is released when the last one leaves. Prices and
quantities are decimal strings (exact, as on the exchange wire); times are ms.
Follows https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.eventqueue import Consumer
from tradingmcp.server.exchanges.models import (
    DepthUpdate,
    Kline,
    MarketEvent,
    Stats24h,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
)
from tradingmcp.server.exchanges.paramrules import rules_for
from tradingmcp.server.live.tickers import TickerCache
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.tools.market.args import (
    DEFAULT_BOOK_LEVELS,
    MAX_BOOK_LEVELS,
    check_symbol,
    invalid,
    listed_symbol,
)
from tradingmcp.server.tools.market.shapes import book_json, kline_json, stats_json, ticker_json, trade_json
from tradingmcp.server.tools.market.ticker_feed import TickerFeed
from tradingmcp.server.venue_args import check_symbol_for, quoted
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

log = logging.getLogger("tradingmcp.server.markets")

KIND_SPECS: dict[str, StreamKind] = {
    "trades": StreamKind.TRADE,
    "book_ticker": StreamKind.BOOK_TICKER,
    "book": StreamKind.DEPTH,
    "klines": StreamKind.KLINE,
    "ticker_24h": StreamKind.TICKER_24H,
}
"""Stream-key kind → adapter stream kind."""


# --- stream keys and the bridge ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamKey:
    """A parsed market stream key: its kind (``klines``), the adapter spec, and book levels (book only)."""

    kind: str
    spec: StreamSpec
    levels: int = DEFAULT_BOOK_LEVELS

    @property
    def route(self) -> tuple[str, str, str | None]:
        """``(kind, SYMBOL, interval)``: which adapter events feed this key."""
        return self.kind, self.spec.symbol, self.spec.interval


def parse_stream_key(key: str, exchange: str) -> StreamKey:
    """``kind:exchange:SYMBOL[:arg]`` → :class:`StreamKey` (``arg``: book levels 1..100, or a kline interval).

    Raises:
        JsonRpcError: -32602 on a malformed key, an unknown kind, bad levels or a bad/missing kline interval.
    """
    parts = key.split(":")
    if len(parts) not in (3, 4) or parts[0] not in KIND_SPECS or parts[1] != exchange or not parts[2]:
        raise invalid(
            "stream",
            f"bad stream key {quoted(key)}: use kind:{exchange}:SYMBOL[:arg] with kind in {sorted(KIND_SPECS)}",
        )
    kind = parts[0]
    rules = rules_for(exchange)
    spec = StreamSpec(KIND_SPECS[kind], check_symbol_for(rules, check_symbol(parts[2], "stream"), "stream"))
    if kind == "klines":
        if len(parts) != 4 or parts[3] not in rules.kline_intervals:
            raise invalid(
                "stream",
                f"bad stream key {quoted(key)}: use klines:{exchange}:SYMBOL:<interval>, interval in "
                f"{list(rules.kline_intervals)}",
            )
        return StreamKey(kind, StreamSpec(spec.kind, spec.symbol, parts[3]))
    if len(parts) == 4:
        if kind != "book" or not parts[3].isdigit() or not 1 <= int(parts[3]) <= MAX_BOOK_LEVELS:
            raise invalid("stream", f"bad levels in {quoted(key)}: book only, 1..{MAX_BOOK_LEVELS}")
        return StreamKey(kind, spec, int(parts[3]))
    return StreamKey(kind, spec)


class MarketBridge:
    """Feeds a :class:`StreamHub` from one exchange adapter and keeps the venue's ticker cache current.
    ``await start()`` begins pumping its events.

    Each hub key is one source start; keys sharing an adapter stream (``book:x:BTCUSDT`` and ``book:x:btcusdt:5``)
    share one exchange subscription, reference-counted. ``upstream_subscribes`` counts the adapter subscriptions made
    per spec (observability: a second client of a stream must not add one).

    Every pushed best bid/ask goes to ``tickers`` (cleared after a stream gap); ``feed`` holds the ``book_ticker``
    stream of each symbol the cache wants, from :meth:`start` to :meth:`close`.
    """

    def __init__(self, name: str, adapter: ExchangeAdapter, hub: StreamHub, tickers: TickerCache) -> None:
        self.name = name
        self.adapter = adapter
        self.hub = hub
        self.tickers = tickers
        self.upstream_subscribes: Counter[StreamSpec] = Counter()
        self._routes: dict[tuple[str, str, str | None], dict[str, int]] = {}  # route -> {hub key: book levels}
        self._refs: dict[StreamSpec, int] = {}
        self._consumer: Consumer | None = None
        for kind in KIND_SPECS:
            hub.add_source(
                StreamSource(
                    f"{kind}:{name}", f"{kind} of a {name} symbol", self._start, self._stop, conflates=kind != "trades"
                )
            )
        self.feed = TickerFeed(hub, name, tickers)

    def parse_key(self, key: str) -> StreamKey:
        """See :func:`parse_stream_key` (for this bridge's exchange)."""
        return parse_stream_key(key, self.name)

    def active_specs(self) -> list[StreamSpec]:
        """Adapter streams currently held for hub subscribers."""
        return list(self._refs)

    async def _start(self, key: str) -> None:
        sk = self.parse_key(key)
        spec = sk.spec
        await listed_symbol(self.adapter, self.name, key, spec.symbol)
        self._refs[spec] = self._refs.get(spec, 0) + 1
        if self._refs[spec] == 1:
            try:
                await self.adapter.subscribe([spec])
            except (ExchangeError, ValueError) as exc:
                self._release(spec)
                raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"exchange refused {key}: {exc}") from exc
            self.upstream_subscribes[spec] += 1
        self._routes.setdefault(sk.route, {})[key] = sk.levels

    def _release(self, spec: StreamSpec) -> bool:
        """Drop one reference; True when it was the last."""
        self._refs[spec] = self._refs.get(spec, 1) - 1
        if self._refs[spec] <= 0:
            del self._refs[spec]
            return True
        return False

    async def _stop(self, key: str) -> None:
        sk = self.parse_key(key)
        keys = self._routes.get(sk.route)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._routes[sk.route]
        if self._release(sk.spec):
            with contextlib.suppress(ExchangeError, ValueError):
                await self.adapter.unsubscribe([sk.spec])

    async def start(self) -> None:
        """Begin handling the adapter's market events: synchronously in the adapter's frame callback when its event
        stream offers :meth:`~tradingmcp.server.exchanges.eventqueue.EventStream.listen` (no task hop between the
        exchange frame and the MCP push), else in a pump task. Then subscribe the ``book_ticker`` streams the ticker
        cache wants (returns once each was made or refused)."""
        self._consumer = Consumer(self.adapter.market_events(), self.on_event)
        await self.feed.start()

    async def close(self) -> None:
        """Release the ticker cache's own streams, then stop handling events."""
        await self.feed.close()
        if self._consumer is not None:
            await self._consumer.close()

    def _publish(self, route: tuple[str, str, str | None], data: dict[str, Any], conflate: bool = True) -> None:
        for key in self._routes.get(route, ()):
            self.hub.publish(key, data, conflate=conflate)

    def on_event(self, ev: MarketEvent) -> None:
        """Publish one adapter event to the hub keys routed to it (synchronous; called per exchange frame)."""
        routes = self._routes
        if isinstance(ev, Ticker):
            self.tickers.put(ev)
            route: tuple[str, str, str | None] = ("book_ticker", ev.symbol, None)
            if route in routes:
                self._publish(route, ticker_json(ev))
        elif isinstance(ev, Trade):
            route = ("trades", ev.symbol, None)
            if route in routes:
                self._publish(route, trade_json(ev), conflate=False)
        elif isinstance(ev, DepthUpdate):
            for key, levels in list(routes.get(("book", ev.symbol, None), {}).items()):
                book = self.adapter.local_book(ev.symbol, levels)
                if book is not None:
                    self.hub.publish(key, book_json(book, levels))
                    top = book.top()
                    if top is not None:  # the reference quote while no book ticker is fresh
                        self.tickers.put_if_stale(top)
        elif isinstance(ev, Kline):
            route = ("klines", ev.symbol, ev.interval)
            if route in routes:
                self._publish(route, kline_json(ev), conflate=not ev.closed)
        elif isinstance(ev, Stats24h):
            route = ("ticker_24h", ev.symbol, None)
            if route in routes:
                self._publish(route, stats_json(ev))
        elif isinstance(ev, StreamStatus):
            self.tickers.on_status(ev)  # quotes from before a gap are not trusted
            log.info("market stream %s: %s %s", ev.state, ev.symbol or "", ev.detail)
