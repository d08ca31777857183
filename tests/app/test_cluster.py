"""Fault drills on a real deployment over the bus: every part its own process on loopback (nats-server, the
simulator, a feed, traders, gateways, :class:`~tradingmcp.app.cluster.Cluster`), driven by our client library.

* a gateway killed (SIGKILL): the client's automatic reconnect lands on the other gateway and resumes every stream
  with ``since_seq``: each trade ``seq`` exactly once, and the same ``seq`` is the same message on both gateways;
* the active trader killed: the standby takes the lease and an order sent meanwhile is placed exactly once (counted
  on the simulator by its client order id); the account's order events come back from both traders as one stream
  (``seq`` contiguous across the failover);
* the bus stopped and started again: the gateway keeps its client, says ``degraded`` on ``/health``, and the trades
  go on with no ``seq`` missing;
* malformed and foreign messages on bus subjects: dropped with a metric and a log line, the stream goes on; a trader
  request without the scope its tool needs is refused by the trader itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import nats
import orjson
import pytest

from tradingmcp.app.cluster import TOKEN, Cluster
from tradingmcp.client.core import Notification
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.bus.subjects import FEED_WANT, subject_of, trader_subject
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET

TRADES = "trades:binance:BTCUSDT"
BOOK = "book:binance:BTCUSDT:5"
ORDERS = "orders:binance"
ORDERS_BTC = "orders:binance:BTCUSDT"


@pytest.fixture
def cluster_dir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the cluster's logs and stores go; its processes replay the real recording."""
    monkeypatch.setenv("TRADINGMCP_DATA", str(data_dir))
    return tmp_path / "cluster"


@contextlib.contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


class Recorder:
    """Every stream message a client delivers, by stream: ``(seq, data)`` in arrival order."""

    def __init__(self, client: McpClient) -> None:
        self.by_stream: dict[str, list[tuple[int, Any]]] = {}
        client.on_notification(self.on_note)

    def on_note(self, note: Notification) -> bool:
        p = note.params
        if "seq" in p:
            self.by_stream.setdefault(p["stream"], []).append((p["seq"], p["data"]))
        return True

    def seqs(self, key: str) -> list[int]:
        return [s for s, _ in self.by_stream.get(key, [])]


class SwitchProxy:
    """A loopback TCP proxy to ``target``: :meth:`retarget` sends new connections elsewhere, :meth:`cut` aborts the
    ones open (what the client sees when the machine of its gateway dies)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self._transports: list[Any] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.target)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._upstream()
        except OSError:
            writer.transport.abort()
            return
        self._transports += [writer.transport, up_writer.transport]
        await asyncio.gather(self._pipe(reader, up_writer), self._down(up_reader, writer), return_exceptions=True)

    async def _down(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Gateway → client."""
        await self._pipe(reader, writer)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    def retarget(self, port: int) -> None:
        self.target = port

    def cut(self) -> None:
        for t in self._transports:
            t.abort()
        self._transports.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


async def wait_until(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def health(url: str) -> dict[str, Any]:
    base = url.replace("ws://", "http://").removesuffix("/mcp")
    async with aiohttp.ClientSession() as http, http.get(f"{base}/health") as resp:
        doc: dict[str, Any] = await resp.json()
        return doc


async def metrics(url: str) -> str:
    base = url.replace("ws://", "http://").removesuffix("/mcp")
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        return await resp.text()


def contiguous(seqs: list[int]) -> bool:
    return bool(seqs) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))


