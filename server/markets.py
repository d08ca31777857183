"""Exchange → MCP: live market streams fed by an exchange adapter, and the first market-data tools.

Stream keys (``subscribe`` tool): ``trades:<exchange>:<SYMBOL>``, ``book_ticker:<exchange>:<SYMBOL>``,
``book:<exchange>:<SYMBOL>[:<levels>]`` (top N of the local order book, default 10, with its ``last_update_id``).
One exchange subscription feeds every MCP client of a key; it is released when the last one leaves. Prices and
quantities are decimal strings (exact, as on the exchange wire); times are ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import (
    DepthUpdate,
    OrderBookSnapshot,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
)
from tradingmcp.server.mcp.engine import Call
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.render import plain
from tradingmcp.server.venues import Venues
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

log = logging.getLogger("tradingmcp.server.markets")
KIND_SPECS = {"trades": StreamKind.TRADE, "book_ticker": StreamKind.BOOK_TICKER, "book": StreamKind.DEPTH}
MAX_BOOK_LEVELS = 100


def book_json(book: OrderBookSnapshot, levels: int) -> dict[str, Any]:
    """A local/REST book as JSON: top ``levels`` per side, spread, mid (quote asset)."""
    bids = [[str(lv.price), str(lv.qty)] for lv in book.bids[:levels]]
    asks = [[str(lv.price), str(lv.qty)] for lv in book.asks[:levels]]
    out: dict[str, Any] = {"symbol": book.symbol, "last_update_id": book.last_update_id, "bids": bids, "asks": asks}
    if book.bids and book.asks:
        bid, ask = book.bids[0], book.asks[0]
        out["spread"] = str(ask.price - bid.price)
        out["mid"] = str((ask.price + bid.price) / 2)
        depth = bid.qty + ask.qty
        if depth > 0:
            out["microprice"] = str(((bid.price * ask.qty + ask.price * bid.qty) / depth).quantize(Decimal("1e-8")))
    return out


def trade_json(t: Trade) -> dict[str, Any]:
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "price": str(t.price),
        "qty": str(t.qty),
        "time_ms": t.time_ms,
        "taker_side": "SELL" if t.is_buyer_maker else "BUY",
    }


def ticker_json(t: Ticker) -> dict[str, Any]:
    return {
        "symbol": t.symbol,
        "bid": str(t.bid),
        "bid_qty": str(t.bid_qty),
        "ask": str(t.ask),
        "ask_qty": str(t.ask_qty),
        "update_id": t.update_id,
        "time_ms": t.time_ms,
    }


class MarketBridge:
    """Feeds a :class:`StreamHub` from one exchange adapter. ``await start()`` begins pumping its events."""

    def __init__(self, name: str, adapter: ExchangeAdapter, hub: StreamHub) -> None:
        self.name = name
        self.adapter = adapter
        self.hub = hub
        self._book_keys: dict[str, set[str]] = {}  # symbol -> active book stream keys
        self._refs: dict[StreamSpec, int] = {}
        self._pump: asyncio.Task[None] | None = None
        for kind in KIND_SPECS:
            hub.add_source(StreamSource(f"{kind}:{name}", f"{kind} of a {name} symbol", self._start, self._stop))

    def parse_key(self, key: str) -> tuple[str, StreamSpec, int]:
        """``kind:exchange:SYMBOL[:levels]`` → (kind, spec, levels). Raises JsonRpcError -32602 on a bad key."""
        parts = key.split(":")
        if len(parts) not in (3, 4) or parts[0] not in KIND_SPECS or parts[1] != self.name or not parts[2]:
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"bad stream key {key!r}: use kind:{self.name}:SYMBOL[:levels] with kind in {sorted(KIND_SPECS)}",
            )
        levels = 10
        if len(parts) == 4:
            if parts[0] != "book" or not parts[3].isdigit() or not 1 <= int(parts[3]) <= MAX_BOOK_LEVELS:
                raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"bad levels in {key!r}: book only, 1..{MAX_BOOK_LEVELS}")
            levels = int(parts[3])
        return parts[0], StreamSpec(KIND_SPECS[parts[0]], parts[2].upper()), levels

    async def _start(self, key: str) -> None:
        kind, spec, _ = self.parse_key(key)
        if kind == "book":
            self._book_keys.setdefault(spec.symbol, set()).add(key)
        self._refs[spec] = self._refs.get(spec, 0) + 1
        if self._refs[spec] == 1:
            try:
                await self.adapter.subscribe([spec])
            except ExchangeError as exc:
                self._refs[spec] -= 1
                raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"exchange refused {key}: {exc}") from exc

    async def _stop(self, key: str) -> None:
        kind, spec, _ = self.parse_key(key)
        if kind == "book":
            self._book_keys.get(spec.symbol, set()).discard(key)
        self._refs[spec] = self._refs.get(spec, 1) - 1
        if self._refs[spec] <= 0:
            del self._refs[spec]
            with contextlib.suppress(ExchangeError):
                await self.adapter.unsubscribe([spec])

    async def start(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def _run(self) -> None:
        hub, name = self.hub, self.name
        async for ev in self.adapter.market_events():
            if isinstance(ev, Trade):
                hub.publish(f"trades:{name}:{ev.symbol}", trade_json(ev))
            elif isinstance(ev, Ticker):
                hub.publish(f"book_ticker:{name}:{ev.symbol}", ticker_json(ev))
            elif isinstance(ev, DepthUpdate):
                for key in self._book_keys.get(ev.symbol, ()):
                    levels = self.parse_key(key)[2]
                    book = self.adapter.local_book(ev.symbol, levels)
                    if book is not None:
                        hub.publish(key, book_json(book, levels))
            elif isinstance(ev, StreamStatus):
                log.info("market stream %s: %s %s", ev.state, ev.symbol or "", ev.detail)


SYMBOL_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 3, "maxLength": 20, "description": "e.g. BTCUSDT"}
"""JSON Schema of a ``symbol`` tool argument (exchange spelling; case-insensitive)."""


def _exchange_error(exc: ExchangeError) -> ToolError:
    return ToolError(str(exc), "exchange_error", {"exchange_error": type(exc).__name__})


def register_market_tools(app: McpApp, venues: Venues) -> None:
    """``get_ticker``, ``get_order_book``, ``get_symbol_rules`` (read scope), each with an optional ``exchange``."""

    async def get_ticker(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        venue = venues.for_args(args)
        symbol = args["symbol"].upper()
        try:
            tick, last = await asyncio.gather(venue.adapter.book_ticker(symbol), venue.adapter.price(symbol))
        except ExchangeError as exc:
            raise _exchange_error(exc) from exc
        return {"exchange": venue.name, **ticker_json(tick), "price": str(last)}

    async def get_order_book(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        venue = venues.for_args(args)
        symbol, limit = args["symbol"].upper(), int(args.get("limit", 10))
        book = venue.adapter.local_book(symbol, limit)
        source = "local"
        if book is None:
            source = "rest"
            try:
                book = await venue.adapter.order_book(symbol, max(5, limit))
            except ExchangeError as exc:
                raise _exchange_error(exc) from exc
        return {"exchange": venue.name, "source": source, **book_json(book, limit)}

    async def get_symbol_rules(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        venue = venues.for_args(args)
        try:
            r = await venue.adapter.symbol_rules(args["symbol"].upper())
        except ExchangeError as exc:
            raise _exchange_error(exc) from exc
        return {
            "exchange": venue.name,
            "symbol": r.symbol,
            "status": r.status,
            "base_asset": r.base_asset,
            "quote_asset": r.quote_asset,
            "tick_size": plain(r.tick_size),
            "step_size": plain(r.step_size),
            "min_qty": plain(r.min_qty),
            "max_qty": plain(r.max_qty),
            "min_notional": plain(r.min_notional),
        }

    exchange = venues.schema()
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
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_BOOK_LEVELS},
            "exchange": exchange,
        },
        "required": ["symbol"],
        "additionalProperties": False,
    }
    app.add_tool(Tool("get_ticker", "Best bid/ask and last price of a symbol (quote asset).", get_ticker, sym_schema))
    app.add_tool(
        Tool(
            "get_order_book",
            "Top levels of the order book with spread, mid and microprice; from the local book when the symbol is "
            "subscribed (book stream), else from REST.",
            get_order_book,
            book_schema,
        )
    )
    app.add_tool(
        Tool("get_symbol_rules", "Tick size, step size, min/max quantity, min notional.", get_symbol_rules, sym_schema)
    )
