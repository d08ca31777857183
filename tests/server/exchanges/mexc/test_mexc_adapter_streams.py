"""``MexcAdapter`` streams over real sockets against the simulator's MEXC face (real BTCUSDT recording re-encoded as
MEXC protobuf, manual step): the local book vs the simulator's book and vs the recording's bookTicker, a cut
mid-replay (reconnect → resubscribe → resync), a lost diff (gap → resync), the topics-per-connection split, PING
keepalive, and the user data stream (listenKey, merged fills, balances)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.errors import BadParameter, InvalidSymbol, NotSupported
from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
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
from tradingmcp.sim.mexc import MEXC_SIM_KEY
from tradingmcp.sim.mexc.ws import WsConfig

from .conftest import MexcSim, sim_config

D = Decimal
pytestmark = pytest.mark.data
SYMBOL = "BTCUSDT"
BOOK_SPECS = [StreamSpec(StreamKind.DEPTH, SYMBOL), StreamSpec(StreamKind.BOOK_TICKER, SYMBOL),
              StreamSpec(StreamKind.TRADE, SYMBOL)]  # fmt: skip


@dataclass
class Watch:
    """What a consumer saw. Oracle while consuming: the real recording's bookTicker carrying a version (Binance's
    ``u``) equals the best bid/ask of the local book at that version."""

    ticker_checked: int = 0
    mismatches: list[object] = field(default_factory=list)
    statuses: list[StreamStatus] = field(default_factory=list)
    early: dict[int, Ticker] = field(default_factory=dict)
    trades: int = 0
    klines: list[Kline] = field(default_factory=list)

    def states(self) -> list[str]:
        return [s.state for s in self.statuses]


def on_diff(adapter: MexcAdapter, diff: DepthUpdate, watch: Watch) -> None:
    book = adapter.streams.books.get(diff.symbol)
    tick = watch.early.pop(diff.final_update_id, None)
    if tick is None or book is None or not book.is_synced or book.version != diff.final_update_id:
        return
    watch.ticker_checked += 1
    if (book.best_bid(), book.best_ask()) != (BookLevel(tick.bid, tick.bid_qty), BookLevel(tick.ask, tick.ask_qty)):
        watch.mismatches.append(tick)


async def consume(events: AsyncIterator[MarketEvent], adapter: MexcAdapter, watch: Watch) -> None:
    async for event in events:
        if isinstance(event, StreamStatus):
            watch.statuses.append(event)
        elif isinstance(event, Ticker) and event.update_id is not None:
            watch.early[event.update_id] = event  # its diff (same version) comes later, if ever
        elif isinstance(event, Trade):
            watch.trades += 1
        elif isinstance(event, Kline):
            watch.klines.append(event)
        elif isinstance(event, DepthUpdate):
            on_diff(adapter, event, watch)


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def book_matches_exchange(adapter: MexcAdapter, ms: MexcSim, symbol: str = SYMBOL) -> None:
    """Wait until the local book reached the simulator's version, then compare the top 20 levels exactly."""
    sim_book = ms.sim.markets[symbol].book
    await until(lambda: (b := adapter.streams.books.get(symbol)) is not None and b.is_synced
                and b.version == sim_book.last_update_id, "the local book to catch up")  # fmt: skip
    local = adapter.local_book(symbol, 20)
    depth = sim_book.depth(20)
    assert local is not None and local.last_update_id == depth["lastUpdateId"]
    assert local.bids == tuple(BookLevel(D(p), D(q)) for p, q in depth["bids"])
    assert local.asks == tuple(BookLevel(D(p), D(q)) for p, q in depth["asks"])


