"""Protobuf pushes of the MEXC face (sans-I/O): the replayed Binance frames and the engine's user events re-encoded
as MEXC ``PushDataV3ApiWrapper`` frames (derived data: the market is Binance's recording).

Market (:class:`MarketPushes`), topic by topic
(https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams):

* ``aggre.depth`` ← each ``<s>@depth@100ms`` diff: ``fromVersion``/``toVersion`` = Binance ``U``/``u``, so
  ``fromVersion == previous toVersion + 1`` and the REST ``lastUpdateId`` continues the sequence;
* ``aggre.bookTicker`` ← ``<s>@bookTicker`` (``version`` = ``u``); ``aggre.deals`` ← each ``<s>@trade``;
* ``limit.depth`` (5/10/20 levels) and ``kline`` (the open candle) are snapshots, coalesced: :meth:`flush`
  (run once per event-loop turn) pushes the current book / candle of each symbol that changed.

Account (:class:`PrivatePushes`): ``executionReport`` → ``private.orders`` (+ ``private.deals`` for a fill);
``outboundAccountPosition`` → one ``private.account`` per asset (change = difference from the last pushed balance).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import Trade
from tradingmcp.sim.market import SymbolMarket
from tradingmcp.sim.mexc import encode, topics
from tradingmcp.sim.mexc.wire import OrderIds, mexc_type, plain

Push = tuple[str, bytes]
"""``(topic, frame)``."""

KLINE_SIM_INTERVALS = {"Min1": "1m", "Min5": "5m", "Min15": "15m", "Min30": "30m", "Min60": "1h", "Hour4": "4h",
                       "Hour8": "8h", "Day1": "1d", "Week1": "1w", "Month1": "1M"}  # fmt: skip
"""MEXC WebSocket kline interval → the simulator's interval."""

_ZERO = Decimal(0)


def _levels(rows: list[list[str]]) -> list[tuple[str, str]]:
    return [(plain(p), plain(q)) for p, q in rows]


class MarketPushes:
    """Builds market pushes for the topics someone listens to.

    Args:
        markets: the simulator's markets (books and bars for the coalesced snapshots).
        wants: True when a topic has subscribers.
        clock_ms: the replay clock (``sendTime``).
    """

    def __init__(
        self, markets: Mapping[str, SymbolMarket], wants: Callable[[str], bool], clock_ms: Callable[[], int]
    ) -> None:
        self.markets = markets
        self.wants = wants
        self.clock_ms = clock_ms
        self.drop_depth: dict[str, int] = {}
        """symbol → how many upcoming ``aggre.depth`` pushes to drop (tests inject a lost packet)."""
        self._by_stream: dict[str, tuple[str, str]] = {}
        for symbol in markets:
            prefix = symbol.lower() + "@"
            for kind in ("depth@100ms", "bookTicker", "trade"):
                self._by_stream[prefix + kind] = (symbol, kind)
        self._topics = {
            s: {
                kind: tuple(fn(s, interval) for interval in topics.PUSH_INTERVALS)
                for kind, fn in (
                    ("depth@100ms", topics.aggre_depth),
                    ("bookTicker", topics.aggre_book_ticker),
                    ("trade", topics.aggre_deals),
                )
            }
            for s in markets
        }
        self._dirty_books: set[str] = set()
        self._dirty_klines: set[str] = set()

    @property
    def dirty(self) -> bool:
        """True when :meth:`flush` has snapshots to push."""
        return bool(self._dirty_books or self._dirty_klines)

    def on_frame(self, stream: str, payload: dict[str, Any]) -> list[Push]:
        """Pushes for one replayed Binance frame (``<s>@depth@100ms``, ``<s>@bookTicker``, ``<s>@trade``)."""
        found = self._by_stream.get(stream)
        if found is None:
            return []
        symbol, kind = found
        out: list[Push] = []
        if kind == "depth@100ms":
            self._dirty_books.add(symbol)
        elif kind == "trade":
            self._dirty_klines.add(symbol)
        wanted = [t for t in self._topics[symbol][kind] if self.wants(t)]
        if not wanted:
            return out
        now = self.clock_ms()
        if kind == "depth@100ms" and self.drop_depth.get(symbol):
            self.drop_depth[symbol] -= 1
            return out
        for topic in wanted:
            interval = topic.split("@")[2]
            if kind == "depth@100ms":
                frame = encode.encode_aggre_depth(
                    symbol, bids=_levels(payload["b"]), asks=_levels(payload["a"]), from_version=int(payload["U"]),
                    to_version=int(payload["u"]), send_time_ms=int(payload.get("E") or now), interval=interval,
                )  # fmt: skip
            elif kind == "bookTicker":
                frame = encode.encode_aggre_book_ticker(
                    symbol, bid=plain(payload["b"]), bid_qty=plain(payload["B"]), ask=plain(payload["a"]),
                    ask_qty=plain(payload["A"]), send_time_ms=now, version=int(payload["u"]), interval=interval,
                )  # fmt: skip
            else:
                trade = Trade(symbol, int(payload["t"]), Decimal(payload["p"]), Decimal(payload["q"]),
                              int(payload["T"]), bool(payload["m"]))  # fmt: skip
                frame = encode.encode_aggre_deals(symbol, [trade], send_time_ms=int(payload["T"]), interval=interval)
            out.append((topic, frame))
        return out

    def flush(self) -> list[Push]:
        """The coalesced ``limit.depth`` and ``kline`` pushes of the symbols that changed since the last flush."""
        out: list[Push] = []
        now = self.clock_ms()
        books, self._dirty_books = self._dirty_books, set()
        klines, self._dirty_klines = self._dirty_klines, set()
        for symbol in books:
            market = self.markets[symbol]
            for levels in topics.LIMIT_DEPTH_LEVELS:
                topic = topics.limit_depth(symbol, levels)
                if not self.wants(topic):
                    continue
                body = market.book.depth(levels)
                frame = encode.encode_limit_depth(
                    symbol, bids=_levels(body["bids"]), asks=_levels(body["asks"]),
                    version=int(body["lastUpdateId"]), levels=levels, send_time_ms=now,
                )  # fmt: skip
                out.append((topic, frame))
        for symbol in klines:
            for mexc_interval, sim_interval in KLINE_SIM_INTERVALS.items():
                topic = topics.kline(symbol, mexc_interval)
                if not self.wants(topic):
                    continue
                bar = self.markets[symbol].current_bar(sim_interval)
                if bar is None:
                    continue
                frame = encode.encode_kline(
                    symbol, interval=mexc_interval, window_start_s=bar.t // 1000, open=plain(bar.o),
                    high=plain(bar.h), low=plain(bar.l), close=plain(bar.c), volume=plain(bar.v),
                    amount=plain(bar.q), send_time_ms=now, window_end_s=(bar.T + 1) // 1000,
                )  # fmt: skip
                out.append((topic, frame))
        return out


