"""Market-data JSON shapes and one-line text renderings, shared by the market tools (:mod:`.quotes`, :mod:`.stats`),
the push streams of :mod:`.streams` and the live resources (pure functions, no I/O).

Prices are decimal strings in the quote asset, ``qty``/``volume`` in the base asset, ``quote_volume`` in the quote
asset, times in ms since the epoch (UTC). Field meanings follow
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import Kline, OrderBookSnapshot, ServerStatus, Stats24h, Ticker, Trade
from tradingmcp.server.exchanges.wire import plain

MAX_LISTED = 50
"""Longest list of stream names / rate-limit windows in a ``get_server_status`` result."""


# --- JSON shapes (shared by the tools and the push streams of :mod:`.streams`) --------------------------------------


def book_json(book: OrderBookSnapshot, levels: int) -> dict[str, Any]:
    """A local/REST book: top ``levels`` per side ``[[price, qty], ...]`` best first, spread, mid, microprice."""
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
    """``{symbol, id, price, qty (base), time_ms, taker_side}`` (``taker_side`` SELL when the buyer was the maker)."""
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "price": str(t.price),
        "qty": str(t.qty),
        "time_ms": t.time_ms,
        "taker_side": "SELL" if t.is_buyer_maker else "BUY",
    }


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


def kline_json(k: Kline) -> dict[str, Any]:
    """One candlestick: OHLC (quote asset), ``volume`` (base), ``quote_volume``, ``trades``, ``closed``, times ms."""
    return {
        "symbol": k.symbol,
        "interval": k.interval,
        "open_time_ms": k.open_time_ms,
        "close_time_ms": k.close_time_ms,
        "open": plain(k.open),
        "high": plain(k.high),
        "low": plain(k.low),
        "close": plain(k.close),
        "volume": plain(k.volume),
        "quote_volume": plain(k.quote_volume),
        "trades": k.trades,
        "taker_buy_volume": plain(k.taker_buy_volume),
        "closed": k.closed,
    }


KLINE_COLUMNS = ("open_time_ms", "open", "high", "low", "close", "volume", "quote_volume", "trades", "closed")
"""Columns of a ``get_klines`` row."""


def kline_row(k: Kline, closed: bool | None = None) -> list[Any]:
    """A compact ``get_klines`` row in :data:`KLINE_COLUMNS` order (``closed`` overrides ``k.closed``: a bar
    followed by a later one is closed, whatever the clocks say)."""
    return [
        k.open_time_ms,
        plain(k.open),
        plain(k.high),
        plain(k.low),
        plain(k.close),
        plain(k.volume),
        plain(k.quote_volume),
        k.trades,
        k.closed if closed is None else closed,
    ]


def stats_json(s: Stats24h) -> dict[str, Any]:
    """Rolling 24 h statistics: prices quote asset, ``volume`` base, ``quote_volume`` quote, change in percent."""
    return {
        "symbol": s.symbol,
        "last_price": plain(s.last_price),
        "open_price": plain(s.open_price),
        "high_price": plain(s.high_price),
        "low_price": plain(s.low_price),
        "price_change": plain(s.price_change),
        "price_change_percent": plain(s.price_change_percent),
        "weighted_avg_price": plain(s.weighted_avg_price),
        "volume": plain(s.volume),
        "quote_volume": plain(s.quote_volume),
        "bid": plain(s.bid),
        "ask": plain(s.ask),
        "count": s.count,
        "open_time_ms": s.open_time_ms,
        "close_time_ms": s.close_time_ms,
    }


def status_json(st: ServerStatus, mode: str) -> dict[str, Any]:
    """``get_server_status`` body: reachability, clock offset (ms, exchange minus local), rate-limit headroom."""
    limits = sorted(st.rate_limits, key=lambda r: r.used / r.limit if r.limit else 0, reverse=True)[:MAX_LISTED]
    return {
        "exchange": st.exchange,
        "mode": mode,
        "testnet": st.testnet,
        "reachable": st.reachable,
        "clock_offset_ms": st.clock_offset_ms,
        "banned_until_ms": st.banned_until_ms,
        "rate_limits": [
            {"kind": r.kind, "interval_s": r.interval_s, "used": r.used, "limit": r.limit, "remaining": r.remaining}
            for r in limits
        ],
        "streams": list(st.streams[:MAX_LISTED]),
        "streams_total": len(st.streams),
    }


# --- text renderings ------------------------------------------------------------------------------------------------


def venue_text(v: dict[str, Any]) -> str:
    """One line of a ``get_server_status`` venue entry: ``binance (default): simulator, simulator account; trading
    allowed; max order 10000, per day 100000, max open orders 50, price band 5 %, confirm above 5000, allow_live
    false, kill switch off`` (limits shown only when the entry has them)."""
    text = f"{v['exchange']}{' (default)' if v.get('default') else ''}: {v['environment']}, {v['account']}"
    limits = v.get("limits")
    if limits is None:
        return text
    allowed = ",".join(limits["allowed_symbols"]) if limits["allowed_symbols"] is not None else "all"
    band = f"{limits['price_band_pct']} %" if limits["price_band_pct"] is not None else "off"
    confirm = limits["confirm_above_notional"] if limits["confirm_above_notional"] is not None else "off"
    return (
        f"{text}; trading {'allowed' if v['trading_allowed'] else 'REFUSED'}; symbols {allowed}, max order "
        f"{limits['max_order_notional']}, per day {limits['max_daily_notional']}, max open orders "
        f"{limits['max_open_orders']}, price band {band}, confirm above {confirm}, allow_live "
        f"{str(limits['allow_live']).lower()}, kill switch {'ON' if v['kill_switch_active'] else 'off'}"
    )


def short(d: Decimal) -> str:
    """A human-size number: ``76213456.2`` → ``76.21M``, ``1234.5678`` → ``1234.57``, small ones as is."""
    for size, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if abs(d) >= size * 10:
            return f"{d / size:.2f}{suffix}"
    return plain(d.quantize(Decimal("0.01"))) if abs(d) >= 100 else plain(d)


def hms(time_ms: int) -> str:
    """``HH:MM:SS`` UTC of an epoch-ms time."""
    return dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.UTC).strftime("%H:%M:%S")


def stats_text(s: Stats24h, base: str, quote: str) -> str:
    return (
        f"{s.symbol} 24h: last {plain(s.last_price)} ({s.price_change_percent:+.2f} %) high {plain(s.high_price)} "
        f"low {plain(s.low_price)} vol {short(s.volume)} {base} / {short(s.quote_volume)} {quote}, "
        f"VWAP {plain(s.weighted_avg_price)}, {s.count} trades"
    )


def trades_summary(trades: list[Trade]) -> dict[str, Any]:
    """``{first_time_ms, last_time_ms, high, low, vwap, taker_buy_qty, taker_sell_qty}`` of non-empty ``trades``."""
    qty = sum((t.qty for t in trades), Decimal(0))
    quote = sum((t.quote_qty for t in trades), Decimal(0))
    sells = sum((t.qty for t in trades if t.is_buyer_maker), Decimal(0))
    prices = [t.price for t in trades]
    return {
        "first_time_ms": trades[0].time_ms,
        "last_time_ms": trades[-1].time_ms,
        "high": plain(max(prices)),
        "low": plain(min(prices)),
        "vwap": plain((quote / qty).quantize(Decimal("1e-8"))) if qty else "0",
        "taker_buy_qty": plain(qty - sells),
        "taker_sell_qty": plain(sells),
    }


def klines_text(symbol: str, interval: str, klines: list[Kline]) -> str:
    if not klines:
        return f"{symbol} {interval}: no klines in that range"
    first, last = klines[0], klines[-1]
    high = max(k.high for k in klines)
    low = min(k.low for k in klines)
    vol = sum((k.volume for k in klines), Decimal(0))
    change = (last.close - first.open) / first.open * 100 if first.open else Decimal(0)
    return (
        f"{symbol} {interval}: {len(klines)} klines {hms(first.open_time_ms)}–{hms(last.close_time_ms)} UTC, "
        f"open {plain(first.open)} high {plain(high)} low {plain(low)} close {plain(last.close)} "
        f"({change:+.2f} %), volume {short(vol)}"
    )
