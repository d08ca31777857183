"""The quote tools ``get_ticker``, ``get_order_book`` and ``get_symbol_rules`` (read scope), and the REST
depth-snapshot cache behind ``get_order_book``. Arguments: :mod:`tradingmcp.server.tools.market.args`; JSON shapes:
:mod:`tradingmcp.server.tools.market.shapes`.

Prices and quantities are decimal strings (exact, as on the exchange wire); times are ms. The live push streams are in
:mod:`tradingmcp.server.tools.market.streams`. Follows
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import OrderBookSnapshot
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolResult
from tradingmcp.server.tools.market.args import (
    DEFAULT_BOOK_LEVELS,
    MAX_BOOK_LEVELS,
    SYMBOL_SCHEMA,
    SYMBOLS_SCHEMA,
    check_symbol,
    exchange_error,
    per_symbol,
    per_symbol_result,
    symbols_arg,
)
from tradingmcp.server.tools.market.shapes import book_json, ticker_json
from tradingmcp.server.venues import Venues

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


def register_quote_tools(app: McpApp, venues: Venues) -> None:
    """``get_ticker``, ``get_order_book``, ``get_symbol_rules`` (read scope), each with an optional ``exchange``."""
    cache = BookCache()

    async def get_ticker(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbols, many = symbols_arg(args)

        async def one(symbol: str) -> dict[str, Any]:
            tick, last = await asyncio.gather(venue.adapter.book_ticker(symbol), venue.adapter.price(symbol))
            return {**ticker_json(tick), "price": plain(last), "spread": plain(tick.ask - tick.bid)}

        found, errors = await per_symbol(symbols, many, one)
        text = "\n".join(_ticker_text(t) for t in found)
        return per_symbol_result(venue.name, many, "tickers", found, errors, text)

    async def get_order_book(call: CallContext, args: dict[str, Any]) -> ToolResult:
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

    async def get_symbol_rules(call: CallContext, args: dict[str, Any]) -> ToolResult:
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
        "oneOf": [{"required": ["symbol"]}, {"required": ["symbols"]}],
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
