"""The gateways' signal writer against a real nats-server: the subject of a ``signals:`` key, one numbering shared by
two writers (two gateways), a foreign message at the subject's tail, and a bus that is down."""

from __future__ import annotations

import asyncio

import pytest

from tradingmcp.server.bus.config import SIGNAL_STREAM, BusConfig
from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.natsserver import NatsServer
from tradingmcp.server.bus.signals import SignalNotStored, SignalWriter
from tradingmcp.server.bus.subjects import decode, stream_name_of, subject_of

KEY = "signals:tradingview"


def test_a_signals_key_is_a_subject_of_its_own_stream() -> None:
    assert subject_of(KEY) == "tmcp.sig.tradingview"
    assert stream_name_of(KEY) == SIGNAL_STREAM
    with pytest.raises(ValueError):
        subject_of("signals:trading.view")


async def test_two_writers_share_one_numbering(nats_server: NatsServer) -> None:
    config = BusConfig(nats_server.url)
    a, b = await BusLink.connect(config, "gw1"), await BusLink.connect(config, "gw2")
    try:
        wa, wb = SignalWriter(a), SignalWriter(b)
        seqs = await asyncio.gather(*((wa if i % 2 else wb).publish(KEY, {"i": i}) for i in range(20)))
        assert sorted(seqs) == list(range(1, 21))
        assert wa.published + wb.published == 20
        tail = decode((await a.js.get_last_msg(SIGNAL_STREAM, subject_of(KEY))).data or b"", KEY)
        assert tail.seq == 20 and tail.lossless
        # one epoch for the key, whichever gateway stored the first message
        first = decode((await a.js.get_msg(SIGNAL_STREAM, 1)).data or b"", KEY)
        assert first.epoch == tail.epoch
    finally:
        await a.close()
        await b.close()


async def test_a_foreign_tail_is_dropped_and_numbering_goes_on(nats_server: NatsServer) -> None:
    link = await BusLink.connect(BusConfig(nats_server.url), "gw")
    try:
        writer = SignalWriter(link)
        assert await writer.publish(KEY, {"n": 1}) == 1
        await link.js.publish(subject_of(KEY), b"not a stream message", stream=SIGNAL_STREAM)
        assert await writer.publish(KEY, {"n": 2}) == 1  # a numbering of its own after the foreign message
        assert link.drops["sig"] == 1
    finally:
        await link.close()


async def test_a_bus_that_is_down_is_signal_not_stored(nats_server: NatsServer) -> None:
    link = await BusLink.connect(BusConfig(nats_server.url), "gw")
    try:
        writer = SignalWriter(link, timeout_s=1.0)
        assert await writer.publish(KEY, {"n": 1}) == 1
        nats_server.stop()
        with pytest.raises(SignalNotStored, match=r"tmcp\.sig\.tradingview"):
            async with asyncio.timeout(30):
                await writer.publish(KEY, {"n": 2})
    finally:
        await link.close()
