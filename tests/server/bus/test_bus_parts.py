"""The bus parts against a real nats-server: the stream message shape, the publisher's numbering across a restart,
the trader lease, the gateway's subscription feeding a StreamHub, and a forwarded call never sent twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from tradingmcp.server.bus.config import BusConfig
from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.gateway import BusStreams, TraderTools
from tradingmcp.server.bus.lease import Lease
from tradingmcp.server.bus.natsserver import NatsServer
from tradingmcp.server.bus.publisher import BusPublisher
from tradingmcp.server.bus.subjects import FEED_WANT, StreamMessage, decode, subject_of, trader_subject
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.mcp.streams import StreamHub

KEY = "trades:binance:BTCUSDT"


def test_subjects_and_the_message_shape() -> None:
    assert subject_of("book:binance:ETHUSDT:10") == "tmcp.md.binance.ETHUSDT.book.10"
    assert subject_of("orders:binance") == "tmcp.acct.binance.orders"
    for bad in ("trades:binance:BTC.USDT", "trades:binance:*", "trades", "trades:binance"):
        with pytest.raises(ValueError):
            subject_of(bad)
    msg = StreamMessage(KEY, 7, "e1", {"p": "1"}, lossless=True)
    assert decode(msg.encode(), KEY) == msg
    for body in (
        b"{",
        b"[]",
        orjson.dumps({"stream": KEY, "seq": 0, "epoch": "e", "data": 1}),
        orjson.dumps({"stream": KEY, "seq": True, "epoch": "e", "data": 1}),
        orjson.dumps({"stream": KEY, "seq": 1, "data": 1}),
        orjson.dumps({"stream": "trades:binance:ETHUSDT", "seq": 1, "epoch": "e", "data": 1}),
        orjson.dumps({"stream": KEY, "seq": 1, "epoch": "e"}),
    ):
        with pytest.raises(ValueError):
            decode(body, KEY)


async def _drain(pub: BusPublisher, n: int) -> None:
    deadline = time.monotonic() + 10
    while pub.published < n:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_a_restarted_publisher_continues_the_numbering(nats_server: NatsServer) -> None:
    config = BusConfig(nats_server.url)
    link = await BusLink.connect(config, "test")
    await link.ensure_streams()
    pub = BusPublisher(link)
    pub.start()
    await pub.prime(KEY)
    for i in range(3):
        pub.publish(KEY, {"i": i}, lossless=True)
    await _drain(pub, 3)
    epoch = pub.epochs[KEY]
    await pub.close()
    again = BusPublisher(link)  # a new process: learns where the bus is
    again.start()
    await again.prime(KEY)
    assert again.seqs[KEY] == 3 and again.epochs[KEY] == epoch
    again.publish(KEY, {"i": 3}, lossless=True)
    await _drain(again, 1)
    tail = decode((await link.js.get_last_msg("TMCP_MD", subject_of(KEY))).data or b"", KEY)
    assert (tail.seq, tail.epoch, tail.data) == (4, epoch, {"i": 3})
    await again.close()
    await link.close()


async def test_one_lease_holder_and_a_bounded_takeover(nats_server: NatsServer) -> None:
    config = BusConfig(nats_server.url)
    a_link, b_link = await BusLink.connect(config, "a"), await BusLink.connect(config, "b")
    events: list[str] = []

    def hooks(name: str) -> tuple[Any, Any]:
        async def gain() -> None:
            events.append(f"{name}+")

        async def lose() -> None:
            events.append(f"{name}-")

        return gain, lose

    a = Lease(a_link, "trader_x", "a", 0.6, *hooks("a"))
    b = Lease(b_link, "trader_x", "b", 0.6, *hooks("b"))
    a.start()
    deadline = time.monotonic() + 10
    while not a.held:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    b.start()
    await asyncio.sleep(1.5)  # several renewals: b never gets it while a renews
    assert a.held and not b.held and events == ["a+"]
    await a_link.close()  # a dies without giving the lease back: b takes it once it expires
    stalled = time.monotonic()
    while not b.held:
        assert time.monotonic() - stalled < 10
        await asyncio.sleep(0.02)
    assert events[-1] == "b+"
    await b.close()
    assert events[-1] == "b-"
    await b_link.close()


async def test_gateway_subscription_reads_the_window_then_live(nats_server: NatsServer) -> None:
    link = await BusLink.connect(BusConfig(nats_server.url), "gw")
    await link.ensure_streams()
    pub = BusPublisher(link)
    pub.start()
    await pub.prime(KEY)

    async def feed_want(msg: Any) -> None:  # the feed's answer: this key's numbering
        await msg.respond(orjson.dumps({"ok": True, "epoch": pub.epochs[KEY], "seq": pub.seqs[KEY]}))

    await link.nc.subscribe(FEED_WANT, cb=feed_want)
    for i in range(5):
        pub.publish(KEY, {"i": i}, lossless=True)
    await _drain(pub, 5)
    await link.nc.publish(subject_of(KEY), b"garbage")  # stored in the window too, dropped by the gateway
    await link.nc.flush()

    class Sink:
        def __init__(self) -> None:
            self.got: list[dict[str, Any]] = []

        def send(self, data: bytes) -> None:
            self.got.append(orjson.loads(data)["params"])

        def send_conflatable(self, key: Any, data: bytes) -> None:
            self.send(data)

    hub = StreamHub()
    streams = BusStreams(link, hub, ["binance"])
    sink = Sink()
    att = await hub.subscribe(sink, KEY, since_seq=2, epoch=pub.epochs[KEY])
    assert att.resumed and att.epoch == pub.epochs[KEY]
    assert [p["seq"] for p in sink.got] == [3, 4, 5]  # the bus's window, replayed after since_seq
    pub.publish(KEY, {"i": 5}, lossless=True)
    deadline = time.monotonic() + 10
    while len(sink.got) < 4:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert sink.got[-1] == {"stream": KEY, "seq": 6, "data": {"i": 5}}
    assert link.drops["md"] == 1
    await streams.aclose()
    await pub.close()
    await link.close()


async def test_a_forwarded_call_is_never_sent_twice(nats_server: NatsServer) -> None:
    """No trader: retried until the wait ends, then ``trader_unavailable`` (nothing was taken). A trader that takes the
    call and goes silent (it died mid-call): ``trader_timeout``, and the call was sent exactly once."""
    link = await BusLink.connect(BusConfig(nats_server.url), "gw")
    tools = TraderTools(link, {"tools": [], "venues": [{"name": "binance"}]}, request_timeout_s=1.0)
    with pytest.raises(ToolError) as err:
        await tools.request("binance", "place_order", b"{}", 0.5)
    assert err.value.code == "trader_unavailable"
    taken: list[bytes] = []

    async def silent(msg: Any) -> None:
        taken.append(msg.data)

    await link.nc.subscribe(trader_subject("binance"), cb=silent)
    with pytest.raises(ToolError) as err:
        await tools.request("binance", "place_order", b'{"n": 1}', 0.5)
    assert err.value.code == "trader_timeout" and "outcome is unknown" in err.value.message
    await asyncio.sleep(0.3)
    assert taken == [b'{"n": 1}']
    await link.close()
