"""The gateway's flow control against a real nats-server: a gateway whose loop is slowed by a blocking hub subscriber
while the feed publishes a burst holds a bounded number of bus messages, ends a conflatable stream on its newest
message, delivers every message of a lossless stream in order, and still resumes subscribers on both."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from tradingmcp.server.bus.config import BusConfig
from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.gateway import FETCH_BATCH, MAX_AHEAD, BusStreams
from tradingmcp.server.bus.natsserver import NatsServer
from tradingmcp.server.bus.publisher import BusPublisher
from tradingmcp.server.bus.subjects import FEED_WANT
from tradingmcp.server.mcp.streams import StreamHub

TRADES = "trades:binance:BTCUSDT"
TICKER = "book_ticker:binance:BTCUSDT"
KLINES = "klines:binance:BTCUSDT:1m"
"""Mixed: each tenth message is a closed kline (lossless), the others the open one (conflatable)."""
BURST = 2000
SLOW_S = 0.002
"""How long the slow subscriber blocks the gateway's loop per message it gets (s)."""


class SlowSink:
    """A hub subscriber whose every message blocks the loop for :data:`SLOW_S`, as a fan-out to many clients would;
    it notes the seqs it got per stream and the most messages the gateway held for the bus meanwhile."""

    def __init__(self, streams: BusStreams, slow_s: float = SLOW_S) -> None:
        self.streams = streams
        self.slow_s = slow_s
        self.got: dict[str, list[int]] = {TRADES: [], TICKER: [], KLINES: []}
        self.most_pending = 0

    def send(self, data: bytes) -> None:
        params = orjson.loads(data)["params"]
        self.got[params["stream"]].append(params["seq"])
        self.most_pending = max(self.most_pending, *(self.streams.pending(key) for key in self.got))
        time.sleep(self.slow_s)

    def send_conflatable(self, key: Any, data: bytes) -> None:
        self.send(data)


class Sink:
    def __init__(self) -> None:
        self.got: list[int] = []

    def send(self, data: bytes) -> None:
        self.got.append(orjson.loads(data)["params"]["seq"])

    def send_conflatable(self, key: Any, data: bytes) -> None:
        self.send(data)


async def _wait_until(done: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        await asyncio.sleep(0.02)


async def _feed(nats_server: NatsServer, retention_msgs: int = 100_000) -> tuple[BusLink, BusPublisher]:
    """A link and a publisher of the test's keys that answers the gateway's wants as the feed does."""
    link = await BusLink.connect(BusConfig(nats_server.url, retention_msgs=retention_msgs), "gw")
    await link.ensure_streams()
    pub = BusPublisher(link)
    pub.start()
    for key in (TRADES, TICKER, KLINES):
        await pub.prime(key)

    async def feed_want(msg: Any) -> None:
        key = orjson.loads(msg.data)["stream"]
        await msg.respond(orjson.dumps({"ok": True, "epoch": pub.epochs[key], "seq": pub.seqs[key]}))

    await link.nc.subscribe(FEED_WANT, cb=feed_want)
    return link, pub


async def test_a_slow_gateway_stays_bounded_skips_states_and_keeps_every_trade(nats_server: NatsServer) -> None:
    link, pub = await _feed(nats_server)
    hub = StreamHub()
    streams = BusStreams(link, hub, ["binance"])
    slow = SlowSink(streams)
    await hub.subscribe(slow, TRADES)
    await hub.subscribe(slow, TICKER)
    await hub.subscribe(slow, KLINES)
    for i in range(BURST):  # the feed outruns the gateway: every message costs it SLOW_S
        pub.publish(TRADES, {"i": i}, lossless=True)
        pub.publish(TICKER, {"i": i}, lossless=False)
        pub.publish(KLINES, {"i": i}, lossless=i % 10 == 9)
    await _wait_until(lambda: all(got[-1:] == [BURST] for got in slow.got.values()))

    assert slow.got[TRADES] == list(range(1, BURST + 1))  # lossless: every seq, in order
    ticker = slow.got[TICKER]
    assert ticker == sorted(set(ticker)) and len(ticker) < BURST  # conflatable: skipped forward, ends on the newest
    assert streams.jumps >= 1  # full states: the consumer went to the subject's newest message
    klines = slow.got[KLINES]  # every closed kline, in order, and the open one skipped forward between them
    assert klines == sorted(set(klines)) and len(klines) < BURST
    assert [seq for seq in klines if seq % 10 == 0] == list(range(10, BURST + 1, 10))
    assert 0 < slow.most_pending <= FETCH_BATCH  # what the gateway held for the bus while it was behind

    trades_late, klines_late, ticker_late = Sink(), Sink(), Sink()  # resuming across what the gateway skipped
    att = await hub.subscribe(trades_late, TRADES, since_seq=BURST // 2, epoch=pub.epochs[TRADES])
    assert att.resumed and trades_late.got == list(range(BURST // 2 + 1, BURST + 1))
    att = await hub.subscribe(klines_late, KLINES, since_seq=5, epoch=pub.epochs[KLINES])
    assert att.resumed and klines_late.got == sorted([*range(10, BURST + 1, 10), BURST - 1])  # closed ones + the state
    await hub.subscribe(ticker_late, TICKER, since_seq=5, epoch=pub.epochs[TICKER])
    assert ticker_late.got == [BURST]  # the newest state
    await streams.aclose()
    await pub.close()
    await link.close()


async def test_a_gateway_behind_the_bus_window_holds_a_bounded_gap(nats_server: NatsServer) -> None:
    """The bus keeps 200 messages of the subject; the slow gateway falls out of that window, so what it reads next is
    ahead of messages the bus no longer has: it goes on across the gap holding at most MAX_AHEAD meanwhile."""
    link, pub = await _feed(nats_server, retention_msgs=200)
    hub = StreamHub()
    streams = BusStreams(link, hub, ["binance"])
    slow = SlowSink(streams, slow_s=0.001)
    await hub.subscribe(slow, TRADES)
    most_ahead = 0

    async def sample() -> None:
        nonlocal most_ahead
        while True:
            entry = streams.subs.get(TRADES)
            most_ahead = max(most_ahead, len(entry.ahead) if entry is not None else 0)
            await asyncio.sleep(0.001)

    sampler = asyncio.get_running_loop().create_task(sample())
    burst = 3000
    for i in range(burst):
        pub.publish(TRADES, {"i": i}, lossless=True)
    await _wait_until(lambda: slow.got[TRADES][-1:] == [burst])
    sampler.cancel()
    trades = slow.got[TRADES]
    assert trades == sorted(set(trades)) and len(trades) < burst  # in order; what left the window is a gap
    assert 0 < most_ahead <= MAX_AHEAD and slow.most_pending <= FETCH_BATCH
    await streams.aclose()
    await pub.close()
    await link.close()
