"""Bybit V5 public market endpoints (``category=spot``) over the simulator's replayed markets (sans-I/O).

Bodies follow https://bybit-exchange.github.io/docs/v5/market/ (``result`` objects only; the route wraps them):
plain decimal strings, ``price24hPcnt`` a fraction (0.0173 = 1.73 %), klines ``[start, open, high, low, close,
volume, turnover]`` newest first with Bybit's intervals (``1 3 5 15 30 60 120 240 360 720 D W M``), recent trades
newest first with ``side`` the taker's. The market is the Binance recording (derived data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingmcp.sim.bybit.wire import invalid_symbol, params_error, plain
from tradingmcp.sim.market import SymbolMarket

Params = Mapping[str, str]

KLINE_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
                   "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M"}  # fmt: skip
"""Bybit kline interval → the simulator's (Binance) interval."""


@dataclass
class MarketView:
    """What the public endpoints read: markets, instruments-info entries, the clocks."""

    markets: Mapping[str, SymbolMarket]
    entries: Mapping[str, dict[str, Any]]
    server_ms: Callable[[], int]
    market_ms: Callable[[], int]

    def market(self, p: Params) -> SymbolMarket:
        """The mandatory ``symbol``'s market (10001 when missing, 170121 when not served); ``category`` must be
        ``spot``."""
        if p.get("category") != "spot":
            raise params_error("category must be spot")
        symbol = (p.get("symbol") or "").upper()
        if not symbol:
            raise params_error("symbol is mandatory")
        market = self.markets.get(symbol)
        if market is None:
            raise invalid_symbol()
        return market

    def chosen(self, p: Params) -> list[SymbolMarket]:
        """``symbol`` → that market, else every market (``category=spot`` required)."""
        if p.get("symbol"):
            return [self.market(p)]
        if p.get("category") != "spot":
            raise params_error("category must be spot")
        return list(self.markets.values())


def _limit(p: Params, default: int, maximum: int) -> int:
    raw = p.get("limit") or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise params_error(f"limit {raw!r} must be a positive integer")
    return min(int(raw), maximum)


def server_time(view: MarketView, p: Params) -> Any:
    """``GET /v5/market/time``."""
    now = view.server_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def instruments(view: MarketView, p: Params) -> Any:
    """``GET /v5/market/instruments-info`` (``symbol`` optional); another ``category`` (``linear``, ``inverse``,
    ``option``) lists nothing: the simulator is a spot venue (clients such as ccxt load every category)."""
    if p.get("category") in ("linear", "inverse", "option"):
        return {"category": p["category"], "list": [], "nextPageCursor": ""}
    return {"category": "spot", "list": [view.entries[m.symbol] for m in view.chosen(p)], "nextPageCursor": ""}


def orderbook(view: MarketView, p: Params) -> Any:
    """``GET /v5/market/orderbook`` (spot ``limit`` 1..200, default 1): ``u`` is the book's update id, ``seq`` the
    same (the WebSocket ``orderbook`` topics carry their own ``u``)."""
    market = view.market(p)
    body = market.book.depth(_limit(p, 1, 200))
    return {"s": market.symbol, "b": [[plain(px), plain(q)] for px, q in body["bids"]],
            "a": [[plain(px), plain(q)] for px, q in body["asks"]], "ts": view.market_ms(),
            "u": body["lastUpdateId"], "seq": body["lastUpdateId"], "cts": view.market_ms()}  # fmt: skip


def recent_trades(view: MarketView, p: Params) -> Any:
    """``GET /v5/market/recent-trade`` (spot ``limit`` 1..60, default 60), newest first."""
    market = view.market(p)
    rows = market.trades[-_limit(p, 60, 60) :]
    return {"category": "spot", "list": [
        {"execId": str(r["id"]), "symbol": market.symbol, "price": plain(r["price"]), "size": plain(r["qty"]),
         "side": "Sell" if r["isBuyerMaker"] else "Buy", "time": str(r["time"]), "isBlockTrade": False,
         "isRPITrade": False}
        for r in reversed(rows)
    ]}  # fmt: skip


def klines(view: MarketView, p: Params) -> Any:
    """``GET /v5/market/kline`` (``limit`` 1..1000, default 200; ``start``/``end`` ms), newest first."""
    market = view.market(p)
    interval = p.get("interval") or ""
    sim_interval = KLINE_INTERVALS.get(interval)
    if sim_interval is None:
        raise params_error(f"interval must be one of {', '.join(KLINE_INTERVALS)}, got {interval!r}")
    limit = _limit(p, 200, 1000)
    start = int(p["start"]) if p.get("start", "").isdigit() else None
    end = int(p["end"]) if p.get("end", "").isdigit() else None
    bars = market.bars(sim_interval, start, end)
    bars = bars[:limit] if start is not None else bars[-limit:]
    rows = [[str(b.t), plain(b.o), plain(b.h), plain(b.l), plain(b.c), plain(b.v), plain(b.q)] for b in bars]
    return {"category": "spot", "symbol": market.symbol, "list": rows[::-1]}


def ticker_row(market: SymbolMarket, now_ms: int) -> dict[str, Any]:
    """One ``/v5/market/tickers`` spot row (also the ``tickers`` topic's data, without bid/ask)."""
    t = market.ticker_24hr(now_ms)
    return {
        "symbol": market.symbol, "bid1Price": plain(t["bidPrice"]), "bid1Size": plain(t["bidQty"]),
        "ask1Price": plain(t["askPrice"]), "ask1Size": plain(t["askQty"]), "lastPrice": plain(t["lastPrice"]),
        "prevPrice24h": plain(t["openPrice"]), "price24hPcnt": plain(Decimal(t["priceChangePercent"]) / 100),
        "highPrice24h": plain(t["highPrice"]), "lowPrice24h": plain(t["lowPrice"]),
        "turnover24h": plain(t["quoteVolume"]), "volume24h": plain(t["volume"]), "usdIndexPrice": "",
    }  # fmt: skip


def tickers(view: MarketView, p: Params) -> Any:
    """``GET /v5/market/tickers`` (``symbol`` optional)."""
    now = view.market_ms()
    return {"category": "spot", "list": [ticker_row(m, now) for m in view.chosen(p)]}


PUBLIC: dict[str, Callable[[MarketView, Params], Any]] = {
    "market/time": server_time,
    "market/instruments-info": instruments,
    "market/orderbook": orderbook,
    "market/recent-trade": recent_trades,
    "market/kline": klines,
    "market/tickers": tickers,
}
"""``GET /v5/<endpoint>`` → result builder."""
