"""Exchange → MCP: live market streams fed by an exchange adapter, and the tools ``get_ticker``, ``get_order_book``,
``get_symbol_rules`` (JSON shapes and argument schemas: :mod:`tradingmcp.server.market_data`).

Stream keys (``subscribe`` tool), symbols case-insensitive:

* ``trades:<exchange>:<SYMBOL>`` — public trades (``trade_json``);
* ``book_ticker:<exchange>:<SYMBOL>`` — best bid/ask (``ticker_json``);
* ``book:<exchange>:<SYMBOL>[:<levels>]`` — top N of the local order book, default 10, with its ``last_update_id``;
* ``klines:<exchange>:<SYMBOL>:<interval>`` — the open candlestick (about once a second) and each closed one
  (``kline_json``; ``closed: true`` ones are never conflated away); Binance intervals ``1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M``;
* ``ticker_24h:<exchange>:<SYMBOL>`` — rolling 24 h statistics (``stats_json``, about once a second).

One exchange subscription feeds every MCP client of a key; it is released when the last one leaves. Prices and
quantities are decimal strings (exact, as on the exchange wire); times are ms.
Follows https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import (
    DepthUpdate,
    Kline,
    OrderBookSnapshot,
    Stats24h,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
)
from tradingmcp.server.market_data import (
    KLINE_INTERVALS,
    SYMBOL_SCHEMA,
    SYMBOLS_SCHEMA,
    book_json,
    check_symbol,
    exchange_error,
    kline_json,
    per_symbol,
    stats_json,
    symbols_arg,
    ticker_json,
    trade_json,
)
from tradingmcp.server.mcp.engine import Call
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolResult
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.render import plain
from tradingmcp.server.venues import Venues
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
MAX_BOOK_LEVELS = 100
DEFAULT_BOOK_LEVELS = 10
TICKER_MAX_AGE_MS = 2_000
"""How long a streamed best bid/ask is trusted as a reference price (ms since it arrived): a bookTicker stream only
sends changes, but a silent stream cannot be told from a dead one, so older quotes are re-read over REST."""

_latest_tickers: weakref.WeakKeyDictionary[ExchangeAdapter, dict[str, tuple[int, Ticker]]] = weakref.WeakKeyDictionary()
"""adapter → {SYMBOL: (monotonic arrival ns, latest Ticker)}, filled by every :class:`MarketBridge`."""


def live_ticker(adapter: ExchangeAdapter, symbol: str, max_age_ms: int = TICKER_MAX_AGE_MS) -> Ticker | None:
    """The latest best bid/ask of ``symbol`` pushed by ``adapter``'s ``book_ticker`` stream, when one arrived in the
    last ``max_age_ms`` ms (and the stream did not report a disconnect since); else None (ask REST instead).

    Only symbols with a subscribed ``book_ticker:<exchange>:<SYMBOL>`` stream have one.
    """
    entry = _latest_tickers.get(adapter, {}).get(symbol.upper())
    if entry is None or time.monotonic_ns() - entry[0] > max_age_ms * 1_000_000:
        return None
    return entry[1]


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
        raise JsonRpcError(
            ErrorCode.INVALID_PARAMS,
            f"bad stream key {key!r}: use kind:{exchange}:SYMBOL[:arg] with kind in {sorted(KIND_SPECS)}",
        )
    kind = parts[0]
    spec = StreamSpec(KIND_SPECS[kind], check_symbol(parts[2], "stream"))
    if kind == "klines":
        if len(parts) != 4 or parts[3] not in KLINE_INTERVALS:
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"bad stream key {key!r}: use klines:{exchange}:SYMBOL:<interval>, interval in {list(KLINE_INTERVALS)}",
            )
        return StreamKey(kind, StreamSpec(spec.kind, spec.symbol, parts[3]))
    if len(parts) == 4:
        if kind != "book" or not parts[3].isdigit() or not 1 <= int(parts[3]) <= MAX_BOOK_LEVELS:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"bad levels in {key!r}: book only, 1..{MAX_BOOK_LEVELS}")
        return StreamKey(kind, spec, int(parts[3]))
    return StreamKey(kind, spec)


class MarketBridge:
    """Feeds a :class:`StreamHub` from one exchange adapter. ``await start()`` begins pumping its events.

    Each hub key is one source start; keys sharing an adapter stream (``book:x:BTCUSDT`` and ``book:x:btcusdt:5``)
    share one exchange subscription, reference-counted. ``upstream_subscribes`` counts the adapter subscriptions made
    per spec (observability: a second client of a stream must not add one).
    """

    def __init__(self, name: str, adapter: ExchangeAdapter, hub: StreamHub) -> None:
        self.name = name
        self.adapter = adapter
        self.hub = hub
        self.upstream_subscribes: Counter[StreamSpec] = Counter()
        self._routes: dict[tuple[str, str, str | None], dict[str, int]] = {}  # route -> {hub key: book levels}
        self._refs: dict[StreamSpec, int] = {}
        self._pump: asyncio.Task[None] | None = None
        self.tickers: dict[str, tuple[int, Ticker]] = _latest_tickers.setdefault(adapter, {})
        """Latest best bid/ask per symbol with its monotonic arrival time (ns); read with :func:`live_ticker`."""
        for kind in KIND_SPECS:
            hub.add_source(StreamSource(f"{kind}:{name}", f"{kind} of a {name} symbol", self._start, self._stop))

    def parse_key(self, key: str) -> StreamKey:
        """See :func:`parse_stream_key` (for this bridge's exchange)."""
        return parse_stream_key(key, self.name)

    def active_specs(self) -> list[StreamSpec]:
        """Adapter streams currently held for hub subscribers."""
        return list(self._refs)

    async def _start(self, key: str) -> None:
        sk = self.parse_key(key)
        spec = sk.spec
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
        self._pump = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    def _publish(self, route: tuple[str, str, str | None], data: dict[str, Any], conflate: bool = True) -> None:
        for key in self._routes.get(route, ()):
            self.hub.publish(key, data, conflate=conflate)

    async def _run(self) -> None:
        routes, tickers = self._routes, self.tickers
        async for ev in self.adapter.market_events():
            if isinstance(ev, Trade):
                route: tuple[str, str, str | None] = ("trades", ev.symbol, None)
                if route in routes:
                    self._publish(route, trade_json(ev))
            elif isinstance(ev, Ticker):
                tickers[ev.symbol] = (time.monotonic_ns(), ev)
                route = ("book_ticker", ev.symbol, None)
                if route in routes:
                    self._publish(route, ticker_json(ev))
            elif isinstance(ev, DepthUpdate):
                for key, levels in list(routes.get(("book", ev.symbol, None), {}).items()):
                    book = self.adapter.local_book(ev.symbol, levels)
                    if book is not None:
                        self.hub.publish(key, book_json(book, levels))
            elif isinstance(ev, Kline):
                route = ("klines", ev.symbol, ev.interval)
                if route in routes:
                    self._publish(route, kline_json(ev), conflate=not ev.closed)
            elif isinstance(ev, Stats24h):
                route = ("ticker_24h", ev.symbol, None)
                if route in routes:
                    self._publish(route, stats_json(ev))
            elif isinstance(ev, StreamStatus):
                if ev.state in ("reconnecting", "overflow"):  # quotes from before a gap are not trusted
                    tickers.clear()
                log.info("market stream %s: %s %s", ev.state, ev.symbol or "", ev.detail)


# --- basic market tools ---------------------------------------------------------------------------------------------

BOOK_CACHE_TTL_MS = 1000
"""How long a REST depth snapshot answers ``get_order_book`` for a symbol that has no local book (ms)."""
REST_BOOK_LEVELS = 100
"""Levels fetched per REST snapshot: any ``limit`` ≤ 100 is then served from one cached snapshot (Binance weight 5)."""


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class BookCache:
    """REST depth snapshots per ``(exchange, symbol)``, fresh for ``ttl_ms``; concurrent misses share one request.

    Args:
        ttl_ms: how long a snapshot is served (ms).
        clock_ms: monotonic clock in ms (injectable for tests).
    """

    def __init__(self, ttl_ms: int = BOOK_CACHE_TTL_MS, clock_ms: Callable[[], int] = monotonic_ms) -> None:
        self.ttl_ms = ttl_ms
        self.clock_ms = clock_ms
        self.hits = 0
        self.misses = 0
        self._entries: dict[tuple[str, str], tuple[int, OrderBookSnapshot]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[OrderBookSnapshot]] = {}

    async def get(
        self, exchange: str, symbol: str, fetch: Callable[[], Awaitable[OrderBookSnapshot]]
    ) -> tuple[OrderBookSnapshot, int, bool]:
        """``(snapshot, age_ms, cached)``; ``fetch()`` runs on a miss. Raises what ``fetch`` raises (not cached)."""
        key = (exchange, symbol)
        now = self.clock_ms()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl_ms:
            self.hits += 1
            return entry[1], now - entry[0], True
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending), 0, True
        self.misses += 1
        future: asyncio.Future[OrderBookSnapshot] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            book = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._inflight[key]
        future.set_result(book)
        self._entries[key] = (self.clock_ms(), book)
        return book, 0, False


