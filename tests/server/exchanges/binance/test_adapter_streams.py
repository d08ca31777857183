"""Market streams and the user data stream against the simulator: local book vs bookTicker, live
SUBSCRIBE/UNSUBSCRIBE, a stream cut mid-replay (reconnect → resubscribe → resync → book matches again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.book import SyncState
from tradingmcp.server.exchanges.models import (
    BalanceEvent,
    BookLevel,
    DepthUpdate,
    MarketEvent,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
    UserEvent,
)
from tradingmcp.sim.app import Simulator

pytestmark = pytest.mark.data
D = Decimal


@dataclass
class Watch:
    """What a consumer saw: oracle checks of the local book against bookTickers, statuses, trades."""

    checked: int = 0
    mismatches: list[Ticker] = field(default_factory=list)
    statuses: list[StreamStatus] = field(default_factory=list)
    trades: dict[str, int] = field(default_factory=dict)
    early: dict[int, Ticker] = field(default_factory=dict)


def check(adapter: BinanceAdapter, tick: Ticker, watch: Watch) -> None:
    book = adapter.streams.books.get(tick.symbol)
    if book is None or tick.update_id is None or book.state is not SyncState.SYNCED:
        return
    if tick.update_id > book.last_update_id:
        watch.early[tick.update_id] = tick
    elif tick.update_id == book.last_update_id:
        watch.checked += 1
        if (book.best_bid(), book.best_ask()) != (BookLevel(tick.bid, tick.bid_qty), BookLevel(tick.ask, tick.ask_qty)):
            watch.mismatches.append(tick)


async def consume(
    events: AsyncIterator[MarketEvent], adapter: BinanceAdapter, watch: Watch, until: Callable[[Watch], bool]
) -> None:
    """Read market events (the consumer keeps up, so the book is at the event's position) until ``until``."""
    async for event in events:
        if isinstance(event, StreamStatus):
            watch.statuses.append(event)
        elif isinstance(event, Ticker):
            check(adapter, event, watch)
        elif isinstance(event, DepthUpdate):
            if (early := watch.early.pop(event.final_update_id, None)) is not None:
                check(adapter, early, watch)
        elif isinstance(event, Trade):
            watch.trades[event.symbol] = watch.trades.get(event.symbol, 0) + 1
        if until(watch):
            return


async def test_local_book_matches_book_ticker_and_survives_a_cut(adapter: BinanceAdapter, sim: Simulator) -> None:
    specs = [StreamSpec(StreamKind.DEPTH, "BTCUSDT"), StreamSpec(StreamKind.BOOK_TICKER, "BTCUSDT")]
    await adapter.subscribe(specs)
    events = adapter.market_events()
    watch = Watch()
    async with asyncio.timeout(20):
        await consume(events, adapter, watch, lambda w: w.checked >= 10)
    assert watch.mismatches == []
    assert [s.state for s in watch.statuses][:2] == ["connected", "resynced"]
    local = adapter.local_book("BTCUSDT", 5)
    assert local is not None and len(local.bids) == 5 and local.bids[0].price < local.asks[0].price

    # cut every stream connection server-side, mid-replay
    for conn in sim.hub.open_connections:
        assert conn.conn is not None
        conn.conn.close()
    cut_at = len(watch.statuses)
    before = watch.checked
    async with asyncio.timeout(20):
        await consume(events, adapter, watch, lambda w: w.checked >= before + 10)
    after = [s.state for s in watch.statuses[cut_at:]]
    assert after[0] == "reconnecting" and "connected" in after and "resynced" in after
    assert after.index("connected") < after.index("resynced")
    assert watch.mismatches == [] and adapter.streams.reconnects >= 1
    assert adapter.streams.books["BTCUSDT"].state is SyncState.SYNCED


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Poll ``condition`` every 10 ms (bounded by ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        for _ in range(int(timeout_s * 200)):
            if condition():
                return
            await asyncio.sleep(0.01)


async def test_live_subscribe_and_unsubscribe(adapter: BinanceAdapter, sim: Simulator) -> None:
    await adapter.subscribe([StreamSpec(StreamKind.BOOK_TICKER, "ETHUSDT")])
    watch = Watch()
    consumer = asyncio.create_task(consume(adapter.market_events(), adapter, watch, lambda w: False))
    try:
        await until(lambda: any(s.state == "connected" for s in watch.statuses), 10)
        await adapter.subscribe([StreamSpec(StreamKind.TRADE, "BTCUSDT"), StreamSpec(StreamKind.TRADE, "ETHUSDT")])
        assert set(adapter.streams.wanted) == {"ethusdt@bookTicker", "btcusdt@trade", "ethusdt@trade"}
        await until(lambda: watch.trades.get("BTCUSDT", 0) >= 3, 20)
        await adapter.unsubscribe([StreamSpec(StreamKind.TRADE, "BTCUSDT"), StreamSpec(StreamKind.TRADE, "ETHUSDT")])
        await asyncio.sleep(0.1)  # the consumer drains what was queued before
        watch.trades.clear()
        await asyncio.sleep(1.0)
        assert watch.trades == {}  # no trade event after unsubscribe returned
        assert not consumer.done()
    finally:
        consumer.cancel()
    assert adapter.local_book("ETHUSDT") is None  # not a DEPTH subscription
    with pytest.raises(ValueError, match="interval"):
        await adapter.subscribe([StreamSpec(StreamKind.KLINE, "BTCUSDT")])


async def next_user_event(events: AsyncIterator[UserEvent], want: Callable[[UserEvent], bool]) -> UserEvent:
    async with asyncio.timeout(5):
        async for event in events:
            if want(event):
                return event
    raise AssertionError("user stream ended")


async def test_user_data_stream(adapter: BinanceAdapter) -> None:
    await adapter.start_user_stream()
    events = adapter.user_events()
    request = OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.001"), price=D(60000), client_order_id="watch-me"
    )
    placed = await adapter.place_order(request)
    new = await next_user_event(events, lambda e: isinstance(e, OrderEvent))
    assert isinstance(new, OrderEvent) and new.order.client_order_id == "watch-me"
    assert new.order.status is OrderStatus.NEW and new.order.order_id == placed.order_id
    balance = await next_user_event(events, lambda e: isinstance(e, BalanceEvent))
    assert isinstance(balance, BalanceEvent)
    usdt = {b.asset: b for b in balance.balances}["USDT"]
    assert usdt.locked == D(60)
    await adapter.cancel_order("BTCUSDT", client_order_id="watch-me")
    gone = await next_user_event(events, lambda e: isinstance(e, OrderEvent))
    assert isinstance(gone, OrderEvent) and gone.order.status is OrderStatus.CANCELED
    assert gone.order.client_order_id == "watch-me"
    market = OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, quantity=D("0.001"))
    await adapter.place_order(market)
    fill = await next_user_event(events, lambda e: isinstance(e, OrderEvent) and e.last_fill is not None)
    assert isinstance(fill, OrderEvent) and fill.last_fill is not None
    assert fill.last_fill.qty == D("0.001") and D(61_000) < fill.last_fill.price < D(62_000)