@contextlib.asynccontextmanager
async def consuming(adapter: MexcAdapter, watch: Watch) -> AsyncIterator[None]:
    task = asyncio.create_task(consume(adapter.market_events(), adapter, watch))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_local_book_follows_the_exchange_and_survives_a_cut(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    watch = Watch()
    async with asyncio.timeout(30), consuming(adapter, watch):
        await adapter.subscribe(BOOK_SPECS)
        await until(lambda: watch.states() == ["connected", "resynced"], "the first sync")
        for _ in range(4):
            await mexc_sim.replay(300, chunk=5)  # small steps: the consumer keeps up with the reader
            await book_matches_exchange(adapter, mexc_sim)
        assert watch.trades > 0 and not watch.mismatches
        await mexc_sim.face.hub.cut()
        await until(lambda: watch.states().count("resynced") >= 2, "the resync after the cut")
        assert watch.states()[2:] == ["reconnecting", "connected", "resynced"]
        for _ in range(3):
            await mexc_sim.replay(300, chunk=5)
            await book_matches_exchange(adapter, mexc_sim)
    assert watch.ticker_checked >= 3 and not watch.mismatches
    assert mexc_sim.face.hub.connections_opened == 2 and adapter.streams.reconnects == 1
    (conn,) = mexc_sim.face.hub.connections
    assert len(conn.topics) == 3  # resubscribed everything on the new connection


async def test_lost_diff_is_a_gap_then_a_resync(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    watch = Watch()
    async with asyncio.timeout(30), consuming(adapter, watch):
        await adapter.subscribe(BOOK_SPECS[:1])
        await until(lambda: watch.states() == ["connected", "resynced"], "the first sync")
        await mexc_sim.replay(200)
        await book_matches_exchange(adapter, mexc_sim)
        mexc_sim.face.market.drop_depth[SYMBOL] = 1  # one lost aggre.depth push
        await mexc_sim.replay(200)
        await until(lambda: watch.states().count("resynced") >= 2, "the resync after the gap")
        gap = next(s for s in watch.statuses if s.state == "book_gap")
        assert gap.symbol == SYMBOL and "gap" in gap.detail
        await mexc_sim.replay(200)
        await book_matches_exchange(adapter, mexc_sim)
    assert watch.states() == ["connected", "resynced", "book_gap", "resynced"]
    assert adapter.streams.books[SYMBOL].resyncs == 1 and mexc_sim.face.hub.connections_opened == 1


async def test_topics_are_spread_per_connection_and_kept_alive(mexc_sim: MexcSim) -> None:
    mexc_sim.face.hub.config = WsConfig(max_topics=10)  # MEXC's 30, scaled to the two replayed symbols
    intervals = ["1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d", "1w", "1M"]
    specs = [StreamSpec(StreamKind.KLINE, s, i) for s in ("BTCUSDT", "ETHUSDT") for i in intervals]  # 20 topics
    config = sim_config(mexc_sim, ping_interval_s=0.05, max_topics_per_connection=10)
    watch = Watch()
    async with asyncio.timeout(15), MexcAdapter(config) as ex, consuming(ex, watch):
        await ex.subscribe(specs)
        await ex.subscribe([StreamSpec(StreamKind.AGG_TRADE, "ETHUSDT"), StreamSpec(StreamKind.TRADE, "ETHUSDT")])
        hub = mexc_sim.face.hub
        assert sorted(len(c.topics) for c in hub.connections) == [1, 10, 10]  # both trade kinds share one topic
        await mexc_sim.replay(400)
        bar = mexc_sim.sim.markets[SYMBOL].current_bar("1m")
        assert bar is not None

        def last_1m() -> tuple[int, Decimal, Decimal] | None:
            last = [k for k in watch.klines if (k.symbol, k.interval) == (SYMBOL, "1m")]
            return (last[-1].open_time_ms, last[-1].close, last[-1].volume) if last else None

        await until(lambda: last_1m() == (bar.t, bar.c, bar.v), "the open 1m candle")
        assert {k.interval for k in watch.klines if k.symbol == SYMBOL} == set(intervals)
        await asyncio.sleep(0.3)
        assert all(c.pings >= 2 for c in hub.connections)  # PING well before MEXC's 60 s idle cut
        await ex.unsubscribe([StreamSpec(StreamKind.TRADE, "ETHUSDT")])
        assert sorted(len(c.topics) for c in hub.connections) == [1, 10, 10]  # AGG_TRADE still wants the topic
        await ex.unsubscribe([StreamSpec(StreamKind.AGG_TRADE, "ETHUSDT")])
        await until(lambda: len(hub.connections) == 2, "the emptied connection to close")
        status = await ex.server_status()
        assert len(status.streams) == 20
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


async def test_user_data_merges_fills_and_balances(mexc_sim: MexcSim) -> None:
    sim = mexc_sim.sim
    sim.engine.deposit(MEXC_SIM_KEY, "USDT", D(10_000_000))  # enough to take two whole ask levels
    sim.dispatch_engine_events()
    (ask1, qty1), (ask2, _) = [(D(p), D(q)) for p, q in sim.markets[SYMBOL].book.depth(2)["asks"]]
    async with asyncio.timeout(15), MexcAdapter(sim_config(mexc_sim)) as ex:
        await ex.start_user_stream()
        (key,) = mexc_sim.face.listen_keys.of(MEXC_SIM_KEY)
        events = ex.user_events()
        extra = D("0.001")
        order = await ex.place_order(  # takes all of the best ask level, then `extra` from the next one
            OrderRequest(SYMBOL, Side.BUY, OrderType.LIMIT, quantity=qty1 + extra, price=ask2)
        )
        new = await next_user_event(events, OrderEvent, **{"order.order_id": order.order_id})
        assert isinstance(new, OrderEvent) and new.order.status is OrderStatus.NEW and new.last_fill is None
        part = await next_user_event(events, OrderEvent, **{"order.status": OrderStatus.PARTIALLY_FILLED})
        assert isinstance(part, OrderEvent) and part.last_fill is not None
        assert (part.last_fill.qty, part.last_fill.price, part.order.executed_qty) == (qty1, ask1, qty1)
        assert part.last_fill.order_id == order.order_id and part.order.client_order_id == order.client_order_id
        done = await next_user_event(events, OrderEvent, **{"order.status": OrderStatus.FILLED})
        assert isinstance(done, OrderEvent) and done.last_fill is not None
        assert (done.last_fill.qty, done.last_fill.price) == (extra, ask2)
        assert done.last_fill.commission == extra * D("0.001") and done.last_fill.commission_asset == "BTC"
        bal = await next_user_event(events, BalanceEvent, delta_asset="USDT")
        assert isinstance(bal, BalanceEvent) and bal.delta == -(ask1 * qty1 + ask2 * extra)
        user = ex.user_stream
        assert user is not None and user.merger.merged == 2 and user.merger.unpaired_orders == 0
    assert key not in mexc_sim.face.listen_keys.of(MEXC_SIM_KEY)  # DELETE on close
    assert [m for m, path, _ in mexc_sim.face.rest.calls if path == "/userDataStream"] == ["POST", "DELETE"]


async def test_user_stream_reconnects_and_renews_a_lost_listen_key(mexc_sim: MexcSim) -> None:
    face = mexc_sim.face
    async with asyncio.timeout(15), MexcAdapter(sim_config(mexc_sim, listen_key_keepalive_s=0.2)) as ex:
        await ex.start_user_stream()
        events = ex.user_events()
        await asyncio.sleep(0.5)
        assert [m for m, path, _ in face.rest.calls if path == "/userDataStream"].count("PUT") >= 1  # keepalive
        face.listen_keys.forget_all()  # MEXC forgot the key (expired)
        await face.hub.cut()
        status = await next_user_event(events, StreamStatus, state="reconnecting")
        assert isinstance(status, StreamStatus) and "re-read open orders" in status.detail
        await next_user_event(events, StreamStatus, state="connected")
        assert ex.user_stream is not None and face.listen_keys.of(MEXC_SIM_KEY) == [ex.user_stream.listen_key]
        order = await ex.place_order(OrderRequest(SYMBOL, Side.SELL, OrderType.MARKET, quantity=D("0.001")))
        done = await next_user_event(
            events, OrderEvent, **{"order.order_id": order.order_id, "order.status": OrderStatus.FILLED}
        )
        assert isinstance(done, OrderEvent) and done.last_fill is not None and done.last_fill.qty == D("0.001")
