"""Bybit V5 market data → exchange-neutral models (pure functions): REST ``result`` bodies and public pushes.

Shapes: https://bybit-exchange.github.io/docs/v5/market/instrument, /orderbook, /recent-trade, /kline, /tickers, and
/v5/websocket/public/orderbook, /trade, /ticker, /kline. Klines arrive newest first on REST and are returned oldest
first; a trade's ``side`` is the taker's (``Sell`` = the buyer was the maker).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import (
    BookLevel,
    Kline,
    OrderBookSnapshot,
    OrderType,
    Stats24h,
    SymbolRules,
    Ticker,
    Trade,
)
from tradingmcp.server.exchanges.wire import ZERO, dec

Json = Mapping[str, Any]

KLINE_INTERVALS = {"1m": "1", "3m": "3", "5m": "5", "15m": "15", "30m": "30", "1h": "60", "2h": "120", "4h": "240",
                   "6h": "360", "12h": "720", "1d": "D", "1w": "W", "1M": "M"}  # fmt: skip
"""Neutral (Binance-spelled) kline interval → Bybit's."""
NEUTRAL_INTERVALS = {v: k for k, v in KLINE_INTERVALS.items()}
"""Bybit kline interval → the neutral spelling."""
_INTERVAL_MS = {"1": 60_000, "3": 180_000, "5": 300_000, "15": 900_000, "30": 1_800_000, "60": 3_600_000,
                "120": 7_200_000, "240": 14_400_000, "360": 21_600_000, "720": 43_200_000, "D": 86_400_000,
                "W": 604_800_000, "M": 2_678_400_000}  # fmt: skip


def bybit_interval(interval: str) -> str:
    """Bybit's spelling of a kline interval given in the neutral one (``1m`` → ``1``, ``1d`` → ``D``); Bybit's own
    spelling passes.

    Raises:
        ValueError: not a Bybit kline interval.
    """
    if interval in _INTERVAL_MS:
        return interval
    found = KLINE_INTERVALS.get(interval)
    if found is None:
        raise ValueError(f"Bybit has no {interval!r} klines (1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M)")
    return found


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


def levels(rows: Iterable[Sequence[Any]]) -> tuple[BookLevel, ...]:
    """``[[price, size], ...]`` → BookLevels."""
    return tuple(BookLevel(dec(p), dec(q)) for p, q, *_ in rows)


def instrument(entry: Json) -> SymbolRules:
    """One spot instruments-info entry → SymbolRules (``lotSizeFilter``/``priceFilter`` → tick, step, min/max quantity
    and order value)."""
    lot, price = entry.get("lotSizeFilter") or {}, entry.get("priceFilter") or {}
    step = dec(lot.get("basePrecision"))
    tick = dec(price.get("tickSize"))
    return SymbolRules(
        symbol=str(entry["symbol"]),
        base_asset=str(entry["baseCoin"]),
        quote_asset=str(entry["quoteCoin"]),
        status="TRADING" if entry.get("status") == "Trading" else str(entry.get("status")),
        tick_size=tick,
        step_size=step,
        min_qty=dec(lot.get("minOrderQty")),
        max_qty=dec(lot.get("maxOrderQty")),
        market_step_size=step,
        min_notional=dec(lot.get("minOrderAmt")),
        max_notional=dec(lot.get("maxOrderAmt")),
        apply_min_to_market=True,
        apply_max_to_market=False,
        base_precision=_decimals(step) if step else 8,
        quote_precision=_decimals(dec(lot.get("quotePrecision")) or tick) if (lot.get("quotePrecision") or tick) else 8,
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER}),
        quote_order_qty_market_allowed=True,
        oco_allowed=False,
    )


def instruments(result: Json) -> dict[str, SymbolRules]:
    """``/v5/market/instruments-info`` result → ``{symbol: SymbolRules}``."""
    return {str(e["symbol"]): instrument(e) for e in result.get("list", ())}


def orderbook(result: Json) -> OrderBookSnapshot:
    """``/v5/market/orderbook`` result ``{s, b, a, ts, u, seq}`` → snapshot (``last_update_id`` = ``u``)."""
    return OrderBookSnapshot(str(result["s"]), int(result.get("u") or 0), levels(result.get("b", ())),
                             levels(result.get("a", ())), int(result.get("ts") or 0))  # fmt: skip


