"""``MexcAdapter`` streams over real sockets against the MEXC-shaped fake replaying the real BTCUSDT recording:
local book vs bookTicker and vs the exchange's book, a cut mid-replay (reconnect → resubscribe → resync), the
30-topics-per-connection split, PING keepalive, and the user data stream (listenKey, merged fills, balances)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.mexc import control, encode
from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
from tradingmcp.server.exchanges.mexc.errors import BadParameter, InvalidSymbol, NotSupported
from tradingmcp.server.exchanges.models import (
    BalanceEvent,
    BookLevel,
    DepthUpdate,
    Kline,
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

from .conftest import fake_config
from .fake_mexc import RECORDED, FakeMexc

D = Decimal
pytestmark = pytest.mark.data
BOOK_SPECS = [StreamSpec(StreamKind.DEPTH, RECORDED), StreamSpec(StreamKind.BOOK_TICKER, RECORDED),
              StreamSpec(StreamKind.TRADE, RECORDED)]  # fmt: skip


@dataclass
class Watch:
    """What a consumer saw. Two oracles for the local book, checked whenever the consumer has caught up with it
    (the book's version is the event's): the fake's own book at that version, and the real recording's bookTicker
    carrying that version (Binance's ``u``: its best bid/ask equals the book rebuilt up to that diff)."""

    checked: int = 0
    ticker_checked: int = 0
    mismatches: list[object] = field(default_factory=list)
    statuses: list[StreamStatus] = field(default_factory=list)
    early: dict[int, Ticker] = field(default_factory=dict)
    trades: int = 0


def _best(adapter: MexcAdapter, version: int) -> tuple[BookLevel | None, BookLevel | None] | None:
    book = adapter.streams.books.get(RECORDED)
    if book is None or not book.is_synced or book.version != version:
        return None
    return book.best_bid(), book.best_ask()


def on_diff(adapter: MexcAdapter, fake: FakeMexc, diff: DepthUpdate, watch: Watch) -> None:
    local = _best(adapter, diff.final_update_id)
    if local is None:
        return
    (bp, bq), (ap, aq) = fake.market.best_at[diff.final_update_id]
    watch.checked += 1
    if local != (BookLevel(bp, bq), BookLevel(ap, aq)):
        watch.mismatches.append(diff)
    tick = watch.early.pop(diff.final_update_id, None)
    if tick is not None:
        watch.ticker_checked += 1
        if local != (BookLevel(tick.bid, tick.bid_qty), BookLevel(tick.ask, tick.ask_qty)):
            watch.mismatches.append(tick)


async def consume(events: AsyncIterator[MarketEvent], adapter: MexcAdapter, fake: FakeMexc, watch: Watch,
                  until: Callable[[Watch], bool]) -> None:  # fmt: skip
    async for event in events:
        if isinstance(event, StreamStatus):
            watch.statuses.append(event)
        elif isinstance(event, Ticker) and event.update_id is not None:
            watch.early[event.update_id] = event  # its diff (same version) comes later, if ever
        elif isinstance(event, Trade):
            watch.trades += 1
        elif isinstance(event, DepthUpdate):
            on_diff(adapter, fake, event, watch)
        if until(watch):
            return


async def test_local_book_follows_the_exchange_and_survives_a_cut(adapter: MexcAdapter, fake: FakeMexc) -> None:
    watch = Watch()
    events = adapter.market_events()
    async with asyncio.timeout(30):
        await adapter.subscribe(BOOK_SPECS)
        await consume(events, adapter, fake, watch, lambda w: w.checked >= 50 and w.ticker_checked >= 5)
        assert watch.trades > 0 and not watch.mismatches
        assert [s.state for s in watch.statuses] == ["connected", "resynced"]
        await fake.cut()
        await consume(events, adapter, fake, watch, lambda w: [s.state for s in w.statuses].count("resynced") >= 2)
        states = [s.state for s in watch.statuses]
        assert states[2:] == ["reconnecting", "connected", "resynced"]
        checked_before = watch.checked
        await consume(events, adapter, fake, watch, lambda w: w.checked >= checked_before + 50)
        await fake.replay_done.wait()
        for _ in range(500):  # the last pushes may still be in flight
            if adapter.streams.books[RECORDED].version == fake.market.version:
                break
            await asyncio.sleep(0.01)
    assert not watch.mismatches
    assert fake.connections_opened == 2 and adapter.streams.reconnects == 1
    (client,) = fake.clients
    assert len(client.topics) == 3  # resubscribed everything on the new connection
    local = adapter.local_book(RECORDED, 20)
    bids, asks = fake.market.top(20)
    assert local is not None and local.last_update_id == fake.market.version
    assert local.bids == tuple(BookLevel(p, q) for p, q in bids) and local.asks == tuple(
        BookLevel(p, q) for p, q in asks
    )


async def test_lost_diff_is_a_gap_then_a_resync(adapter: MexcAdapter, fake: FakeMexc) -> None:
    fake.drop_depth = {60}
    watch = Watch()
    events = adapter.market_events()
    async with asyncio.timeout(30):
        await adapter.subscribe(BOOK_SPECS[:1])
        await consume(events, adapter, fake, watch, lambda w: [s.state for s in w.statuses].count("resynced") >= 2)
        gap = next(s for s in watch.statuses if s.state == "book_gap")
        assert gap.symbol == RECORDED and "gap" in gap.detail
        checked_before = watch.checked
        await consume(events, adapter, fake, watch, lambda w: w.checked >= checked_before + 30)
    assert [s.state for s in watch.statuses] == ["connected", "resynced", "book_gap", "resynced"]
    assert not watch.mismatches and adapter.streams.books[RECORDED].resyncs == 1 and fake.connections_opened == 1


async def test_topics_are_spread_30_per_connection_and_kept_alive(fake: FakeMexc) -> None:
    symbols = ["BTCUSDT", "LTCUSDT", "ADAUSDT", "XRPUSDT", "SOLUSDT", "TRXUSDT"]
    intervals = ["1m", "5m", "15m", "30m", "1h", "4h"]
    specs = [StreamSpec(StreamKind.KLINE, s, i) for s in symbols for i in intervals]  # 36 topics
    async with asyncio.timeout(10), MexcAdapter(fake_config(fake, ping_interval_s=0.05)) as ex:
        await ex.subscribe(specs)
        await ex.subscribe([StreamSpec(StreamKind.AGG_TRADE, "SOLUSDT"), StreamSpec(StreamKind.TRADE, "SOLUSDT")])
        assert sorted(len(c.topics) for c in fake.clients) == [7, 30]  # both trade kinds share one topic
        push = encode.encode_kline("BTCUSDT", interval="Min60", window_start_s=1_723_161_600, open="1", high="3",
                                   low="1", close="2", volume="5", amount="10", send_time_ms=1_723_161_601_000)  # fmt: skip
        await fake.broadcast(control.kline_topic("BTCUSDT", "1h"), push)
        kline = await anext(k async for k in ex.market_events() if isinstance(k, Kline))
        assert (kline.interval, kline.open_time_ms, kline.close, kline.closed) == ("1h", 1_723_161_600_000, D(2), False)
        await asyncio.sleep(0.3)
        assert all(c.pings >= 2 for c in fake.clients)  # PING well before MEXC's 60 s idle cut
        await ex.unsubscribe([StreamSpec(StreamKind.TRADE, "SOLUSDT")])
        assert sorted(len(c.topics) for c in fake.clients) == [7, 30]  # AGG_TRADE still wants the topic
        await ex.unsubscribe([StreamSpec(StreamKind.AGG_TRADE, "SOLUSDT"), *specs[30:]])
        await asyncio.sleep(0.05)
        assert [len(c.topics) for c in fake.clients] == [30]  # the emptied connection was closed
        status = await ex.server_status()
        assert len(status.streams) == 30
        with pytest.raises(InvalidSymbol):
            await ex.subscribe([StreamSpec(StreamKind.DEPTH, "NOPEUSDT")])
        with pytest.raises(NotSupported):
            await ex.subscribe([StreamSpec(StreamKind.TICKER_24H, "BTCUSDT")])
        with pytest.raises(BadParameter):
            await ex.subscribe([StreamSpec(StreamKind.KLINE, "BTCUSDT")])  # no interval


async def next_user_event(events: AsyncIterator[UserEvent], kind: type, **match: object) -> UserEvent:
    async for event in events:
        if isinstance(event, kind) and all(_get(event, k) == v for k, v in match.items()):
            return event
    raise AssertionError("user stream ended")


def _get(obj: object, path: str) -> object:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("deal_first", [False, True])
async def test_user_data_merges_fills_and_balances(fake: FakeMexc, deal_first: bool) -> None:
    fake.deal_first = deal_first
    async with asyncio.timeout(15), MexcAdapter(fake_config(fake)) as ex:
        await ex.start_user_stream()
        (key,) = fake.listen_keys
        events = ex.user_events()
        order = await ex.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.003"), price=D("60000"))
        )
        new = await next_user_event(events, OrderEvent, **{"order.order_id": order.order_id})
        assert isinstance(new, OrderEvent) and new.order.status is OrderStatus.NEW and new.last_fill is None
        await fake.fill(str(order.order_id), D("0.001"))
        part = await next_user_event(events, OrderEvent, **{"order.status": OrderStatus.PARTIALLY_FILLED})
        assert isinstance(part, OrderEvent) and part.last_fill is not None
        assert (part.last_fill.qty, part.last_fill.price, part.order.executed_qty) == (D("0.001"), D(60000), D("0.001"))
        assert part.last_fill.order_id == order.order_id and part.order.client_order_id == order.client_order_id
        bal = await next_user_event(events, BalanceEvent, delta_asset="USDT")
        assert isinstance(bal, BalanceEvent) and bal.delta == D("-60")
        await fake.fill(str(order.order_id), D("0.002"))
        done = await next_user_event(events, OrderEvent, **{"order.status": OrderStatus.FILLED})
        assert isinstance(done, OrderEvent) and done.last_fill is not None and done.last_fill.qty == D("0.002")
        assert ex._user is not None and ex._user.merger.merged == 2 and ex._user.merger.unpaired_orders == 0
    assert key not in fake.listen_keys  # DELETE on close
    assert [m for m, path, _ in fake.calls if path == "/userDataStream"] == ["POST", "DELETE"]


async def test_user_stream_reconnects_and_renews_a_lost_listen_key(fake: FakeMexc) -> None:
    async with asyncio.timeout(15), MexcAdapter(fake_config(fake, listen_key_keepalive_s=0.2)) as ex:
        await ex.start_user_stream()
        events = ex.user_events()
        await asyncio.sleep(0.5)
        assert [m for m, path, _ in fake.calls if path == "/userDataStream"].count("PUT") >= 1  # keepalive
        fake.listen_keys.clear()  # MEXC forgot the key (expired)
        await fake.cut()
        status = await next_user_event(events, StreamStatus, state="reconnecting")
        assert isinstance(status, StreamStatus) and "re-read open orders" in status.detail
        await next_user_event(events, StreamStatus, state="connected")
        assert len(fake.listen_keys) == 1 and ex._user is not None and ex._user.listen_key in fake.listen_keys
        order = await ex.place_order(OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, quantity=D("0.001")))
        done = await next_user_event(events, OrderEvent, **{"order.order_id": order.order_id})
        assert isinstance(done, OrderEvent) and done.order.status is OrderStatus.FILLED and done.last_fill is not None
