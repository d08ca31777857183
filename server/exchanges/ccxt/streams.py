"""The watch loops of a CCXT venue: each market stream and each account feed is one task calling a ``ccxt.pro``
watch method again and again (https://docs.ccxt.com/#/ccxt.pro.manual?id=usage), turning what it returns into our
events and queuing them.

ccxt.pro returns only what is new since the previous call of the same watch (its ``newUpdates`` mode), reconnects by
itself on the next call after a dropped connection, and raises the error of a failed connection. A loop reports its
first result as ``StreamStatus("connected")`` and every failure as ``StreamStatus("reconnecting")``, then waits
(``retry_delay_s``, doubling to ``max_retry_delay_s``) and calls again.

Account events: ``watch_orders`` gives the changed orders; :class:`OrderTracker` turns each into an ``OrderEvent``
(NEW, TRADE with the fill it added, CANCELED, EXPIRED, REJECTED) by comparing it with what it last saw of that order.
``watch_balance`` gives the whole balance; :class:`BalanceTracker` turns it into a ``BalanceEvent`` of the assets that
changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.ccxt import parse
from tradingmcp.server.exchanges.models import (
    Balance,
    BalanceEvent,
    DepthUpdate,
    ExecutionType,
    Fill,
    MarketEvent,
    Order,
    OrderBookSnapshot,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    StreamKind,
    StreamSpec,
    StreamStatus,
)

__all__ = ["BalanceTracker", "OrderTracker", "Watch", "WatchLoops", "market_watch"]

log = logging.getLogger(__name__)


Watch = tuple[Callable[[], Awaitable[Any]], Callable[[Any], None]]
"""A watch loop's two halves: the ccxt.pro call, and what to do with each result."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def market_watch(
    ex: Any,
    spec: StreamSpec,
    ours: str,
    unified: str,
    put: Callable[[MarketEvent], None],
    books: dict[str, OrderBookSnapshot],
    server_ms: Callable[[], int],
) -> Watch:
    """The watch of one market stream: TRADE/AGG_TRADE ``watch_trades``; DEPTH ``watch_order_book`` (the latest book
    kept in ``books[ours]``, a ``DepthUpdate`` without levels announcing it); BOOK_TICKER :func:`_quote_watch`;
    TICKER_24H ``watch_ticker``; KLINE ``watch_ohlcv`` (a candle is closed once ``server_ms()`` passed its end)."""
    if spec.kind in (StreamKind.TRADE, StreamKind.AGG_TRADE):

        def on_trades(rows: Any) -> None:
            for row in rows:
                put(parse.trade(ours, row))

        return (lambda: ex.watch_trades(unified)), on_trades
    if spec.kind is StreamKind.DEPTH:

        def on_book(raw: Any) -> None:
            snapshot = parse.book(ours, raw)
            books[ours] = snapshot
            nonce = snapshot.last_update_id
            put(DepthUpdate(ours, nonce, nonce, (), (), snapshot.time_ms))

        return (lambda: ex.watch_order_book(unified)), on_book
    if spec.kind is StreamKind.BOOK_TICKER:
        return _quote_watch(ex, ours, unified, put)
    if spec.kind is StreamKind.TICKER_24H:
        return (lambda: ex.watch_ticker(unified)), (lambda raw: put(parse.stats(ours, raw)))
    interval = spec.interval or "1m"

    def on_candles(rows: Any) -> None:
        now = server_ms()
        for row in rows:
            put(parse.kline(ours, interval, row, now))

    return (lambda: ex.watch_ohlcv(unified, interval)), on_candles


def _quote_watch(ex: Any, ours: str, unified: str, put: Callable[[MarketEvent], None]) -> Watch:
    """Best bid/ask: ``watch_ticker`` while its tickers carry a bid and an ask (MEXC's do: a book ticker), else
    ``watch_bids_asks`` (Binance's sandbox ticker is a mini ticker without them)."""
    use_ticker = [True]

    async def watch() -> tuple[bool, Any]:
        if use_ticker[0]:
            return True, await ex.watch_ticker(unified)
        return False, await ex.watch_bids_asks([unified])

    def handle(result: tuple[bool, Any]) -> None:
        from_ticker, raw = result
        if not from_ticker and isinstance(raw, Mapping):
            raw = raw.get(unified, raw)
        quote = parse.ticker(ours, raw if isinstance(raw, Mapping) else {})
        if quote.bid and quote.ask:
            put(quote)
        elif from_ticker and ex.has.get("watchBidsAsks"):
            use_ticker[0] = False

    return watch, handle