@pytest.mark.data
async def test_gateway_killed_client_resumes_on_the_other_gateway(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=2, speed=4.0)) as cl:
        gw1, gw2 = cl.gateway_urls
        proxy = SwitchProxy(port_of(gw1))
        await proxy.start()
        client = await connect(f"ws://127.0.0.1:{proxy.port}/mcp", token=TOKEN)
        witness = await connect(gw2, token=TOKEN)  # a client of the other gateway all along
        try:
            rec, seen = Recorder(client), Recorder(witness)
            for c in (client, witness):
                for key in (TRADES, BOOK):
                    assert not (await c.subscribe(key)).get("isError")
            await wait_until(lambda: len(rec.seqs(TRADES)) >= 30, 30, "trades through gateway 1")
            before = len(rec.seqs(TRADES))
            cl.procs["gateway1"].kill()  # SIGKILL: no close frame, no goodbye
            proxy.retarget(port_of(gw2))
            proxy.cut()
            await wait_until(lambda: client.reconnects >= 1, 30, "the reconnect to gateway 2")
            await wait_until(lambda: len(rec.seqs(TRADES)) >= before + 60, 30, "trades through gateway 2")
            trades = rec.seqs(TRADES)
            assert contiguous(trades), trades  # every seq once: none lost while away, none twice after the resume
            cursor = client.stream_seqs.cursors[TRADES]
            assert cursor.resumes >= 1 and cursor.refused == 0 and cursor.lost == 0 and cursor.duplicates == 0
            # one message, one seq, on every gateway: what each gateway sent under a seq is the same message
            mine, theirs = dict(rec.by_stream[TRADES]), dict(seen.by_stream[TRADES])
            common = set(mine) & set(theirs)
            assert len(common) >= 30 and all(mine[s] == theirs[s] for s in common)
            books_mine, books_theirs = dict(rec.by_stream[BOOK]), dict(seen.by_stream[BOOK])
            shared = set(books_mine) & set(books_theirs)
            assert shared and all(books_mine[s] == books_theirs[s] for s in shared)
            # the book the client holds after the resume is the other gateway's book at the same update id
            last_seq, last_book = rec.by_stream[BOOK][-1]
            await wait_until(lambda: last_seq in dict(seen.by_stream[BOOK]), 10, "the witness's book")
            assert dict(seen.by_stream[BOOK])[last_seq] == last_book
        finally:
            await client.close()
            await witness.close()
            await proxy.close()


async def sim_orders(sim_url: str, client_order_id: str) -> list[dict[str, Any]]:
    """Orders of BTCUSDT on the simulator with this client order id (python-binance, the simulator's account)."""
    from binance import AsyncClient

    cls = type("SimClient", (AsyncClient,), {"API_URL": f"{sim_url}/api"})
    bc = await cls.create(BINANCE_SIM_KEY, BINANCE_SIM_SECRET)
    try:
        orders = await bc.get_all_orders(symbol="BTCUSDT")
    finally:
        await bc.close_connection()
    return [o for o in orders if o["clientOrderId"] == client_order_id]


@pytest.mark.data
async def test_trader_failover_places_an_order_exactly_once(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=1, traders=2, speed=4.0, lease_ttl_s=1.5)) as cl:
        client = await connect(cl.gateway_urls[0], token=TOKEN)
        try:
            rec = Recorder(client)
            for key in (ORDERS, ORDERS_BTC):
                assert not (await client.subscribe(key)).get("isError")
            first = await client.call_tool(
                "place_order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "MARKET",
                    "quantity": "0.001",
                    "client_order_id": "before-1",
                },
            )
            assert not first.get("isError"), first

            def ids(key: str) -> set[str]:
                return {d["order"]["client_order_id"] for _, d in rec.by_stream.get(key, [])}

            # the active trader publishes the order's events before it dies (events it never published are gone)
            await wait_until(lambda: "before-1" in ids(ORDERS) and "before-1" in ids(ORDERS_BTC), 15, "events")
            active = next(n for n in ("trader1", "trader2") if "taken by" in cl.procs[n].log.read_text())
            standby = "trader2" if active == "trader1" else "trader1"
            cl.procs[active].kill()
            started = time.monotonic()
            during = await client.call_tool(
                "place_order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "MARKET",
                    "quantity": "0.001",
                    "client_order_id": "during-1",
                },
            )
            took = time.monotonic() - started
            assert not during.get("isError"), during  # waited for the standby, then placed
            assert "taken by" in cl.procs[standby].log.read_text()
            assert took < 1.5 * 2 + 5  # the lease's TTL bounds the failover (generous: a loaded machine)
            assert len(await sim_orders(cl.sim_url, "during-1")) == 1
            assert len(await sim_orders(cl.sim_url, "before-1")) == 1
            # the new trader knows the account: the order placed before the failover is found through it
            found = await client.call_tool("get_order", {"symbol": "BTCUSDT", "client_order_id": "before-1"})
            assert not found.get("isError") and found["structuredContent"]["order"]["client_order_id"] == "before-1"
            # account events came back through the bus from both traders, numbered as one stream
            await wait_until(lambda: {"before-1", "during-1"} <= ids(ORDERS), 15, "order events of both traders")
            assert contiguous(rec.seqs(ORDERS))
            cursor = client.stream_seqs.cursors[ORDERS]
            assert cursor.lost == 0 and cursor.duplicates == 0
        finally:
            await client.close()


