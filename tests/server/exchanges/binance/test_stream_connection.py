"""The combined-stream connection against a scripted stream server on 127.0.0.1 (our transport, real sockets): the
frames a real exchange can send that the simulator does not (garbage, control errors, ``serverShutdown``), a server
that hangs up and one that is gone (reconnect with backoff), and synchronous delivery to an event listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.binance.streams import MarketStreams
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import (
    MarketEvent,
    OrderBookSnapshot,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
)
from tradingmcp.transport import ws

pytestmark = pytest.mark.data


@dataclass
class ScriptedServer:
    """Accepts stream connections; ``script(conn, path)`` runs on each open. Records paths and control messages."""

    script: Callable[[ws.Connection, str], None]
    paths: list[str] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    conns: list[ws.Connection] = field(default_factory=list)

    def factory(self, request: ws.UpgradeRequest) -> ws.Accept | ws.HttpResponse:
        server = self

        class Handler:
            conn: ws.Connection | None = None

            def on_open(self, conn: ws.Connection) -> None:
                self.conn = conn
                server.paths.append(request.path)
                server.conns.append(conn)
                server.script(conn, request.path)

            def on_text(self, data: ws.TextData) -> None:
                msg = orjson.loads(bytes(data) if isinstance(data, memoryview) else data)
                server.controls.append(msg)
                if self.conn is not None:
                    self.conn.send_text(orjson.dumps({"result": None, "id": msg["id"]}))

            def on_close(self, code: int, reason: str) -> None:
                pass

            def on_writable(self) -> None:
                pass

        return ws.Accept(Handler(), None)


@pytest.fixture
def samples(data_dir: Path) -> dict[str, bytes]:
    """Real combined-stream frames (nautilus_trader's recorded samples): ``book_ticker`` and ``trade``."""
    root = data_dir / "binance" / "ws-samples"
    return {
        "book_ticker": (root / "ws_spot_ticker_book.json").read_bytes(),
        "trade": (root / "ws_spot_trade.json").read_bytes(),
    }


async def no_snapshot(symbol: str, limit: int) -> OrderBookSnapshot:
    raise AssertionError("no depth stream in these tests")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[ScriptedServer], Any]]:
    servers: list[ws.WsServer] = []

    async def start(scripted: ScriptedServer) -> str:
        server = await ws.serve(scripted.factory, "127.0.0.1", 0)
        servers.append(server)
        return f"ws://127.0.0.1:{server.port}/"

    yield start
    for server in servers:
        await server.close()