class WatchLoops:
    """Named watch loops (one task each); ``status`` receives their ``StreamStatus`` notices."""

    def __init__(self, status: Callable[[StreamStatus], None], retry_delay_s: float, max_retry_delay_s: float) -> None:
        self._status = status
        self._retry = retry_delay_s
        self._max_retry = max_retry_delay_s
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.first_result: dict[str, asyncio.Event] = {}

    @property
    def names(self) -> list[str]:
        """The running loops."""
        return list(self._tasks)

    def start(
        self, name: str, watch: Callable[[], Awaitable[Any]], handle: Callable[[Any], None], symbol: str | None = None
    ) -> None:
        """Start loop ``name`` (no-op when it runs): ``handle(await watch())`` forever."""
        if name in self._tasks:
            return
        self.first_result[name] = asyncio.Event()
        self._tasks[name] = asyncio.get_running_loop().create_task(
            self._run(name, watch, handle, symbol), name=f"ccxt-{name}"
        )

    async def stop(self, name: str) -> None:
        """Stop loop ``name`` (no-op when it does not run)."""
        task = self._tasks.pop(name, None)
        self.first_result.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def close(self) -> None:
        for name in list(self._tasks):
            await self.stop(name)

    async def _run(
        self, name: str, watch: Callable[[], Awaitable[Any]], handle: Callable[[Any], None], symbol: str | None
    ) -> None:
        delay = self._retry
        connected = False
        while True:
            try:
                result = await watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("ccxt watch %s failed: %s", name, exc)
                connected = False
                self._status(StreamStatus("reconnecting", f"{name}: {exc}", symbol, now_ms()))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry)
                continue
            delay = self._retry
            if not connected:
                connected = True
                self._status(StreamStatus("connected", name, symbol, now_ms()))
                event = self.first_result.get(name)
                if event is not None:
                    event.set()
            try:
                handle(result)
            except Exception:
                log.exception("ccxt watch %s: handling a result failed", name)


