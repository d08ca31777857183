"""Small shared pieces of the live family: symbol checks and the JSON shapes of tickers and books.

The shapes equal those of the market streams (``book:``/``book_ticker:``, :mod:`tradingmcp.server.markets`), so a
resource read and a stream message of the same thing look the same.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import OrderBookSnapshot, Ticker
from tradingmcp.server.mcp.registry import ToolError

SYMBOL_PATTERN = "^[A-Za-z0-9._-]{2,20}$"
"""Binance's legal symbol range, case-insensitive (upper-cased before use)."""
SYMBOL_RE = re.compile(SYMBOL_PATTERN)
SYMBOL_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 2,
    "maxLength": 20,
    "pattern": SYMBOL_PATTERN,
    "description": "exchange symbol, e.g. BTCUSDT (case-insensitive)",
}


def book_json(book: OrderBookSnapshot, levels: int) -> dict[str, Any]:
    """Top ``levels`` per side ``[[price, qty], ...]``, ``last_update_id``, spread, mid, microprice (quote asset)."""
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


def ticker_json(t: Ticker) -> dict[str, Any]:
    """``{symbol, bid, bid_qty, ask, ask_qty, update_id, time_ms}`` (prices quote asset, quantities base)."""
    return {
        "symbol": t.symbol,
        "bid": str(t.bid),
        "bid_qty": str(t.bid_qty),
        "ask": str(t.ask),
        "ask_qty": str(t.ask_qty),
        "update_id": t.update_id,
        "time_ms": t.time_ms,
    }


def exchange_error(exc: ExchangeError) -> ToolError:
    """An adapter error as an ``isError`` result (code ``exchange_error``, the exchange's error class and code)."""
    details: dict[str, Any] = {"exchange_error": type(exc).__name__}
    code = getattr(exc, "code", None)
    if code is not None:
        details["exchange_code"] = code
    return ToolError(str(exc), "exchange_error", details)