@pytest.mark.data
async def test_bus_down_and_back(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=1, speed=4.0)) as cl:
        url = cl.gateway_urls[0]
        client = await connect(url, token=TOKEN)
        try:
            rec = Recorder(client)
            assert not (await client.subscribe(TRADES)).get("isError")
            await wait_until(lambda: len(rec.seqs(TRADES)) >= 20, 30, "trades")
            assert (await health(url))["status"] == "ok"
            cl.nats.stop()
            down: dict[str, Any] = {}

            async def degraded() -> bool:
                down.update(await health(url))
                return down["status"] == "degraded"

            deadline = time.monotonic() + 15
            while not await degraded():
                assert time.monotonic() < deadline, down
                await asyncio.sleep(0.1)
            assert down["bus"]["connected"] is False
            echo = await client.call_tool("echo", {"still": "here"})  # the client is still served
            assert not echo.get("isError") and client.reconnects == 0
            during = len(rec.seqs(TRADES))
            cl.nats.start()
            deadline = time.monotonic() + 30
            while (await health(url))["status"] != "ok":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            await wait_until(lambda: len(rec.seqs(TRADES)) >= during + 40, 45, "trades after the bus came back")
            trades = rec.seqs(TRADES)
            assert contiguous(trades), [(a, b) for a, b in pairwise(trades) if b - a != 1]
            assert client.reconnects == 0
            assert "tradingmcp_bus_disconnects_total 1.0" in await metrics(url)
        finally:
            await client.close()


@pytest.mark.data
async def test_malformed_bus_messages_are_dropped(cluster_dir: Path) -> None:
    with running(Cluster(cluster_dir, gateways=1, speed=4.0)) as cl:
        url = cl.gateway_urls[0]
        client = await connect(url, token=TOKEN)
        nc = await nats.connect(cl.nats.url)
        try:
            rec = Recorder(client)
            assert not (await client.subscribe(TRADES)).get("isError")
            await wait_until(lambda: len(rec.seqs(TRADES)) >= 10, 30, "trades")
            subject = subject_of(TRADES)
            js = nc.jetstream()
            for body in (
                b"not json",
                b"[1, 2]",
                orjson.dumps({"stream": "trades:binance:ETHUSDT", "seq": 1, "epoch": "x", "data": {}}),  # foreign key
                orjson.dumps({"stream": TRADES, "seq": "7", "epoch": "x", "data": {}}),  # seq of the wrong type
            ):
                await js.publish(subject, body)
            bad_want = await nc.request(FEED_WANT, b"\xff{", timeout=5)
            assert b"error" in bad_want.data
            bad_call = await nc.request(trader_subject("binance"), b'{"tool": 3}', timeout=5)
            assert orjson.loads(bad_call.data)["rpc_error"]["code"] == -32602
            # the trader checks the forwarded scopes itself: a read-only caller cannot place
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
            body = {"tool": "place_order", "args": order, "principal": "reader", "scopes": ["read"]}
            refused = orjson.loads((await nc.request(trader_subject("binance"), orjson.dumps(body), timeout=5)).data)
            assert (
                refused["result"]["isError"] and refused["result"]["structuredContent"]["error"]["code"] == "forbidden"
            )
            count = len(rec.seqs(TRADES))
            await wait_until(lambda: len(rec.seqs(TRADES)) >= count + 20, 30, "trades after the garbage")
            assert contiguous(rec.seqs(TRADES))
            assert 'tradingmcp_bus_dropped_total{kind="md"} 4.0' in await metrics(url)
            assert (
                cl.procs["gateway1"].log.read_text().count("dropped a message on tmcp.md.binance.BTCUSDT.trades") == 4
            )
            assert "dropped a message" in cl.procs["feed"].log.read_text()
            assert "dropped a message" in cl.procs["trader1"].log.read_text()
            assert cl.procs["gateway1"].popen is not None and cl.procs["gateway1"].popen.poll() is None
        finally:
            await nc.close()
            await client.close()