class OrderTracker:
    """ccxt orders (as ``watch_orders`` gives them) → ``OrderEvent``s, by what changed since the last sight of each.

    Where a fill comes from, in order of preference:

    * the raw update, when it is a Binance ``executionReport`` (the trade's own quantity, price, commission, id);
    * ``watch_my_trades`` (:meth:`on_trades`, when :attr:`fills_from_trades` is set: the exchange's trades of the
      account, with their ids and fees); the order update is then a TRADE event without a fill, and the trade a TRADE
      event with it and the order's last known state;
    * else the change of the executed quantity and cost since the last sight, with ccxt's fee taken as the order's
      cumulative fee and ``trade_id`` ``<order id>-<executed quantity>`` (unique per fill of the order).

    A fill is emitted once per (symbol, trade id), whichever feed brings it first.
    """

    def __init__(self, symbol_of: Callable[[Mapping[str, Any]], str], max_orders: int = 10_000) -> None:
        self._symbol_of = symbol_of
        self._max = max_orders
        # by (symbol, order id): an exchange's order ids may be unique per symbol only (Binance's are)
        self._seen: dict[tuple[str, int | str], tuple[Decimal, Decimal, Decimal, OrderStatus]] = {}
        self._client_ids: dict[tuple[str, int | str], str] = {}
        self._orders: dict[tuple[str, int | str], Order] = {}
        self._fills: dict[tuple[str, int | str], None] = {}
        self.fills_from_trades = False

    def _new_fill(self, fill: Fill) -> bool:
        """True the first time this fill is seen."""
        key = (fill.symbol, fill.trade_id)
        if key in self._fills:
            return False
        self._fills[key] = None
        while len(self._fills) > self._max:
            del self._fills[next(iter(self._fills))]
        return True

    def on_trades(self, raws: list[Mapping[str, Any]]) -> list[OrderEvent]:
        """``watch_my_trades`` rows → TRADE events carrying each new fill and its order's last known state."""
        out = []
        for raw in raws:
            fill = parse.fill(self._symbol_of(raw), raw)
            if not self._new_fill(fill):
                continue
            key = (fill.symbol, fill.order_id)
            order = self._orders.get(key) or Order(
                order_id=fill.order_id, client_order_id=self._client_ids.get(key, ""), symbol=fill.symbol,
                side=Side.BUY if fill.is_buyer else Side.SELL, type=OrderType.LIMIT, time_in_force=None,
                price=fill.price, stop_price=Decimal(0), orig_qty=fill.qty, executed_qty=fill.qty,
                cumulative_quote_qty=fill.quote_qty, status=OrderStatus.PARTIALLY_FILLED, time_ms=fill.time_ms,
                update_time_ms=fill.time_ms,
            )  # fmt: skip
            out.append(OrderEvent(order, ExecutionType.TRADE, fill.time_ms or now_ms(), fill))
        return out

    def remember(self, order: Order) -> None:
        """An order placed by this adapter: its client order id (an update that omits it gets it back)."""
        self._client_ids[(order.symbol, order.order_id)] = order.client_order_id
        self._trim()

    def _trim(self) -> None:
        for book in (self._seen, self._client_ids, self._orders):
            while len(book) > self._max:
                del book[next(iter(book))]

    def on_orders(self, raws: list[Mapping[str, Any]]) -> list[OrderEvent]:
        out = []
        for raw in raws:
            symbol = self._symbol_of(raw)
            oid = parse.order_id(raw.get("id"))
            order = parse.order(symbol, raw, self._client_ids.get((symbol, oid)))
            self._orders[(symbol, order.order_id)] = order
            event = self._event(order, raw)
            if event.last_fill is not None and not self._new_fill(event.last_fill):
                event = OrderEvent(order, event.execution_type, event.event_time_ms)
            out.append(event)
        self._trim()
        return out

    def _event(self, order: Order, raw: Mapping[str, Any]) -> OrderEvent:
        fee = raw.get("fee") or {}
        fee_cost = parse.dec(fee.get("cost"))
        prev = self._seen.get((order.symbol, order.order_id))
        self._seen[(order.symbol, order.order_id)] = (
            order.executed_qty,
            order.cumulative_quote_qty,
            fee_cost,
            order.status,
        )
        event_ms = order.update_time_ms or now_ms()
        prev_qty, prev_quote, prev_fee = (prev[0], prev[1], prev[2]) if prev else (Decimal(0),) * 3
        if order.executed_qty > prev_qty:
            raw_info = raw.get("info")
            info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
            if info.get("e") == "executionReport" and info.get("x") == "TRADE":
                last = _execution_report_fill(order, info)
            elif self.fills_from_trades:
                return OrderEvent(order, ExecutionType.TRADE, event_ms)
            else:
                qty = order.executed_qty - prev_qty
                quote = order.cumulative_quote_qty - prev_quote
                price = quote / qty if quote > 0 else order.price
                last = Fill(
                    symbol=order.symbol, trade_id=f"{order.order_id}-{order.executed_qty}", order_id=order.order_id,
                    price=price, qty=qty, quote_qty=quote if quote > 0 else price * qty,
                    commission=fee_cost - prev_fee, commission_asset=str(fee.get("currency") or ""),
                    is_maker=raw.get("takerOrMaker") == "maker", time_ms=event_ms, is_buyer=order.side.value == "BUY",
                )  # fmt: skip
            return OrderEvent(order, ExecutionType.TRADE, event_ms, last)
        kinds = {
            OrderStatus.CANCELED: ExecutionType.CANCELED,
            OrderStatus.EXPIRED: ExecutionType.EXPIRED,
            OrderStatus.REJECTED: ExecutionType.REJECTED,
        }
        return OrderEvent(order, kinds.get(order.status, ExecutionType.NEW), event_ms)


def _execution_report_fill(order: Order, info: Mapping[str, Any]) -> Fill:
    """The fill a Binance ``executionReport`` (x TRADE) describes: last quantity ``l`` at ``L``, commission ``n`` in
    ``N``, trade id ``t``, maker ``m``, time ``T``."""
    qty, price = parse.dec(info.get("l")), parse.dec(info.get("L"))
    trade_id = info.get("t")
    return Fill(
        symbol=order.symbol, trade_id=trade_id if isinstance(trade_id, int) else f"{order.order_id}-{order.executed_qty}",
        order_id=order.order_id, price=price, qty=qty, quote_qty=parse.dec(info.get("Y")) or price * qty,
        commission=parse.dec(info.get("n")), commission_asset=str(info.get("N") or ""), is_maker=bool(info.get("m")),
        time_ms=int(info.get("T") or 0), is_buyer=order.side.value == "BUY",
    )  # fmt: skip


class BalanceTracker:
    """ccxt balances (as ``watch_balance`` gives them, whole) → ``BalanceEvent``s of the assets that changed."""

    def __init__(self) -> None:
        self._last: dict[str, Balance] = {}

    def on_balance(self, raw: Mapping[str, Any]) -> BalanceEvent | None:
        changed = []
        for b in parse.balances(raw, non_zero=False):
            if self._last.get(b.asset) != b:
                if b.asset in self._last or b.total:
                    changed.append(b)
                self._last[b.asset] = b
        if not changed:
            return None
        return BalanceEvent(int(raw.get("timestamp") or now_ms()), tuple(changed))