_STATUS_CODES = {"NEW": 1, "FILLED": 2, "PARTIALLY_FILLED": 3}
"""Engine status → ``privateOrders.status`` (canceled/expired: 4, or 5 when partly filled)."""


class PrivatePushes:
    """Turns the engine's user events of MEXC accounts into private pushes.

    Args:
        ids: the shared engine ↔ MEXC order id table.
        balances: ``{api_key: {asset: (free, locked)}}`` as last known (seeded from the accounts).
    """

    def __init__(self, ids: OrderIds, balances: dict[str, dict[str, tuple[Decimal, Decimal]]]) -> None:
        self.ids = ids
        self.balances = balances

    def on_event(self, api_key: str, event: Mapping[str, Any]) -> list[Push]:
        """Pushes for one ``(api_key, event)`` the engine queued (unknown event types give nothing)."""
        kind = event.get("e")
        if kind == "executionReport":
            return self._execution(event)
        if kind == "outboundAccountPosition":
            return self._position(api_key, event)
        return []

    def _execution(self, ev: Mapping[str, Any]) -> list[Push]:
        symbol, status, now = str(ev["s"]), str(ev["X"]), int(ev["E"])
        executed, cum_quote = Decimal(ev["z"]), Decimal(ev["Z"])
        qty, price = Decimal(ev["q"]), Decimal(ev["p"])
        code = _STATUS_CODES.get(status, 5 if executed > 0 else 4)
        order_id = self.ids.wire(symbol, int(ev["i"]))
        client_id = str(ev["C"] or ev["c"]) if ev["x"] == "CANCELED" else str(ev["c"])
        is_fill = ev["x"] == "TRADE"
        out: list[Push] = [
            (
                topics.PRIVATE_ORDERS,
                encode.encode_private_order(
                    symbol, order_id=order_id, client_order_id=client_id, price=plain(price), quantity=plain(qty),
                    amount=plain(price * qty), avg_price=plain(cum_quote / executed if executed else _ZERO),
                    order_type=encode.ORDER_TYPE_CODES[mexc_type(str(ev["o"]), str(ev["f"]))],
                    trade_type=encode.BUY if ev["S"] == "BUY" else encode.SELL, status=code,
                    cumulative_quantity=plain(executed), cumulative_amount=plain(cum_quote),
                    remain_quantity=plain(qty - executed), remain_amount=plain(max(price * qty - cum_quote, _ZERO)),
                    create_time_ms=int(ev["O"]), send_time_ms=now, is_maker=bool(ev["m"]),
                    last_deal_quantity=plain(ev["l"]) if is_fill else None,
                ),
            )
        ]  # fmt: skip
        if is_fill:
            out.append((
                topics.PRIVATE_DEALS,
                encode.encode_private_deal(
                    symbol, price=plain(ev["L"]), quantity=plain(ev["l"]), amount=plain(ev["Y"]),
                    trade_type=encode.BUY if ev["S"] == "BUY" else encode.SELL, is_maker=bool(ev["m"]),
                    trade_id=f"{int(ev['t']):032x}", order_id=order_id, client_order_id=client_id,
                    fee_amount=plain(ev["n"]), fee_currency=str(ev["N"] or ""), time_ms=int(ev["T"]),
                    send_time_ms=now,
                ),
            ))  # fmt: skip
        return out

    def _position(self, api_key: str, ev: Mapping[str, Any]) -> list[Push]:
        known = self.balances.setdefault(api_key, {})
        now = int(ev["E"])
        out: list[Push] = []
        for row in ev["B"]:
            asset, free, locked = str(row["a"]), Decimal(row["f"]), Decimal(row["l"])
            old_free, old_locked = known.get(asset, (_ZERO, _ZERO))
            known[asset] = (free, locked)
            frame = encode.encode_private_account(
                asset=asset, balance=plain(free), balance_change=plain(free - old_free), frozen=plain(locked),
                frozen_change=plain(locked - old_locked), change_type="ENTRUST", time_ms=now, send_time_ms=now,
            )  # fmt: skip
            out.append((topics.PRIVATE_ACCOUNT, frame))
        return out
