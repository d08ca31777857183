"""The quote tools ``get_ticker``, ``get_order_book`` and ``get_symbol_rules`` (read scope). Tickers and books are read
through the server's :class:`~tradingmcp.server.market.data.MarketData` (streams first, then REST behind its TTL
cache). Arguments: :mod:`tradingmcp.server.tools.market.args`; JSON shapes: :mod:`tradingmcp.server.tools.market.shapes`.

Prices and quantities are decimal strings (exact, as on the exchange wire); times are ms. The live push streams are in
:mod:`tradingmcp.server.tools.market.streams`. Follows
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.market.data import MarketData
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
from tradingmcp.server.venues import Venue, Venues


def _ticker_text(t: dict[str, Any]) -> str:
    return (
        f"{t['symbol']} last {t['price']} bid {t['bid']} ({t['bid_qty']}) / ask {t['ask']} ({t['ask_qty']}) "
        f"spread {t['spread']}"
    )


def ticker_row(market: MarketData, venue: Venue) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """A reader of one symbol's ``get_ticker`` row: :func:`~.shapes.ticker_json` with ``price`` (last trade),
    ``spread``, ``source`` of the bid/ask (``stream`` or ``rest``), ``cached`` and ``age_ms`` (see
    :class:`~tradingmcp.server.market.data.Quote`)."""

    async def one(symbol: str) -> dict[str, Any]:
        q = await market.ticker(venue, symbol)
        tick = q.ticker
        return {
            **ticker_json(tick),
            "price": plain(q.price),
            "spread": plain(tick.ask - tick.bid),
            "source": q.source,
            "cached": q.cached,
            "age_ms": q.age_ms,
        }

    return one


def register_quote_tools(app: McpApp, venues: Venues, market: MarketData) -> None:
    """``get_ticker``, ``get_order_book``, ``get_symbol_rules`` (read scope), each with an optional ``exchange``;
    tickers and books read through ``market``."""

    async def get_ticker(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbols, many = symbols_arg(args)

        found, errors = await per_symbol(symbols, many, ticker_row(market, venue))
        text = "\n".join(_ticker_text(t) for t in found)
        return per_symbol_result(venue.name, many, "tickers", found, errors, text)

    async def get_order_book(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbol, limit = check_symbol(args["symbol"]), int(args.get("limit", DEFAULT_BOOK_LEVELS))
        try:
            read = await market.book(venue, symbol, limit)
        except ExchangeError as exc:
            raise exchange_error(exc, symbol) from exc
        meta: dict[str, Any] = {"source": read.source, "cached": read.cached, "age_ms": read.age_ms}
        out = {"exchange": venue.name, **meta, **book_json(read.book, limit)}
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
            "Prices in the quote asset, quantities in the base asset. Bid/ask from the venue's stream when it holds "
            f"the symbol (source stream), else from REST (source rest); REST reads are cached "
            f"{market.config.ticker_ttl_ms} ms (cached, age_ms).",
            get_ticker,
            one_or_many,
        )
    )
    app.add_tool(
        Tool(
            "get_order_book",
            f"Top levels of the order book (limit 1..{MAX_BOOK_LEVELS}, default {DEFAULT_BOOK_LEVELS}) with spread, "
            "mid and microprice; from the local book when the symbol has a book stream, else from REST (cached "
            f"{market.config.book_ttl_ms} ms; source, cached and age_ms say which).",
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
