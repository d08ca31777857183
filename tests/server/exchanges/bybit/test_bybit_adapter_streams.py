"""``BybitAdapter`` streams over real sockets against the simulator's Bybit face (the real BTCUSDT recording
re-encoded as Bybit V5 JSON, manual step): the local book (snapshot + deltas) vs the engine's book, a lost delta
(gap → resubscribe → fresh snapshot), a cut connection (reconnect → resubscribe), trades/tickers/klines/best-level
events, and the private stream (``auth``; order, fill and balance events)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from tradingmcp.server.exchanges.bybit.adapter import BybitAdapter
from tradingmcp.server.exchanges.errors import BadParameter, InvalidSymbol
from tradingmcp.server.exchanges.models import (
    BalanceEvent,
    BookLevel,
    DepthUpdate,
    ExecutionType,
    Kline,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    Stats24h,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
)

from .conftest import BybitSim

D = Decimal
pytestmark = pytest.mark.data
SYMBOL = "BTCUSDT"
T = TypeVar("T")


class Collector:
    """Reads an adapter's event iterator in the background into ``events``."""

    def __init__(self, events: AsyncIterator[Any]) -> None:
        self.events: list[Any] = []
        self._task = asyncio.create_task(self._run(events))

    async def _run(self, events: AsyncIterator[Any]) -> None:
        async for ev in events:
            self.events.append(ev)

    def of(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[str]:
        return [e.state for e in self.of(StreamStatus)]

    async def until(self, cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Poll ``cond`` (it reads state other tasks change) until true, within ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            for _ in iter(cond, True):
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def top(levels: tuple[BookLevel, ...] | list[list[str]], n: int) -> list[tuple[Decimal, Decimal]]:
    return [(lv.price, lv.qty) if isinstance(lv, BookLevel) else (D(lv[0]), D(lv[1])) for lv in levels[:n]]


def book_matches(adapter: BybitAdapter, bs: BybitSim, n: int = 5) -> bool:
    local = adapter.local_book(SYMBOL, n)
    engine = bs.sim.markets[SYMBOL].book
    if local is None:
        return False
    book = adapter.streams.books[SYMBOL]
    depth = engine.depth(n)
    return book.seq == engine.last_update_id and top(local.bids, n) == top(depth["bids"], n) and top(
        local.asks, n) == top(depth["asks"], n)  # fmt: skip


@pytest.fixture
async def market(adapter: BybitAdapter) -> AsyncIterator[Collector]:
    c = Collector(adapter.market_events())
    yield c
    await c.stop()


async def test_every_stream_kind_and_the_local_book(
    adapter: BybitAdapter, bybit_sim: BybitSim, market: Collector
) -> None:
    specs = [StreamSpec(StreamKind.DEPTH, SYMBOL), StreamSpec(StreamKind.BOOK_TICKER, SYMBOL),
             StreamSpec(StreamKind.TRADE, SYMBOL), StreamSpec(StreamKind.KLINE, SYMBOL, "1m"),
             StreamSpec(StreamKind.TICKER_24H, SYMBOL)]  # fmt: skip
    await adapter.subscribe(specs)
    assert sorted(adapter.streams.topics) == sorted(
        ["orderbook.50.BTCUSDT", "orderbook.1.BTCUSDT", "publicTrade.BTCUSDT", "kline.1.BTCUSDT", "tickers.BTCUSDT"]
    )
    await bybit_sim.replay(3000)
    await market.until(lambda: book_matches(adapter, bybit_sim))
    engine = bybit_sim.sim.markets[SYMBOL]
    await market.until(lambda: bool(market.of(Ticker)) and market.of(Ticker)[-1].bid == engine.book.best_bid()[0])  # type: ignore[index]
    assert len(market.of(DepthUpdate)) > 20
    trades = market.of(Trade)
    assert (
        trades and trades[-1].price == D(engine.trades[-1]["price"]) and trades[-1].trade_id == engine.trades[-1]["id"]
    )
    bar = engine.current_bar("1m")
    assert bar is not None
    await market.until(lambda: bool(market.of(Kline)) and market.of(Kline)[-1].close == bar.c)
    assert market.of(Kline)[-1].interval == "1m" and market.of(Kline)[-1].open_time_ms == bar.t
    assert market.of(Stats24h)[-1].last_price == D(engine.trades[-1]["price"])
    await adapter.unsubscribe(specs[2:3])
    assert "publicTrade.BTCUSDT" not in adapter.streams.topics
    with pytest.raises(InvalidSymbol):
        await adapter.subscribe([StreamSpec(StreamKind.TRADE, "DOGEUSDT")])
    with pytest.raises(BadParameter):
        await adapter.subscribe([StreamSpec(StreamKind.KLINE, SYMBOL, "1s")])


async def test_a_lost_delta_is_detected_and_the_book_resynced(
    adapter: BybitAdapter, bybit_sim: BybitSim, market: Collector
) -> None:
    await adapter.subscribe([StreamSpec(StreamKind.DEPTH, SYMBOL)])
    await bybit_sim.replay(500)
    await market.until(lambda: book_matches(adapter, bybit_sim))
    bybit_sim.face.market.drop_depth[SYMBOL] = 1
    await bybit_sim.replay(1500)
    await market.until(lambda: "resynced" in market.states() and book_matches(adapter, bybit_sim))
    gap = next(s for s in market.of(StreamStatus) if s.state == "book_gap")
    assert gap.symbol == SYMBOL and "gap" in gap.detail
    assert adapter.streams.resyncs == 1 and adapter.streams.books[SYMBOL].gaps == 1


async def test_a_cut_connection_reconnects_and_resubscribes(
    adapter: BybitAdapter, bybit_sim: BybitSim, market: Collector
) -> None:
    await adapter.subscribe([StreamSpec(StreamKind.DEPTH, SYMBOL), StreamSpec(StreamKind.TRADE, SYMBOL)])
    await bybit_sim.replay(300)
    await market.until(lambda: book_matches(adapter, bybit_sim))
    await bybit_sim.face.hub.cut()
    await market.until(lambda: market.states().count("connected") >= 2)
    assert "reconnecting" in market.states() and adapter.streams.reconnects == 1
    trades_before = len(market.of(Trade))
    await bybit_sim.replay(1500)
    await market.until(lambda: book_matches(adapter, bybit_sim) and len(market.of(Trade)) > trades_before)


async def test_private_stream_reports_orders_fills_and_balances(adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    await adapter.start_user_stream()
    user = Collector(adapter.user_events())
    try:
        bought = await adapter.place_order(OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, quote_order_qty=D(200),
                                                        client_order_id="stream-buy"))  # fmt: skip

        def trade_events() -> list[OrderEvent]:
            return [e for e in user.of(OrderEvent) if e.execution_type is ExecutionType.TRADE]

        await user.until(lambda: sum(e.last_fill.qty for e in trade_events() if e.last_fill) == bought.executed_qty)
        last = trade_events()[-1]
        assert last.order.status is OrderStatus.FILLED and last.order.client_order_id == "stream-buy"
        assert last.order.order_id == bought.order_id and last.last_fill is not None
        assert last.last_fill.commission_asset == "BTC" and last.last_fill.is_buyer
        await user.until(lambda: any(b.asset == "BTC" for e in user.of(BalanceEvent) for b in e.balances))
        btc = [b for e in user.of(BalanceEvent) for b in e.balances if b.asset == "BTC"][-1]
        assert btc.free == bybit_sim.sim.engine.account_of(adapter.config.api_key).free_of("BTC")
        bid = bybit_sim.sim.markets[SYMBOL].book.best_bid()
        assert bid is not None
        resting = await adapter.place_order(OrderRequest(SYMBOL, Side.BUY, OrderType.LIMIT, quantity=D("0.001"),
                                                         price=(bid[0] * D("0.97")).quantize(D("0.01"))))  # fmt: skip
        await adapter.cancel_order(SYMBOL, client_order_id=resting.client_order_id)
        await user.until(lambda: [e.execution_type for e in user.of(OrderEvent) if e.order.order_id == resting.order_id]
                         == [ExecutionType.NEW, ExecutionType.CANCELED])  # fmt: skip
        assert "connected" in user.states()
    finally:
        await user.stop()
