"""Lossless stream resume across a dropped link, through the whole stack: the simulator replaying the real recording
(stepped by hand) → the Binance adapter → the stream hub → McpServer on loopback → a TCP proxy → our client.

The client is subscribed to trades and a book; the link is cut mid-stream (the proxy aborts both sockets, or the server
closes the connection), the market moves while the client is away (the proxy refuses it meanwhile), then the client's
automatic reconnect resubscribes with ``since_seq``: every trade ``seq`` arrives exactly once, the book it holds is the
server's book at the same update id, and nothing is counted lost. A ``since_seq`` the window no longer covers is
answered ``resumed: false`` with the first ``seq`` the server can give and, for a book, a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import WAIT_S, ToolServer, ok, start_tool_server
from tests.wire_helpers import wait_until
from tradingmcp.client.core import Notification
from tradingmcp.client.session import RpcError, connect
from tradingmcp.server.mcp.replay import Retention
from tradingmcp.server.mcp.streams import STREAM_METHOD
from tradingmcp.server.tools.market.shapes import book_json
from tradingmcp.transport.closecodes import CloseCode

from ..server.support import TRADER_TOKEN

TRADES = "trades:binance:BTCUSDT"
LEVELS = 5
BOOK = f"book:binance:BTCUSDT:{LEVELS}"


class CutProxy:
    """A loopback TCP proxy in front of the server: :meth:`cut` aborts every connection through it (no close frame, no
    FIN: a network failure), and while ``refusing`` it closes new connections at once."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.refusing = False
        self.accepted = 0
        self._transports: list[asyncio.WriteTransport] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._transports += [writer.transport, up_writer.transport]  # type: ignore[list-item]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    def cut(self) -> None:
        for t in self._transports:
            t.abort()
        self._transports.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class StreamLog:
    """Every stream message the application got (the client's notification callback), per stream key."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[dict[str, Any]]] = {TRADES: [], BOOK: []}

    def __call__(self, note: Notification) -> bool:
        if note.method != STREAM_METHOD:
            return False
        self.by_key[note.params["stream"]].append(note.params)
        return True

    def seqs(self, key: str) -> list[int]:
        return [p["seq"] for p in self.by_key[key]]

    def last_seq(self, key: str) -> int:
        got = self.by_key[key]
        return got[-1]["seq"] if got else 0


async def step_until(srv: ToolServer, cond: Any, n: int = 200) -> None:
    """Step the market until ``cond()`` holds."""
    async with asyncio.timeout(WAIT_S):
        while not cond():
            srv.sim.step(n)
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("how", ["proxy-abort", "server-close"])
async def test_a_cut_link_resumes_every_seq_exactly_once(data_dir: Path, tmp_path: Path, how: str) -> None:
    async with start_tool_server(data_dir, tmp_path) as srv:
        proxy = CutProxy(srv.server.port)
        await proxy.start()
        log = StreamLog()
        client = await connect(
            f"ws://127.0.0.1:{proxy.port}/mcp", token=TRADER_TOKEN, backoff_initial_s=0.02, backoff_max_s=0.1
        )
        try:
            client.on_notification(log)
            for key in (TRADES, BOOK):
                assert (await client.subscribe(key))["isError"] is False
            await step_until(srv, lambda: len(log.by_key[TRADES]) >= 20 and len(log.by_key[BOOK]) >= 3)

            # cut mid-stream; the market moves on while the client cannot come back
            proxy.refusing = True
            before_cut = srv.hub.last_seq(TRADES)
            if how == "proxy-abort":
                proxy.cut()
            else:
                next(iter(srv.server.connections)).close(CloseCode.INTERNAL_ERROR, "test: cut")
            await wait_until(lambda: not srv.server.connections and not client.connected.is_set())
            assert srv.hub.subscriber_count(TRADES) == 0 and TRADES in srv.hub.active()  # lingering for a resume
            srv.sim.step(3000)
            await asyncio.sleep(0.05)
            missed = srv.hub.last_seq(TRADES) - max(log.last_seq(TRADES), before_cut)
            assert missed > 10  # trades were published while the client was away

            proxy.refusing = False
            await client.wait_connected(WAIT_S)
            assert client.reconnects == 1 and proxy.accepted >= 2
            await step_until(srv, lambda: srv.hub.last_seq(TRADES) > before_cut + missed + 20)
            await wait_until(
                lambda: (
                    log.last_seq(TRADES) == srv.hub.last_seq(TRADES) and log.last_seq(BOOK) == srv.hub.last_seq(BOOK)
                )
            )

            # every trade exactly once, in order, from the first to the last published
            assert log.seqs(TRADES) == list(range(1, srv.hub.last_seq(TRADES) + 1))
            ids = [p["data"]["id"] for p in log.by_key[TRADES]]
            assert ids == sorted(set(ids)) and ids[-1] - ids[0] == len(ids) - 1  # the recording's ids have no gap
            # the book: no seq twice, and the book held is the server's book at the same update id
            book_seqs = log.seqs(BOOK)
            assert book_seqs == sorted(set(book_seqs))
            book = srv.venues.get().adapter.local_book("BTCUSDT", LEVELS)
            assert book is not None
            held = log.by_key[BOOK][-1]["data"]
            assert held["last_update_id"] == book.last_update_id and held == book_json(book, LEVELS)
            # the client counted no loss: both streams resumed inside the window
            totals = client.stream_seqs.totals()
            assert (totals["lost"], totals["duplicates"], totals["resumes"], totals["refused"]) == (0, 0, 2, 0)
        finally:
            await client.close()
            await proxy.stop()


async def test_a_since_seq_older_than_the_window_is_refused_with_a_snapshot(data_dir: Path, tmp_path: Path) -> None:
    retention = Retention(max_count=4)
    async with (
        start_tool_server(data_dir, tmp_path, retention=retention) as srv,
        srv.client() as first,
        srv.client() as late,
    ):
        answers = {key: await ok(first, "subscribe", {"stream": key}) for key in (TRADES, BOOK)}
        await step_until(srv, lambda: srv.hub.last_seq(TRADES) >= 10 and srv.hub.last_seq(BOOK) >= 6)
        first.drain_notifications()

        trades = await ok(late, "subscribe", {"stream": TRADES, "since_seq": 1, "epoch": answers[TRADES]["epoch"]})
        last = srv.hub.last_seq(TRADES)
        assert trades["resumed"] is False and trades["conflates"] is False
        assert (trades["seq"], trades["first_seq"], trades["replayed"]) == (last, last - 3, 4)

        book = await ok(late, "subscribe", {"stream": BOOK, "since_seq": 1, "epoch": answers[BOOK]["epoch"]})
        latest = srv.hub.last_seq(BOOK)
        assert book["resumed"] is False and book["conflates"] is True
        assert (book["first_seq"], book["replayed"]) == (latest, 1)
        got = [n.params for n in late.drain_notifications() if n.method == STREAM_METHOD]
        assert [p["seq"] for p in got if p["stream"] == TRADES] == list(range(last - 3, last + 1))
        (snapshot,) = [p for p in got if p["stream"] == BOOK]
        adapter_book = srv.venues.get().adapter.local_book("BTCUSDT", LEVELS)
        assert adapter_book is not None
        assert snapshot["seq"] == latest and snapshot["data"] == book_json(adapter_book, LEVELS)

        # inside the window: resumed, exactly the messages after since_seq
        again = await ok(first, "unsubscribe", {"stream": TRADES})
        assert again["was_subscribed"] is True
        resumed = await ok(first, "subscribe", {"stream": TRADES, "since_seq": last - 2, "epoch": trades["epoch"]})
        assert (resumed["resumed"], resumed["first_seq"], resumed["replayed"]) == (True, last - 1, 2)


async def test_bad_resume_arguments_are_refused_naming_the_field(data_dir: Path, tmp_path: Path) -> None:
    async with start_tool_server(data_dir, tmp_path) as srv, srv.client() as c:
        for args, field in (
            ({"stream": TRADES, "since_seq": -1}, "since_seq"),
            ({"stream": TRADES, "since_seq": "7"}, "since_seq"),
            ({"stream": TRADES, "since_seq": 1, "epoch": ""}, "epoch"),
        ):
            with pytest.raises(RpcError) as err:
                await c.call_tool("subscribe", args)
            assert err.value.code == -32602 and field in err.value.message
        assert (await ok(c, "list_subscriptions", {}))["subscriptions"] == []
