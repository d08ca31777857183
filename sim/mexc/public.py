"""MEXC's public market-data endpoints over the simulator's replayed markets (sans-I/O).

Bodies follow https://mexcdevelop.github.io/apidocs/spot_v3_en/#market-data-endpoints: plain decimal strings,
public trade ids null, ``priceChangePercent`` a fraction (0.0173 = 1.73 %), klines
``[openTime, open, high, low, close, volume, closeTime, quoteVolume]`` with ``closeTime = openTime + interval`` and
MEXC's interval spelling (``1m 5m 15m 30m 60m 4h 8h 1d 1W 1M``). The market is the Binance recording (derived data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingmcp.sim.market import SymbolMarket
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.mexc import info
from tradingmcp.sim.mexc.wire import bad_symbol, parameter_error, plain

Params = Mapping[str, str]

REST_INTERVALS = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "60m": "1h", "4h": "4h", "8h": "8h",
                  "1d": "1d", "1W": "1w", "1M": "1M"}  # fmt: skip
"""MEXC REST kline interval → the simulator's (Binance) interval."""


@dataclass
class MarketView:
    """What the public endpoints read: the replayed markets, the engine (reference prices), the MEXC symbol entries
    and the clocks (wall clock for ``serverTime``, replay clock for tickers)."""

    markets: Mapping[str, SymbolMarket]
    engine: MatchingEngine
    entries: Mapping[str, dict[str, Any]]
    server_ms: Callable[[], int]
    market_ms: Callable[[], int]

    def market(self, p: Params) -> SymbolMarket:
        """The mandatory ``symbol``'s market.

        Raises:
            MexcError: 33333 when missing, 10007 when not served.
        """
        symbol = (p.get("symbol") or "").upper()
        if not symbol:
            raise parameter_error("symbol is mandatory")
        market = self.markets.get(symbol)
        if market is None:
            raise bad_symbol()
        return market

    def chosen(self, p: Params) -> list[SymbolMarket]:
        """``symbol`` or ``symbols`` (comma-separated) → markets; all when neither is sent."""
        if p.get("symbol"):
            return [self.market(p)]
        if p.get("symbols"):
            return [self.market({"symbol": s}) for s in p["symbols"].split(",") if s]
        return list(self.markets.values())


def _limit(p: Params, default: int, maximum: int) -> int:
    raw = p.get("limit") or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise parameter_error(f"limit {raw!r} must be a positive integer")
    return min(int(raw), maximum)


