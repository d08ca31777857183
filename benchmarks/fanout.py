"""Fan-out (one publisher → N subscribed connections) and idle-connection memory, orchestrated from the parent.

Fan-out, per N and per server (ours: ``StreamHub.publish`` in :func:`~tradingmcp.benchmarks.fanout_peers.
mcp_fanout_server`; reference: a bare picows broadcast), N clients subscribed to both servers at once, windows
``[t0, t1]`` (monotonic ns, shared by the processes of the host):

* ``saturated``: publish back to back (yielding to the loop between publishes) → deliveries/s = messages received
  by all clients inside the window / window length (median of ``fanout_rounds`` windows alternating between the two
  servers), plus the publish→receive latency under that load;
* ``paced``: a timer publishes ``paced_deliveries_per_s / N`` messages/s (clamped to [10, 1000]) → publish→receive
  latency at a sustainable load.

Memory: fresh server processes; RSS (after a GC) before and after ``idle_conns`` initialized idle connections.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from tradingmcp.benchmarks.config import FANOUT_OURS, FANOUT_RAW, BenchConfig
from tradingmcp.benchmarks.fanout_peers import STREAM_KEY
from tradingmcp.benchmarks.procs import BenchError, Child
from tradingmcp.benchmarks.stats import LatencySummary, summarize

PEERS = "tradingmcp.benchmarks.fanout_peers"
SERVER_TARGETS = {FANOUT_OURS: f"{PEERS}:mcp_fanout_server", FANOUT_RAW: f"{PEERS}:raw_fanout_server"}
START_DELAY_S = 0.15
DRAIN_S = 0.5


@dataclass(frozen=True, slots=True)
class FanoutPhase:
    """``server`` publishing to ``subscribers`` connections in one or more windows of ``window_s`` each.

    Attributes:
        rounds_deliveries_per_s: deliveries/s of each window (messages received by all clients inside the window).
        latency: publish→receive latency pooled over the windows (None when nothing arrived).
    """

    server: str
    subscribers: int
    phase: str
    window_s: float
    published: int
    received_in_window: int
    rounds_deliveries_per_s: tuple[float, ...]
    latency: LatencySummary | None

    @property
    def deliveries_per_s(self) -> float:
        """Median over the windows."""
        return statistics.median(self.rounds_deliveries_per_s)

    def to_json(self) -> dict[str, Any]:
        windows = len(self.rounds_deliveries_per_s)
        return {
            "server": self.server,
            "subscribers": self.subscribers,
            "phase": self.phase,
            "window_s": self.window_s,
            "windows": windows,
            "published": self.published,
            "published_per_s": round(self.published / (self.window_s * windows), 1),
            "received_in_window": self.received_in_window,
            "deliveries_per_s": round(self.deliveries_per_s, 1),
            "rounds_deliveries_per_s": [round(x, 1) for x in self.rounds_deliveries_per_s],
            "latency": self.latency.to_json() if self.latency else None,
        }


@dataclass(slots=True)
class _Acc:
    published: int = 0
    received: int = 0
    rates: list[float] = field(default_factory=list)
    samples: array[int] = field(default_factory=lambda: array("q"))

    def phase(self, server: str, n: int, phase: str, window_s: float) -> FanoutPhase:
        latency = summarize(self.samples) if self.samples else None
        return FanoutPhase(server, n, phase, window_s, self.published, self.received, tuple(self.rates), latency)


def spread(n: int, procs: int) -> list[int]:
    """``n`` connections over ``procs`` processes (first ones take the remainder)."""
    base, extra = divmod(n, procs)
    return [base + (1 if i < extra else 0) for i in range(procs)]


def paced_interval_s(subscribers: int, deliveries_per_s: int) -> float:
    """Seconds between publishes of the paced phase."""
    rate = min(1000.0, max(10.0, deliveries_per_s / max(1, subscribers)))
    return 1.0 / rate


async def start_children(children: list[Child], timeout_s: float) -> None:
    """Start children concurrently (imports dominate: ~1 s each)."""
    await asyncio.gather(*(c.start(timeout_s) for c in children))


async def _connect(
    clients: list[Child], url: str, n: int, mode: str, key: str | None, timeout_s: float = 120.0
) -> None:
    counts = spread(n, len(clients))
    await asyncio.gather(
        *(
            c.request("connect", url, k, mode, key, timeout_s=timeout_s)
            for c, k in zip(clients, counts, strict=True)
            if k
        )
    )


async def _await_no_connections(server: Child) -> None:
    for _ in range(200):  # the server sees the closes shortly after; bounded at ~10 s
        if not await server.request("conns"):
            return
        await asyncio.sleep(0.05)
    raise BenchError(f"{server.name}: connections still open 10 s after the clients closed them")


async def _disconnect(clients: list[Child], server: Child) -> None:
    await asyncio.gather(*(c.request("disconnect", timeout_s=60.0) for c in clients))
    await _await_no_connections(server)


async def _window(server: Child, clients: list[Child], seconds: float, interval_s: float, acc: _Acc) -> None:
    t0 = time.monotonic_ns() + int(START_DELAY_S * 1e9)
    t1 = t0 + int(seconds * 1e9)
    await asyncio.gather(*(c.request("window", t0, t1) for c in clients))
    pub = await server.request("publish", t0, t1, interval_s, timeout_s=seconds + 60.0)
    await asyncio.sleep(min(DRAIN_S, max(0.1, seconds / 2)))
    parts = await asyncio.gather(*(c.request("collect") for c in clients))
    received = sum(int(p["in_window"]) for p in parts)
    acc.published += int(pub["published"])
    acc.received += received
    acc.rates.append(received / seconds)
    for part in parts:
        acc.samples.frombytes(part["latencies"])


async def run_fanout(cfg: BenchConfig, servers: dict[str, Child], clients: list[Child]) -> list[FanoutPhase]:
    """For every N: N subscribers on each server at once, then ``cfg.fanout_rounds`` saturated windows alternating
    between the servers (so noise hits both alike), then one paced window each.

    Raises:
        BenchError: a child failed, or a server did not see all N subscribers.
    """
    out: list[FanoutPhase] = []
    names = [FANOUT_OURS, FANOUT_RAW]
    for n in cfg.fanout_subscribers:
        for name in names:
            server = servers[name]
            mode = "mcp" if name == FANOUT_OURS else "raw"
            await _connect(clients, str(server.info["url"]), n, mode, STREAM_KEY if mode == "mcp" else None)
            seen = await server.request("subscribers")
            if seen != n:
                raise BenchError(f"{name}: {seen} subscribers, expected {n}")
        saturated = {name: _Acc() for name in names}
        for r in range(cfg.fanout_rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                await _window(servers[name], clients, cfg.fanout_seconds, 0.0, saturated[name])
        interval = paced_interval_s(n, cfg.fanout_paced_deliveries_per_s)
        for name in names:
            paced = _Acc()
            await _window(servers[name], clients, cfg.fanout_seconds, interval, paced)
            out.append(saturated[name].phase(name, n, "saturated", cfg.fanout_seconds))
            out.append(paced.phase(name, n, "paced", cfg.fanout_seconds))
        await asyncio.gather(*(c.request("disconnect", timeout_s=60.0) for c in clients))
        for name in names:
            await _await_no_connections(servers[name])
    return out


@dataclass(frozen=True, slots=True)
class IdleMemory:
    """Server RSS before/after ``connections`` idle initialized connections."""

    server: str
    connections: int
    rss_before: int
    rss_after: int

    @property
    def bytes_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / self.connections

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "connections": self.connections,
            "rss_before_bytes": self.rss_before,
            "rss_after_bytes": self.rss_after,
            "bytes_per_connection": round(self.bytes_per_connection, 1),
        }


async def run_idle_memory(cfg: BenchConfig, clients: list[Child]) -> list[IdleMemory]:
    """Fresh servers (ours, then the bare picows one); 10 warm-up connections, then ``cfg.idle_conns`` idle ones.

    Raises:
        BenchError: a child failed or not every connection arrived.
    """
    out: list[IdleMemory] = []
    for name, target in SERVER_TARGETS.items():
        mode = "mcp" if name == FANOUT_OURS else "raw"
        server = Child(f"{name}-memory", target)
        try:
            info = await server.start(cfg.start_timeout_s)
            url = str(info["url"])
            await _connect(clients, url, min(10, cfg.idle_conns), mode, None)
            await _disconnect(clients, server)
            before = int(await server.request("rss"))
            await _connect(clients, url, cfg.idle_conns, mode, None)
            await asyncio.sleep(0.5)
            seen = await server.request("conns")
            if seen != cfg.idle_conns:
                raise BenchError(f"{name}: {seen} connections, expected {cfg.idle_conns}")
            after = int(await server.request("rss"))
            out.append(IdleMemory(name, cfg.idle_conns, before, after))
            await _disconnect(clients, server)
        finally:
            server.kill()
    return out
