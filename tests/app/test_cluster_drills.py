"""Drills on a real deployment over the bus that need a client in control of its own reading (every part its own
process: nats-server, the simulator, a feed, a trader, two gateways, :class:`~tradingmcp.app.cluster.Cluster`):

* the gateway killed mid-replay: a client away for hundreds of trades comes back to gateway 1 with ``since_seq`` and
  reads the replay slowly; gateway 1 is SIGKILLed while the replay is still on its way; the client resumes on
  gateway 2 (which reads the stretch from the JetStream window): every ``seq`` exactly once, and the book it holds is
  the feed's book at the same update id;
* a slow gateway: the clients of gateway A stop reading, its other client and gateway B's client go on with no gap;
  A sheds the stuck clients (1008, the slow-consumer policy of :mod:`tradingmcp.server.wsserver`), and they come back
  and resume once they read again.

The client's reading is controlled by :class:`DrillProxy`, a loopback TCP proxy between our client library and a
gateway that can refuse connections, pace what it forwards to the client, or stop reading the gateway altogether.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from itertools import pairwise
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from tests.app.test_cluster import (
    BOOK,
    TRADES,
    Recorder,
    SwitchProxy,
    cluster_dir,
    contiguous,
    health,
    port_of,
    running,
    wait_until,
)
from tradingmcp.app.cluster import TOKEN, Cluster
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.bus.subjects import decode, subject_of
from tradingmcp.transport import ws

__all__ = ["cluster_dir"]  # the fixture, shared with the other drills

PACE_TICK_S = 0.05
"""How often a pacing proxy forwards one chunk to its client."""


class DrillProxy(SwitchProxy):
    """A loopback TCP proxy from a client to ``target`` (a gateway's port): a :class:`SwitchProxy` (``retarget``,
    ``cut``) that can also refuse, pace and stall.

    * ``refusing``: new connections are dropped at once (the client keeps retrying);
    * ``pace_bytes``: at most this many bytes go to the client per :data:`PACE_TICK_S` (None: as fast as it reads);
    * :meth:`stall` / :meth:`flow`: stop and restart reading from the gateway (its writes then back up as they do
      for a client that stops reading: the proxy's side has a small receive buffer);
    * ``accepted``: connections it made to the gateway.
    """

    def __init__(self, target: int, *, small_buffer: bool = False) -> None:
        super().__init__(target)
        self.refusing = False
        self.pace_bytes: int | None = None
        self.small_buffer = small_buffer
        self.accepted = 0
        self._flowing = asyncio.Event()
        self._flowing.set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/mcp"

    def stall(self) -> None:
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self.small_buffer:
            connection = await super()._upstream()
        else:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.target))
            except OSError:
                sock.close()
                raise
            connection = await asyncio.open_connection(sock=sock, limit=4096)
        self.accepted += 1
        return connection

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        with contextlib.suppress(asyncio.CancelledError):  # the test's loop ends with the proxy's pipes still open
            await super()._on_client(reader, writer)

    async def _down(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Gateway → client, paced or stalled as set."""
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                await self._flowing.wait()
                pace = self.pace_bytes
                data = await reader.read(pace or 65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
                if pace:
                    await asyncio.sleep(PACE_TICK_S)
        writer.transport.abort()

    async def close(self) -> None:
        self.flow()
        await super().close()


class FeedTap:
    """What the feed publishes on the bus, read by a plain NATS subscriber: ``newest`` ``seq`` per key and every
    message's ``data`` by ``seq`` for the keys in ``keep``."""

    def __init__(self, keep: tuple[str, ...]) -> None:
        self.keep = keep
        self.newest: dict[str, int] = {}
        self.data: dict[str, dict[int, Any]] = {k: {} for k in keep}
        self.nc: Any = None

    async def start(self, url: str, keys: tuple[str, ...]) -> None:
        self.nc = await nats.connect(url)
        for key in keys:

            async def on_msg(msg: Msg, key: str = key) -> None:
                m = decode(msg.data, key)
                self.newest[key] = max(self.newest.get(key, 0), m.seq)
                if key in self.data:
                    self.data[key][m.seq] = m.data

            await self.nc.subscribe(subject_of(key), cb=on_msg)

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()


@pytest.mark.data
async def test_gateway_killed_mid_replay_client_resumes_on_the_other_gateway(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=2, speed=4.0)) as cl:
        gw1, gw2 = cl.gateway_urls
        proxy = DrillProxy(port_of(gw1))
        await proxy.start()
        tap = FeedTap(keep=(BOOK,))
        await tap.start(cl.nats.url, (TRADES, BOOK))
        client = await connect(proxy.url, token=TOKEN, backoff_max_s=0.3, timeout_s=30.0)
        try:
            rec = Recorder(client)
            for key in (TRADES, BOOK):
                assert not (await client.subscribe(key)).get("isError")
            await wait_until(lambda: len(rec.seqs(TRADES)) >= 20, 30, "trades through gateway 1")
            # away: the client's link drops and every reconnect is refused while the market moves on
            proxy.refusing = True
            proxy.cut()
            await wait_until(lambda: not client.connected.is_set(), 10, "the client to notice the drop")
            since = rec.seqs(TRADES)[-1]
            await wait_until(lambda: tap.newest.get(TRADES, 0) >= since + 400, 60, "hundreds of trades on the bus")
            gap_end = tap.newest[TRADES]
            # back to gateway 1, which replays the stretch; the client reads it slowly
            proxy.pace_bytes = 2048
            proxy.refusing = False

            def replayed() -> list[int]:
                return [s for s in rec.seqs(TRADES) if since < s <= gap_end]

            await wait_until(lambda: len(replayed()) >= 20, 60, "the replay to start arriving")
            cl.procs["gateway1"].kill()  # SIGKILL while the replay is on its way
            got_at_kill = replayed()
            proxy.retarget(port_of(gw2))
            proxy.pace_bytes = None
            proxy.cut()
            # the kill landed inside the replay: some of the stretch had arrived, not all of it
            assert 20 <= len(got_at_kill) < gap_end - since, (since, gap_end, len(got_at_kill))
            assert max(got_at_kill) < gap_end
            # the reconnect to gateway 1 never finished (its resubscribe was cut): the one that counts is gateway 2's
            await wait_until(lambda: client.reconnects >= 1, 60, "the reconnect to gateway 2")
            await wait_until(lambda: rec.seqs(TRADES)[-1] >= gap_end + 60, 60, "live trades through gateway 2")
            trades = rec.seqs(TRADES)
            assert contiguous(trades), [(a, b) for a, b in pairwise(trades) if b - a != 1]
            cursor = client.stream_seqs.cursors[TRADES]
            assert cursor.resumes >= 1 and cursor.refused == 0 and cursor.lost == 0 and cursor.duplicates == 0
            # the book the client rebuilt is the feed's book at the same update id (every book message is whole)
            books = rec.by_stream[BOOK]
            assert books and client.stream_seqs.cursors[BOOK].refused == 0
            last_seq, last_book = books[-1]
            await wait_until(lambda: last_seq in tap.data[BOOK], 10, "the feed's book of that seq")
            feed_book = tap.data[BOOK][last_seq]
            assert last_book["last_update_id"] == feed_book["last_update_id"]
            assert last_book == feed_book
            assert all(tap.data[BOOK].get(s, d) == d for s, d in books)  # no book differs from the feed's
        finally:
            await client.close()
            await tap.close()
            await proxy.close()


BOOK_20 = "book:binance:BTCUSDT:20"
TICKER = "book_ticker:binance:BTCUSDT"
STUCK_KEYS = (TRADES, BOOK, BOOK_20, TICKER, "book:binance:ETHUSDT:20", "book_ticker:binance:ETHUSDT")
"""What the stuck clients hold: enough bytes a second to fill their gateway's buffers within seconds."""


async def _stuck_client(proxy: DrillProxy) -> McpClient:
    """A client of ``proxy`` with no heartbeats of its own: what ends its link is the server's policy, not its pings."""
    return await connect(
        proxy.url, token=TOKEN, backoff_max_s=0.3, timeout_s=30.0, wire=ws.WireOptions(ping_interval_s=0)
    )


KEEP_UP_SEQS = 400
"""How far (in trade ``seq``) a reading client may trail the feed's newest trade: generous (seconds of trades at the
drill's speed) for a loaded machine, while a client of a blocked gateway would fall further behind every second."""


def lag(tap: FeedTap, rec: Recorder) -> int:
    seqs = rec.seqs(TRADES)
    return tap.newest.get(TRADES, 0) - (seqs[-1] if seqs else 0)


@pytest.mark.data
async def test_slow_gateway_clients_do_not_hold_up_the_others(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=2, speed=4.0)) as cl:
        gw_a, gw_b = cl.gateway_urls
        tap = FeedTap(keep=())
        await tap.start(cl.nats.url, (TRADES,))
        proxy = DrillProxy(port_of(gw_a), small_buffer=True)
        await proxy.start()
        stuck = [await _stuck_client(proxy) for _ in range(3)]
        a_reader = await connect(gw_a, token=TOKEN)  # gateway A's client that keeps reading
        b_readers = [await connect(gw_b, token=TOKEN) for _ in range(2)]
        readers = [a_reader, *b_readers]
        try:
            stuck_recs = [Recorder(c) for c in stuck]
            recs = [Recorder(c) for c in readers]
            for c in stuck:
                for key in STUCK_KEYS:
                    assert not (await c.subscribe(key)).get("isError")
            for c in readers:
                for key in (TRADES, BOOK):
                    assert not (await c.subscribe(key)).get("isError")
            await wait_until(lambda: all(len(r.seqs(TRADES)) >= 20 for r in stuck_recs + recs), 30, "trades")
            proxy.stall()  # A's stuck clients stop reading
            a_log = cl.procs["gateway1"].log
            max_lag = [0] * len(recs)
            # A's write buffers fill, then its outbound queues; it sheds the stuck clients (1008 after the grace)
            deadline = asyncio.get_running_loop().time() + 90
            while a_log.read_text(errors="replace").count("closing slow consumer") < len(stuck):
                assert asyncio.get_running_loop().time() < deadline, "gateway A never shed its stuck clients"
                for i, r in enumerate(recs):
                    max_lag[i] = max(max_lag[i], lag(tap, r))
                await asyncio.sleep(0.2)
            assert (await health(gw_a))["status"] == "ok"
            # B's clients and A's reading client kept up all along, with no gap (the bus was not held up by A)
            assert all(m <= KEEP_UP_SEQS for m in max_lag), max_lag
            before = [r.seqs(TRADES)[-1] for r in recs]

            def readers_on() -> bool:
                return all(
                    r.seqs(TRADES)[-1] > b + 20 and lag(tap, r) <= KEEP_UP_SEQS
                    for r, b in zip(recs, before, strict=True)
                )

            await wait_until(readers_on, 30, "the readers to go on")
            for c, r in zip(readers, recs, strict=True):
                assert contiguous(r.seqs(TRADES)) and c.reconnects == 0
                cursor = c.stream_seqs.cursors[TRADES]
                assert cursor.lost == 0 and cursor.duplicates == 0
            # the stuck clients read again: shed, they reconnect to A and resume every trade from its window
            stuck_before = [r.seqs(TRADES)[-1] for r in stuck_recs]
            proxy.flow()
            await wait_until(lambda: all(c.reconnects >= 1 for c in stuck), 60, "the stuck clients to come back")
            assert all(c.last_close is not None and c.last_close[0] == 1008 for c in stuck), [
                c.last_close for c in stuck
            ]
            await wait_until(lambda: all(lag(tap, r) <= KEEP_UP_SEQS for r in stuck_recs), 60, "the stuck to catch up")
            for c, r, b in zip(stuck, stuck_recs, stuck_before, strict=True):
                trades = r.seqs(TRADES)
                assert trades[-1] > b and contiguous(trades), [(x, y) for x, y in pairwise(trades) if y - x != 1]
                cursor = c.stream_seqs.cursors[TRADES]
                assert cursor.resumes >= 1 and cursor.refused == 0 and cursor.lost == 0 and cursor.duplicates == 0
        finally:
            for c in stuck + readers:
                await c.close()
            await tap.close()
            await proxy.close()
