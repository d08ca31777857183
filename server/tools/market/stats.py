"""The market statistics tools ``get_24h_stats``, ``get_recent_trades``, ``get_klines`` and ``get_server_status``
(read scope; each takes an optional ``exchange``; ``get_server_status`` also lists every venue with where it trades and
the limits in force). Arguments are checked by :mod:`tradingmcp.server.tools.market.args`;
the JSON shapes and text renderings are those of :mod:`tradingmcp.server.tools.market.shapes`.

Every result is bounded (trades ≤ 100, klines ≤ 500, symbols ≤ 20 per call) and comes with a one-line text rendering
besides ``structuredContent``. Prices are decimal strings in the quote asset, ``qty``/``volume`` in the base asset,
``quote_volume`` in the quote asset, times in ms since the epoch (UTC). Exchange failures are ``isError`` results with
``error.code == "exchange_error"``; malformed arguments (bad symbol, limit out of range) are JSON-RPC -32602 errors.
Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import Stats24h
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.market.data import KLINES_FETCHED, TRADES_FETCHED, MarketData
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolResult
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.market.args import (
    KLINE_INTERVALS,
    SYMBOL_SCHEMA,
    SYMBOLS_SCHEMA,
    check_symbol,
    exchange_error,
    invalid,
    per_symbol,
    per_symbol_result,
    symbols_arg,
)
from tradingmcp.server.tools.market.shapes import (
    KLINE_COLUMNS,
    MAX_LISTED,
    hms,
    kline_row,
    klines_text,
    stats_json,
    stats_text,
    status_json,
    trade_json,
    trades_summary,
    venue_text,
)
from tradingmcp.server.venues import Venue, Venues

MAX_TRADES, DEFAULT_TRADES = TRADES_FETCHED, 20
MAX_KLINES, DEFAULT_KLINES = KLINES_FETCHED, 100


# --- tools ----------------------------------------------------------------------------------------------------------


def _object_schema(props: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False, **extra}
    if required:
        schema["required"] = required
    return schema


async def _assets(venue: Venue, symbol: str) -> tuple[str, str]:
    """(base, quote) asset of ``symbol`` from the cached exchange info; ``("", "")`` when unknown."""
    try:
        rules = await venue.adapter.symbol_rules(symbol)
    except ExchangeError:
        return "", ""
    return rules.base_asset, rules.quote_asset


VenueRails = Callable[[Venue], dict[str, Any]]
"""Where a venue trades and the limits in force on it, as JSON (the trading desk's ``rails``: mode, environment,
account, limits, kill switch, the loss/drawdown/exposure limits with their use and state), for ``get_server_status``."""


def register_stats_tools(
    app: McpApp, hub: StreamHub, venues: Venues, market: MarketData, rails: VenueRails | None = None
) -> None:
    """Register ``get_24h_stats``, ``get_recent_trades``, ``get_klines``, ``get_server_status`` (read scope); the
    statistics, trades and candles are read through ``market`` (its TTL cache).

    ``rails`` gives each venue's entry of ``get_server_status``'s ``venues`` (without it: ``Venue.describe()``, no
    limits).
    """

    async def get_24h_stats(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbols, many = symbols_arg(args)

        async def one(symbol: str) -> tuple[Stats24h, tuple[str, str]]:
            return (await market.stats_24h(venue, symbol)).value, await _assets(venue, symbol)

        found, errors = await per_symbol(symbols, many, one)
        rows = [{**stats_json(s), "base_asset": b, "quote_asset": q} for s, (b, q) in found]
        text = "\n".join(stats_text(s, b, q) for s, (b, q) in found)
        return per_symbol_result(venue.name, many, "stats", rows, errors, text)

    async def get_recent_trades(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbol = check_symbol(args["symbol"])
        limit = int(args.get("limit", DEFAULT_TRADES))
        try:
            trades = (await market.trades(venue, symbol)).value
        except ExchangeError as exc:
            raise exchange_error(exc, symbol) from exc
        trades = trades[-limit:]
        rows = [{k: v for k, v in trade_json(t).items() if k != "symbol"} for t in trades]
        out: dict[str, Any] = {"exchange": venue.name, "symbol": symbol, "count": len(rows), "trades": rows}
        if not trades:
            return ToolResult(out, f"{symbol}: no recent trades")
        summary = out["summary"] = trades_summary(trades)
        text = (
            f"{symbol} last {len(trades)} trades ({hms(trades[0].time_ms)}–{hms(trades[-1].time_ms)} UTC): "
            f"{plain(trades[0].price)} → {plain(trades[-1].price)}, high {summary['high']} low {summary['low']}, "
            f"VWAP {summary['vwap']}, taker buy {summary['taker_buy_qty']} / sell {summary['taker_sell_qty']}"
        )
        return ToolResult(out, text)

    async def get_klines(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        symbol, interval = check_symbol(args["symbol"]), args["interval"]
        limit = int(args.get("limit", DEFAULT_KLINES))
        start, end = args.get("start_ms"), args.get("end_ms")
        if start is not None and end is not None and start > end:
            raise invalid("start_ms", f"start_ms ({start}) is after end_ms ({end})")
        try:
            klines = (await market.klines(venue, symbol, interval, start, end)).value
        except ExchangeError as exc:
            raise exchange_error(exc, symbol) from exc
        klines = klines[:limit] if start is not None else klines[-limit:]
        out = {
            "exchange": venue.name,
            "symbol": symbol,
            "interval": interval,
            "count": len(klines),
            "columns": list(KLINE_COLUMNS),
            "rows": [kline_row(k, closed=k.closed or i < len(klines) - 1) for i, k in enumerate(klines)],
        }
        return ToolResult(out, klines_text(symbol, interval, klines))

    async def get_server_status(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        st = await venue.adapter.server_status()
        out = status_json(st, venue.mode)
        prefix = f":{venue.name}:"
        out["mcp_streams"] = [k for k in hub.active() if prefix in k][:MAX_LISTED]
        every = [{**(rails(v) if rails else v.describe()), "default": v.name == venues.default} for v in venues]
        asked = next(v for v in every if v["exchange"] == venue.name)
        out |= {"environment": asked["environment"], "account": asked["account"], "venues": every}
        weight = next((r for r in st.rate_limits if r.kind == "REQUEST_WEIGHT"), None)
        headroom = f"weight {weight.used}/{weight.limit} per {weight.interval_s}s" if weight else "no rate-limit data"
        text = (
            f"{venue.name} ({venue.mode}): {'reachable' if st.reachable else 'UNREACHABLE'}, clock offset "
            f"{st.clock_offset_ms} ms, {headroom}, {len(st.streams)} exchange streams"
            + (f", BANNED until {st.banned_until_ms}" if st.banned_until_ms else "")
        )
        return ToolResult(out, "\n".join([text, *(venue_text(v) for v in every)]))

    exchange = venues.schema()
    limit_props = {"symbol": SYMBOL_SCHEMA, "exchange": exchange}
    app.add_tool(
        Tool(
            "get_24h_stats",
            "Rolling 24 h statistics of one symbol or several (symbols, at most 20): last price, change and change %, "
            "high/low, volume (base and quote asset), weighted average price, trade count.",
            get_24h_stats,
            _object_schema(
                {"symbol": SYMBOL_SCHEMA, "symbols": SYMBOLS_SCHEMA, "exchange": exchange},
                oneOf=[{"required": ["symbol"]}, {"required": ["symbols"]}],
            ),
        )
    )
    trades_limit = {"type": "integer", "minimum": 1, "maximum": MAX_TRADES, "default": DEFAULT_TRADES}
    app.add_tool(
        Tool(
            "get_recent_trades",
            f"The latest public trades of a symbol (oldest first; limit 1..{MAX_TRADES}, default {DEFAULT_TRADES}) "
            "with a summary: VWAP, high/low, taker buy/sell quantity (base asset).",
            get_recent_trades,
            _object_schema({**limit_props, "limit": trades_limit}, ["symbol"]),
        )
    )
    klines_props = {
        **limit_props,
        "interval": {"type": "string", "enum": list(KLINE_INTERVALS), "description": "candle size (1M = month)"},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_KLINES, "default": DEFAULT_KLINES},
        "start_ms": {"type": "integer", "minimum": 0, "description": "first open time, ms since the epoch"},
        "end_ms": {"type": "integer", "minimum": 0, "description": "last open time, ms since the epoch"},
    }
    app.add_tool(
        Tool(
            "get_klines",
            f"Candlesticks (OHLCV) of a symbol, oldest first, as compact rows {list(KLINE_COLUMNS)}; limit "
            f"1..{MAX_KLINES} (default {DEFAULT_KLINES}); the latest when start_ms is absent, else from start_ms.",
            get_klines,
            _object_schema(klines_props, ["symbol", "interval"]),
        )
    )
    app.add_tool(
        Tool(
            "get_server_status",
            "Exchange connectivity (reachable, clock offset in ms, rate-limit headroom, streams) of one venue, and "
            "where every venue trades: environment (simulator, testnet, demo or live), the account (API key's "
            "first and last 4 characters, never a secret) and the safety limits in force (allow-list, max notional "
            "per order and per day, max open orders, price band %, confirmation threshold, live switch, kill "
            "switch) with the loss, drawdown and exposure limits: each one's limit, use and state (off, ok, "
            "tripped).",
            get_server_status,
            _object_schema({"exchange": exchange}),
        )
    )