def _ticker_text(t: dict[str, Any]) -> str:
    return (
        f"{t['symbol']} last {t['price']} bid {t['bid']} ({t['bid_qty']}) / ask {t['ask']} ({t['ask_qty']}) "
        f"spread {t['spread']}"
    )


def register_market_tools(app: McpApp, venues: Venues) -> None:
    """``get_ticker``, ``get_order_book``, ``get_symbol_rules`` (read scope), each with an optional ``exchange``."""
    cache = BookCache()

    async def get_ticker(call: Call, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbols, many = symbols_arg(args)

        async def one(symbol: str) -> dict[str, Any]:
            tick, last = await asyncio.gather(venue.adapter.book_ticker(symbol), venue.adapter.price(symbol))
            return {**ticker_json(tick), "price": plain(last), "spread": plain(tick.ask - tick.bid)}

        found, errors = await per_symbol(symbols, many, one)
        text = "\n".join(_ticker_text(t) for t in found)
        if not many:
            return ToolResult({"exchange": venue.name, **found[0]}, text)
        text += "".join(f"\n{e['symbol']}: {e['message']}" for e in errors)
        return ToolResult({"exchange": venue.name, "tickers": found, "errors": errors}, text)

    async def get_order_book(call: Call, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbol, limit = check_symbol(args["symbol"]), int(args.get("limit", DEFAULT_BOOK_LEVELS))
        book = venue.adapter.local_book(symbol, limit)
        meta: dict[str, Any] = {"source": "local", "cached": False, "age_ms": 0}
        if book is None:
            try:
                book, age_ms, cached = await cache.get(
                    venue.name, symbol, lambda: venue.adapter.order_book(symbol, REST_BOOK_LEVELS)
                )
            except ExchangeError as exc:
                raise exchange_error(exc, symbol) from exc
            meta = {"source": "rest", "cached": cached, "age_ms": age_ms}
        out = {"exchange": venue.name, **meta, **book_json(book, limit)}
        best = (
            f"bid {out['bids'][0][0]} / ask {out['asks'][0][0]}, spread {out['spread']}"
            if "spread" in out
            else "one side empty"
        )
        text = f"{symbol} book ({meta['source']}{', cached' if meta['cached'] else ''}): {best}, {limit} levels"
        return ToolResult(out, text)

    async def get_symbol_rules(call: Call, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbol = check_symbol(args["symbol"])
        try:
            r = await venue.adapter.symbol_rules(symbol)
        except ExchangeError as exc:
            raise exchange_error(exc, symbol) from exc
        order_types = sorted(str(t) for t in r.order_types)
        out = {
            "exchange": venue.name,
            "symbol": r.symbol,
            "status": r.status,
            "is_trading": r.is_trading,
            "base_asset": r.base_asset,
            "quote_asset": r.quote_asset,
            "tick_size": plain(r.tick_size),
            "step_size": plain(r.step_size),
            "min_qty": plain(r.min_qty),
            "max_qty": plain(r.max_qty),
            "min_price": plain(r.min_price),
            "max_price": plain(r.max_price),
            "min_notional": plain(r.min_notional),
            "max_notional": plain(r.max_notional),
            "market_min_qty": plain(r.market_min_qty),
            "market_max_qty": plain(r.market_max_qty),
            "order_types": order_types,
            "quote_order_qty_market_allowed": r.quote_order_qty_market_allowed,
            "oco_allowed": r.oco_allowed,
            "max_num_orders": r.max_num_orders,
        }
        text = (
            f"{r.symbol} ({r.status}): tick {out['tick_size']} {r.quote_asset}, step {out['step_size']} "
            f"{r.base_asset}, qty {out['min_qty']}..{out['max_qty']}, min notional {out['min_notional']} "
            f"{r.quote_asset}; order types {', '.join(order_types)}"
        )
        return ToolResult(out, text)

    exchange = venues.schema()
    one_or_many = {
        "type": "object",
        "properties": {"symbol": SYMBOL_SCHEMA, "symbols": SYMBOLS_SCHEMA, "exchange": exchange},
        "anyOf": [{"required": ["symbol"]}, {"required": ["symbols"]}],
        "additionalProperties": False,
    }
    sym_schema = {
        "type": "object",
        "properties": {"symbol": SYMBOL_SCHEMA, "exchange": exchange},
        "required": ["symbol"],
        "additionalProperties": False,
    }
    book_schema = {
        "type": "object",
        "properties": {
            "symbol": SYMBOL_SCHEMA,
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_BOOK_LEVELS, "default": DEFAULT_BOOK_LEVELS},
            "exchange": exchange,
        },
        "required": ["symbol"],
        "additionalProperties": False,
    }
    app.add_tool(
        Tool(
            "get_ticker",
            "Best bid/ask (with quantities), spread and last price of a symbol, or of several (symbols, at most 20). "
            "Prices in the quote asset, quantities in the base asset.",
            get_ticker,
            one_or_many,
        )
    )
    app.add_tool(
        Tool(
            "get_order_book",
            f"Top levels of the order book (limit 1..{MAX_BOOK_LEVELS}, default {DEFAULT_BOOK_LEVELS}) with spread, "
            "mid and microprice; from the local book when the symbol has a book stream, else from REST (cached "
            f"{BOOK_CACHE_TTL_MS} ms; source, cached and age_ms say which).",
            get_order_book,
            book_schema,
        )
    )
    app.add_tool(
        Tool(
            "get_symbol_rules",
            "Trading rules of a symbol: tick size, step size, min/max quantity and price, min/max notional (quote "
            "asset), allowed order types.",
            get_symbol_rules,
            sym_schema,
        )
    )