def config(stream_url: str) -> BinanceConfig:
    return BinanceConfig(stream_url=stream_url, reconnect_delay_s=0.02, request_timeout_s=2.0)


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``condition`` every 5 ms until it holds (bounded by ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        for _ in range(int(timeout_s / 0.005) + 1):
            if condition():
                return
            await asyncio.sleep(0.005)


async def next_where(events: EventQueue[MarketEvent], want: Callable[[Any], bool], timeout_s: float = 5.0) -> Any:
    async with asyncio.timeout(timeout_s):
        while True:
            event = await events.get()
            if want(event):
                return event


async def test_bad_frames_and_error_replies_keep_the_connection(serve: Any, samples: dict[str, bytes]) -> None:
    def script(conn: ws.Connection, path: str) -> None:
        conn.send_text(b"{not json")
        bad_price = {"u": 1, "s": "ETHUSDT", "b": "x", "B": "1", "a": "2", "A": "1"}  # decimal.InvalidOperation
        conn.send_text(orjson.dumps({"stream": "ethusdt@bookTicker", "data": bad_price}))
        conn.send_text(b'{"code": 2, "msg": "Invalid request: unknown property", "id": 7}')
        conn.send_text(b'{"stream": "btcusdt@bookTicker", "data": {}}')  # not subscribed: ignored
        conn.send_text(samples["book_ticker"])
        conn.send_text(b'{"e": "serverShutdown", "E": 1}')

    scripted = ScriptedServer(script)
    events: EventQueue[MarketEvent] = EventQueue(name="market")
    streams = MarketStreams(config(await serve(scripted)), no_snapshot, events)
    try:
        await streams.subscribe([StreamSpec(StreamKind.BOOK_TICKER, "ETHUSDT")])
        connected = await next_where(events, lambda e: isinstance(e, StreamStatus))
        assert connected.state == "connected"
        error = await next_where(events, lambda e: isinstance(e, StreamStatus))
        assert error.state == "control_error" and "unknown property" in error.detail
        tick = await next_where(events, lambda e: True)
        assert isinstance(tick, Ticker) and tick.update_id == 12711621188 and str(tick.ask) == "4507.25000000"
        shutdown = await next_where(events, lambda e: True)
        assert isinstance(shutdown, StreamStatus) and shutdown.state == "server_shutdown"
        assert streams.bad_frames == 2 and streams.reconnects == 0
        assert scripted.paths == ["/stream?streams=ethusdt@bookTicker"]
    finally:
        await streams.close()


async def test_hang_up_reconnects_with_every_stream_and_listener_gets_events_in_the_callback(
    serve: Any, samples: dict[str, bytes]
) -> None:
    def script(conn: ws.Connection, path: str) -> None:
        conn.send_text(samples["trade"])

    scripted = ScriptedServer(script)
    events: EventQueue[MarketEvent] = EventQueue(name="market")
    seen: list[MarketEvent] = []
    events.listen(seen.append)
    streams = MarketStreams(config(await serve(scripted)), no_snapshot, events)
    try:
        await streams.subscribe([StreamSpec(StreamKind.TRADE, "ETHUSDT")])
        await eventually(lambda: any(isinstance(e, Trade) for e in seen))
        await streams.subscribe([StreamSpec(StreamKind.BOOK_TICKER, "ETHUSDT")])  # live SUBSCRIBE
        await eventually(lambda: bool(scripted.controls))
        assert [c["method"] for c in scripted.controls] == ["SUBSCRIBE"]
        assert scripted.controls[0]["params"] == ["ethusdt@bookTicker"]
        scripted.conns[0].close(1001, "going away")
        await eventually(lambda: len(scripted.paths) >= 2 and streams.is_open)
        assert scripted.paths[1] == "/stream?streams=ethusdt@trade/ethusdt@bookTicker"  # everything in the URL
        await eventually(lambda: sum(isinstance(e, Trade) for e in seen) >= 2)
        states = [e.state for e in seen if isinstance(e, StreamStatus)]
        assert states == ["connected", "reconnecting", "connected"] and streams.reconnects == 1
        assert "1001" in next(e.detail for e in seen if isinstance(e, StreamStatus) and e.state == "reconnecting")
        assert len(events) == 0  # nothing queued: the listener had each event inside the frame callback
    finally:
        await streams.close()


async def test_server_gone_reports_and_retries_until_it_is_back(serve: Any, samples: dict[str, bytes]) -> None:
    scripted = ScriptedServer(lambda conn, path: conn.send_text(samples["trade"]))
    url = await serve(scripted)
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    events: EventQueue[MarketEvent] = EventQueue(name="market")
    dead = ws.serve(ScriptedServer(lambda c, p: None).factory, "127.0.0.1", 0)
    gone = await dead
    dead_url = f"ws://127.0.0.1:{gone.port}/"
    await gone.close()  # nothing listens there now
    streams = MarketStreams(config(dead_url), no_snapshot, events)
    try:
        await streams.subscribe([StreamSpec(StreamKind.TRADE, "ETHUSDT")])
        failures = [await next_where(events, lambda e: isinstance(e, StreamStatus)) for _ in range(3)]
        assert [f.state for f in failures] == ["reconnecting"] * 3 and streams.reconnects >= 3
        assert all("Error" in f.detail or "refused" in f.detail.lower() for f in failures)
        # the exchange comes back (here: a new address, as after a DNS change)
        streams.config = config(f"ws://127.0.0.1:{port}/")
        connected = await next_where(events, lambda e: isinstance(e, StreamStatus) and e.state == "connected")
        assert connected.detail == "1 streams"
        assert isinstance(await next_where(events, lambda e: isinstance(e, Trade)), Trade)
    finally:
        await streams.close()
    assert not streams.running and not streams.is_open