def exchange_info(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/exchangeInfo`` (``symbol`` or ``symbols=A,B``)."""
    entries = [view.entries[m.symbol] for m in view.chosen(p)]
    return info.exchange_info_body(entries, view.server_ms())


def depth(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/depth`` (limit ≤ 5000): ``lastUpdateId`` is the version the ``aggre.depth`` pushes continue."""
    market = view.market(p)
    body = market.book.depth(_limit(p, 100, 5000))
    return {
        "lastUpdateId": body["lastUpdateId"],
        "bids": [[plain(px), plain(q)] for px, q in body["bids"]],
        "asks": [[plain(px), plain(q)] for px, q in body["asks"]],
        "timestamp": view.market_ms(),
    }


def trades(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/trades`` (limit ≤ 1000), newest first, ids null."""
    market = view.market(p)
    rows = market.trades[-_limit(p, 500, 1000) :]
    return [
        {"id": None, "price": plain(r["price"]), "qty": plain(r["qty"]), "quoteQty": plain(r["quoteQty"]),
         "time": r["time"], "isBuyerMaker": r["isBuyerMaker"], "isBestMatch": True,
         "tradeType": "ASK" if r["isBuyerMaker"] else "BID"}
        for r in reversed(rows)
    ]  # fmt: skip


def agg_trades(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/aggTrades`` (limit ≤ 1000; ``startTime`` with ``endTime``), ids null as on MEXC."""
    market = view.market(p)
    rows = market.agg_trades
    start, end = p.get("startTime"), p.get("endTime")
    if start and end:
        rows = [r for r in rows if int(start) <= r["T"] <= int(end)]
    rows = rows[-_limit(p, 500, 1000) :]
    return [
        {"a": None, "f": None, "l": None, "p": plain(r["p"]), "q": plain(r["q"]), "T": r["T"], "m": r["m"], "M": True}
        for r in rows
    ]


def klines(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/klines`` (limit ≤ 1000)."""
    market = view.market(p)
    interval = p.get("interval") or ""
    sim_interval = REST_INTERVALS.get(interval)
    if sim_interval is None:
        raise parameter_error(f"interval must be one of {', '.join(REST_INTERVALS)}, got {interval!r}")
    limit = _limit(p, 500, 1000)
    start = int(p["startTime"]) if p.get("startTime") else None
    end = int(p["endTime"]) if p.get("endTime") else None
    bars = market.bars(sim_interval, start, end)
    bars = bars[:limit] if start is not None else bars[-limit:]
    return [[b.t, plain(b.o), plain(b.h), plain(b.l), plain(b.c), plain(b.v), b.T + 1, plain(b.q)] for b in bars]


def _last_price(market: SymbolMarket) -> Decimal:
    if market.trades:
        return Decimal(str(market.trades[-1]["price"]))
    mid = market.book.mid_price()
    return mid if mid is not None else Decimal(0)


def ticker_24hr(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/ticker/24hr`` (one symbol → object, else a list)."""
    now = view.market_ms()
    out = []
    for m in view.chosen(p):
        t = m.ticker_24hr(now)
        out.append({
            "symbol": m.symbol, "priceChange": plain(t["priceChange"]),
            "priceChangePercent": plain(Decimal(t["priceChangePercent"]) / 100),
            "prevClosePrice": plain(t["prevClosePrice"]), "lastPrice": plain(t["lastPrice"]),
            "bidPrice": plain(t["bidPrice"]), "bidQty": plain(t["bidQty"]), "askPrice": plain(t["askPrice"]),
            "askQty": plain(t["askQty"]), "openPrice": plain(t["openPrice"]), "highPrice": plain(t["highPrice"]),
            "lowPrice": plain(t["lowPrice"]), "volume": plain(t["volume"]), "quoteVolume": plain(t["quoteVolume"]),
            "openTime": t["openTime"], "closeTime": t["closeTime"], "count": None,
        })  # fmt: skip
    return out[0] if p.get("symbol") else out


def ticker_price(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/ticker/price``."""
    out = [{"symbol": m.symbol, "price": plain(_last_price(m))} for m in view.chosen(p)]
    return out[0] if p.get("symbol") else out


def book_ticker(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/ticker/bookTicker``."""
    out = []
    for m in view.chosen(p):
        bid, ask = m.book.best_bid(), m.book.best_ask()
        out.append({
            "symbol": m.symbol,
            "bidPrice": plain(bid[0]) if bid else "0", "bidQty": plain(bid[1]) if bid else "0",
            "askPrice": plain(ask[0]) if ask else "0", "askQty": plain(ask[1]) if ask else "0",
        })  # fmt: skip
    return out[0] if p.get("symbol") else out


def avg_price(view: MarketView, p: Params) -> Any:
    """``GET /api/v3/avgPrice`` (5-minute average)."""
    market = view.market(p)
    price = view.engine.avg_price(market.symbol) or _last_price(market)
    return {"mins": 5, "price": plain(price)}


PUBLIC: dict[str, Callable[[MarketView, Params], Any]] = {
    "ping": lambda view, p: {},
    "time": lambda view, p: {"serverTime": view.server_ms()},
    "exchangeInfo": exchange_info,
    "depth": depth,
    "trades": trades,
    "aggTrades": agg_trades,
    "klines": klines,
    "ticker/24hr": ticker_24hr,
    "ticker/price": ticker_price,
    "ticker/bookTicker": book_ticker,
    "avgPrice": avg_price,
}
"""``GET /api/v3/<endpoint>`` → body builder."""
