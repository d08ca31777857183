"""JSON pushes of the Bybit face (sans-I/O): the replayed Binance frames and the engine's user events re-encoded as
Bybit V5 WebSocket messages (derived data: the market is Binance's recording).

Public topics (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook, /trade, /ticker, /kline), see
:class:`MarketPushes`:

* ``orderbook.{50|200|1000}.{SYMBOL}``: a ``snapshot`` on subscription (:meth:`MarketPushes.snapshot`), then a
  ``delta`` per applied ``<s>@depth@100ms`` diff. ``u`` counts the symbol's book messages (``delta.u ==
  previous u + 1``; a snapshot carries the current count), ``seq`` is the matching engine's version (Binance ``u``).
  Quantities are absolute, ``"0"`` removes a level; diffs are not clipped to the topic's depth. When the replay
  restarts (the recorded stream jumps) every subscriber gets a fresh ``snapshot``;
* ``orderbook.1.{SYMBOL}``: snapshots only (the best level), coalesced once per event-loop turn;
* ``publicTrade.{SYMBOL}``: each ``<s>@trade`` (``S`` = the taker's side, ``i`` = trade id);
* ``tickers.{SYMBOL}`` and ``kline.{interval}.{SYMBOL}``: coalesced snapshots after trades.

Private topics (/v5/websocket/private/order, /execution, /wallet), see :class:`PrivatePushes`: ``executionReport`` →
``order`` (+ ``execution`` for a fill); ``outboundAccountPosition`` → ``wallet`` with the changed coins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingmcp.sim.bybit import wire
from tradingmcp.sim.bybit.orders import coin_row
from tradingmcp.sim.bybit.public import KLINE_INTERVALS, ticker_row
from tradingmcp.sim.bybit.wire import OrderIds, plain
from tradingmcp.sim.market import SymbolMarket

Push = tuple[str, str]
"""``(topic, frame text)``."""

BOOK_DEPTHS = (1, 50, 200, 1000)
"""Spot orderbook depths."""
PRIVATE_TOPICS = frozenset({"order", "execution", "wallet", "order.spot", "execution.spot"})


def dumps(obj: Any) -> str:
    """Compact JSON text."""
    return json.dumps(obj, separators=(",", ":"))


def parse_topic(topic: str) -> tuple[str, str | None, str | None]:
    """``(kind, symbol, extra)`` of a public topic: ``("orderbook", "BTCUSDT", "50")``, ``("publicTrade", sym, None)``,
    ``("tickers", sym, None)``, ``("kline", sym, "1")``.

    Raises:
        ValueError: not a served topic shape.
    """
    parts = topic.split(".")
    if len(parts) == 3 and parts[0] == "orderbook" and parts[1] in {str(d) for d in BOOK_DEPTHS}:
        return "orderbook", parts[2], parts[1]
    if len(parts) == 3 and parts[0] == "kline" and parts[1] in KLINE_INTERVALS:
        return "kline", parts[2], parts[1]
    if len(parts) == 2 and parts[0] in ("publicTrade", "tickers"):
        return parts[0], parts[1], None
    raise ValueError(f"unknown topic {topic!r}")


def _levels(rows: list[list[str]] | list[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[plain(p), plain(q)] for p, q in rows]


class MarketPushes:
    """Builds public pushes for the topics someone listens to.

    Args:
        markets: the simulator's markets.
        wants: True when a topic has subscribers.
        clock_ms: the replay clock (``ts``).
    """

    def __init__(
        self, markets: Mapping[str, SymbolMarket], wants: Callable[[str], bool], clock_ms: Callable[[], int]
    ) -> None:
        self.markets = markets
        self.wants = wants
        self.clock_ms = clock_ms
        self.drop_depth: dict[str, int] = {}
        """symbol → how many upcoming ``orderbook`` deltas to drop (tests inject a lost message; ``u`` still counts)."""
        self.u: dict[str, int] = dict.fromkeys(markets, 0)
        self._last_diff: dict[str, int] = {}
        self._by_stream: dict[str, tuple[str, str]] = {}
        for symbol in markets:
            for kind in ("depth@100ms", "trade"):
                self._by_stream[f"{symbol.lower()}@{kind}"] = (symbol, kind)
        self._dirty_books: set[str] = set()
        self._dirty_trades: set[str] = set()
        self._resnap: set[str] = set()

    @property
    def dirty(self) -> bool:
        """True when :meth:`flush` has something to push."""
        return bool(self._dirty_books or self._dirty_trades or self._resnap)

    def snapshot(self, symbol: str, depth: int) -> dict[str, Any]:
        """An ``orderbook.{depth}.{symbol}`` snapshot of the current book (``u`` = the symbol's current count)."""
        book = self.markets[symbol].book.depth(depth)
        return {"topic": f"orderbook.{depth}.{symbol}", "type": "snapshot", "ts": self.clock_ms(),
                "data": {"s": symbol, "b": _levels(book["bids"]), "a": _levels(book["asks"]), "u": self.u[symbol],
                         "seq": int(book["lastUpdateId"])},
                "cts": self.clock_ms()}  # fmt: skip

    def on_frame(self, stream: str, payload: dict[str, Any]) -> list[Push]:
        """Pushes for one replayed Binance frame."""
        found = self._by_stream.get(stream)
        if found is None:
            return []
        symbol, kind = found
        if kind == "trade":
            self._dirty_trades.add(symbol)
            topic = f"publicTrade.{symbol}"
            if not self.wants(topic):
                return []
            row = {"i": str(payload["t"]), "T": int(payload["T"]), "p": plain(payload["p"]), "v": plain(payload["q"]),
                   "S": "Sell" if payload["m"] else "Buy", "s": symbol, "BT": False, "RPI": False}  # fmt: skip
            return [(topic, dumps({"topic": topic, "type": "snapshot", "ts": int(payload["T"]), "data": [row]}))]
        market = self.markets[symbol]
        if not market.snapshot_loaded or int(payload["u"]) <= market.book.last_update_id:
            return []  # the engine's book does not apply it: neither does a Bybit client
        last = self._last_diff.get(symbol)
        self._last_diff[symbol] = int(payload["u"])
        self._dirty_books.add(symbol)
        if last is not None and int(payload["U"]) != last + 1:
            self._resnap.add(symbol)  # the replay jumped (a new pass): fresh snapshots after this turn
            return []
        self.u[symbol] += 1
        if self.drop_depth.get(symbol):
            self.drop_depth[symbol] -= 1
            return []
        out: list[Push] = []
        for depth in BOOK_DEPTHS[1:]:
            topic = f"orderbook.{depth}.{symbol}"
            if self.wants(topic):
                frame = {"topic": topic, "type": "delta", "ts": int(payload.get("E") or self.clock_ms()),
                         "data": {"s": symbol, "b": _levels(payload["b"]), "a": _levels(payload["a"]),
                                  "u": self.u[symbol], "seq": int(payload["u"])},
                         "cts": int(payload.get("E") or self.clock_ms())}  # fmt: skip
                out.append((topic, dumps(frame)))
        return out

    def flush(self) -> list[Push]:
        """Coalesced pushes: depth-1 snapshots, re-snapshots after a replay jump, tickers and open klines."""
        out: list[Push] = []
        now = self.clock_ms()
        books, self._dirty_books = self._dirty_books, set()
        trades, self._dirty_trades = self._dirty_trades, set()
        resnap, self._resnap = self._resnap, set()
        for symbol in resnap:
            self.u[symbol] += 1
            for depth in BOOK_DEPTHS[1:]:
                topic = f"orderbook.{depth}.{symbol}"
                if self.wants(topic):
                    out.append((topic, dumps(self.snapshot(symbol, depth))))
        for symbol in books:
            topic = f"orderbook.1.{symbol}"
            if self.wants(topic):
                out.append((topic, dumps(self.snapshot(symbol, 1))))
        for symbol in trades:
            market = self.markets[symbol]
            topic = f"tickers.{symbol}"
            if self.wants(topic):
                row = ticker_row(market, now)
                data = {k: v for k, v in row.items() if not k.startswith(("bid1", "ask1"))}
                out.append((topic, dumps({"topic": topic, "ts": now, "type": "snapshot", "cs": market.book.last_update_id,
                                          "data": data})))  # fmt: skip
            for interval, sim_interval in KLINE_INTERVALS.items():
                topic = f"kline.{interval}.{symbol}"
                if not self.wants(topic):
                    continue
                bar = market.current_bar(sim_interval)
                if bar is None:
                    continue
                row = {"start": bar.t, "end": bar.T, "interval": interval, "open": plain(bar.o), "close": plain(bar.c),
                       "high": plain(bar.h), "low": plain(bar.l), "volume": plain(bar.v), "turnover": plain(bar.q),
                       "confirm": False, "timestamp": now}  # fmt: skip
                out.append((topic, dumps({"topic": topic, "data": [row], "ts": now, "type": "snapshot"})))
        return out


class PrivatePushes:
    """Turns the engine's user events of Bybit accounts into ``order``/``execution``/``wallet`` pushes.

    Args:
        ids: the shared engine ↔ Bybit order id table.
        fee_of: ``(api_key, symbol, engine order id)`` → the order's cumulative fee.
    """

    def __init__(self, ids: OrderIds, fee_of: Callable[[str, str, int], Decimal]) -> None:
        self.ids = ids
        self.fee_of = fee_of
        self._seq = 0

    def _id(self) -> str:
        self._seq += 1
        return f"sim-{self._seq}"

    def on_event(self, api_key: str, event: Mapping[str, Any]) -> list[Push]:
        """Pushes for one ``(api_key, event)`` the engine queued."""
        kind = event.get("e")
        if kind == "executionReport":
            return self._execution(api_key, event)
        if kind == "outboundAccountPosition":
            coins = [coin_row(str(r["a"]), Decimal(r["f"]), Decimal(r["l"])) for r in event["B"]]
            msg = {"id": self._id(), "topic": "wallet", "creationTime": int(event["E"]),
                   "data": [{"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "totalEquity": "",
                             "totalWalletBalance": "", "coin": coins}]}  # fmt: skip
            return [("wallet", dumps(msg))]
        return []

    def _execution(self, api_key: str, ev: Mapping[str, Any]) -> list[Push]:
        symbol, now = str(ev["s"]), int(ev["E"])
        engine_id = int(ev["i"])
        order_id = self.ids.wire(symbol, engine_id)
        executed, cum_quote = Decimal(ev["z"]), Decimal(ev["Z"])
        qty, price = Decimal(ev["q"]), Decimal(ev["p"])
        status = str(ev["X"])
        bybit_status = wire.STATUS.get(status, "New")
        if status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH") and executed > 0:
            bybit_status = "PartiallyFilledCanceled"
        link = str(ev["C"] or ev["c"]) if ev["x"] == "CANCELED" else str(ev["c"])
        engine_type = str(ev["o"])
        market = engine_type == "MARKET"
        quote_market = market and Decimal(ev.get("Q") or 0) > 0
        tif = "PostOnly" if engine_type == "LIMIT_MAKER" else "IOC" if market else str(ev["f"])
        leaves = qty - executed if status in ("NEW", "PARTIALLY_FILLED") else Decimal(0)
        row = {
            "category": "spot", "symbol": symbol, "orderId": order_id, "orderLinkId": link, "blockTradeId": "",
            "side": wire.side(str(ev["S"])), "positionIdx": 0, "orderStatus": bybit_status, "cancelType": "UNKNOWN",
            "rejectReason": "EC_NoError", "timeInForce": tif, "isLeverage": "0",
            "price": "0" if market else plain(price), "qty": plain(Decimal(ev["Q"]) if quote_market else qty),
            "avgPrice": plain(cum_quote / executed) if executed else "0", "leavesQty": plain(leaves),
            "leavesValue": plain(leaves * price), "cumExecQty": plain(executed), "cumExecValue": plain(cum_quote),
            "cumExecFee": plain(self.fee_of(api_key, symbol, engine_id)), "feeCurrency": str(ev.get("N") or ""),
            "orderType": wire.order_type(engine_type), "stopOrderType": "", "orderIv": "", "triggerPrice": "0",
            "takeProfit": "0", "stopLoss": "0", "marketUnit": ("quoteCoin" if quote_market else "baseCoin") if market else "",
            "createdTime": str(ev["O"]), "updatedTime": str(now), "smpType": "None",
        }  # fmt: skip
        out: list[Push] = [("order", dumps({"id": self._id(), "topic": "order", "creationTime": now, "data": [row]}))]
        if ev["x"] == "TRADE":
            fill = {
                "category": "spot", "symbol": symbol, "orderId": order_id, "orderLinkId": link,
                "side": wire.side(str(ev["S"])), "orderPrice": row["price"], "orderQty": row["qty"],
                "leavesQty": plain(leaves), "orderType": row["orderType"], "stopOrderType": "",
                "execFee": plain(ev["n"]), "feeCurrency": str(ev["N"] or ""), "execId": str(ev["t"]),
                "execPrice": plain(ev["L"]), "execQty": plain(ev["l"]), "execType": "Trade",
                "execValue": plain(ev["Y"]), "execTime": str(ev["T"]), "isMaker": bool(ev["m"]), "feeRate": "0.001",
                "markPrice": "", "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "closedSize": "",
                "seq": int(ev["t"]),
            }  # fmt: skip
            out.append(
                ("execution", dumps({"id": self._id(), "topic": "execution", "creationTime": now, "data": [fill]}))
            )
        return out
