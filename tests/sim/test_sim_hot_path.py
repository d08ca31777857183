"""The simulator's hot paths: order lookups through the per-account indexes, and stream writes on a real socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import websockets
from engine_support import Clock, book_after, limit, make_engine

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.book import SimBook


def _far_bid(book: SimBook) -> str:
    best = book.best_bid()
    assert best is not None
    return str(best[0] - 50)


def test_lookup_by_client_id_prefers_the_open_order_then_the_newest(data_dir: Path) -> None:
    book = book_after(300)
    engine = make_engine(book, Clock())
    price = _far_bid(book)
    first = engine.new_order("alice", limit("BUY", "0.001", price, newClientOrderId="same"))
    engine.cancel_order("alice", {"symbol": "BTCUSDT", "origClientOrderId": "same"})
    second = engine.new_order("alice", limit("BUY", "0.001", price, newClientOrderId="same"))
    assert second["orderId"] != first["orderId"]
    found = engine.get_order("alice", {"symbol": "BTCUSDT", "origClientOrderId": "same"})
    assert found["orderId"] == second["orderId"] and found["status"] == "NEW"
    engine.cancel_order("alice", {"symbol": "BTCUSDT", "origClientOrderId": "same"})
    found = engine.get_order("alice", {"symbol": "BTCUSDT", "origClientOrderId": "same"})
    assert found["orderId"] == second["orderId"] and found["status"] == "CANCELED"  # newest of the closed ones


def test_open_orders_stay_exact_over_a_long_history(data_dir: Path) -> None:
    book = book_after(300)
    engine = make_engine(book, Clock())
    price = _far_bid(book)
    kept: list[int] = []
    for i in range(300):  # more than MAX_NUM_ORDERS (200) placed in total, so canceled ones must not count
        body = engine.new_order("alice", limit("BUY", "0.001", price, newClientOrderId=f"c{i}"))
        if i % 3 == 0:
            kept.append(body["orderId"])
        else:
            engine.cancel_order("alice", {"symbol": "BTCUSDT", "orderId": str(body["orderId"])})
    rows = engine.open_orders("alice", {"symbol": "BTCUSDT"})
    assert [r["orderId"] for r in rows] == kept
    assert len(engine.all_orders("alice", {"symbol": "BTCUSDT", "limit": "1000"})) == 300


async def test_burst_past_the_socket_buffers_arrives_complete_and_in_order(data_dir: Path) -> None:
    """Frames written straight to the transport, which buffers them once the kernel's buffers are full, reach a late
    reader in publish order, and the connection stays under its byte limit (not dropped)."""
    config = SimConfig(speed=0, data_dir=data_dir)
    async with (
        Simulator(config) as sim,
        websockets.connect(sim.stream_url + "ws/btcusdt@trade", max_queue=None, compression=None) as ws,
    ):
        await asyncio.sleep(0.05)  # the server finishes the handshake and subscribes the connection
        assert sim.hub.wants("btcusdt@trade")
        filler = "x" * 2000
        count = 3000  # ~6 MB: more than the kernel and transport buffers take while nobody reads
        for i in range(count):
            assert sim.hub.publish("btcusdt@trade", {"seq": i, "pad": filler}) == 1
        (stream,) = sim.hub.open_connections  # the one stream connection
        conn = stream.conn
        assert conn is not None
        assert 0 < conn.write_buffer_size() < sim.hub.config.queue_bytes  # backed up past the kernel, under the limit
        seen: list[int] = []
        async with asyncio.timeout(20):
            while len(seen) < count:
                seen.append(orjson.loads(await ws.recv())["seq"])
        assert seen == list(range(count))
        assert sim.hub.wants("btcusdt@trade")  # not dropped: ~6 MB stays under the 16 MiB limit