def recent_trades(symbol: str, result: Json) -> list[Trade]:
    """``/v5/market/recent-trade`` result → trades, oldest first."""
    out = [
        Trade(symbol, _trade_id(r.get("execId")), dec(r["price"]), dec(r["size"]), int(r["time"]), r["side"] == "Sell")
        for r in result.get("list", ())
    ]
    return sorted(out, key=lambda t: t.time_ms)


def _trade_id(raw: Any) -> int | str:
    text = str(raw if raw is not None else -1)
    return int(text) if text.lstrip("-").isdigit() else text


def kline_row(symbol: str, interval: str, row: Sequence[Any], now_ms: int) -> Kline:
    """A ``/v5/market/kline`` row ``[start, open, high, low, close, volume, turnover]`` (Bybit ``interval``) →
    Kline with the neutral interval; closed when its end is past ``now_ms``. Bybit sends no trade counts (0)."""
    start = int(row[0])
    end = start + _INTERVAL_MS[interval] - 1
    return Kline(symbol, NEUTRAL_INTERVALS.get(interval, interval), start, end, dec(row[1]), dec(row[2]),
                 dec(row[3]), dec(row[4]), dec(row[5]), dec(row[6]), 0, closed=end < now_ms)  # fmt: skip


def klines(symbol: str, interval: str, result: Json, now_ms: int) -> list[Kline]:
    """``/v5/market/kline`` result (newest first) → klines, oldest first."""
    return sorted((kline_row(symbol, interval, r, now_ms) for r in result.get("list", ())),
                  key=lambda k: k.open_time_ms)  # fmt: skip


def _pct(raw: Any) -> Decimal:
    return dec(raw) * 100


def stats(row: Json, now_ms: int) -> Stats24h:
    """A ``tickers`` row (REST, or the ``tickers`` push data) → Stats24h (``price24hPcnt`` is a fraction)."""
    last, prev = dec(row.get("lastPrice")), dec(row.get("prevPrice24h"))
    volume, turnover = dec(row.get("volume24h")), dec(row.get("turnover24h"))
    return Stats24h(
        symbol=str(row["symbol"]), last_price=last, open_price=prev, high_price=dec(row.get("highPrice24h")),
        low_price=dec(row.get("lowPrice24h")), volume=volume, quote_volume=turnover, price_change=last - prev,
        price_change_percent=_pct(row.get("price24hPcnt")),
        weighted_avg_price=turnover / volume if volume else ZERO, bid=dec(row.get("bid1Price")),
        ask=dec(row.get("ask1Price")), open_time_ms=now_ms - 86_400_000, close_time_ms=now_ms, count=0,
    )  # fmt: skip


def ticker(row: Json, now_ms: int) -> Ticker:
    """A REST ``tickers`` row → best bid/ask and last price."""
    return Ticker(str(row["symbol"]), dec(row.get("lastPrice")), dec(row.get("bid1Price")), dec(row.get("bid1Size")),
                  dec(row.get("ask1Price")), dec(row.get("ask1Size")), now_ms)  # fmt: skip


# ---- public pushes --------------------------------------------------------------------------------------------------


def trade_push(msg: Json) -> list[Trade]:
    """``publicTrade.{symbol}`` data rows ``{i, T, p, v, S, s}`` → trades."""
    return [Trade(str(r["s"]), _trade_id(r.get("i")), dec(r["p"]), dec(r["v"]), int(r["T"]), r["S"] == "Sell")
            for r in msg.get("data", ())]  # fmt: skip


def kline_push(symbol: str, msg: Json) -> list[Kline]:
    """``kline.{interval}.{symbol}`` data rows → klines (``confirm`` = closed), neutral interval."""
    out = []
    for r in msg.get("data", ()):
        interval = str(r["interval"])
        out.append(Kline(symbol, NEUTRAL_INTERVALS.get(interval, interval), int(r["start"]), int(r["end"]),
                         dec(r["open"]), dec(r["high"]), dec(r["low"]), dec(r["close"]), dec(r["volume"]),
                         dec(r["turnover"]), 0, closed=bool(r.get("confirm"))))  # fmt: skip
    return out


def best_level_ticker(msg: Json) -> Ticker:
    """An ``orderbook.1.{symbol}`` snapshot → best bid/ask (``update_id`` = ``u``; no last price: 0)."""
    data = msg["data"]
    bid = data["b"][0] if data.get("b") else ("0", "0")
    ask = data["a"][0] if data.get("a") else ("0", "0")
    return Ticker(str(data["s"]), ZERO, dec(bid[0]), dec(bid[1]), dec(ask[0]), dec(ask[1]), int(msg.get("ts") or 0),
                  int(data.get("u") or 0))  # fmt: skip
