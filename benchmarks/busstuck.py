"""``tradingmcp bench fanout --bus --stuck``: one gateway's clients stop reading; what the other gateway's clients see.

Processes as in :mod:`.busfanout`: a ``nats-server -js`` on loopback, the feed, two gateways A and B, and one client
process per gateway (:func:`~tradingmcp.benchmarks.fanout_peers.receivers`), N/2 clients on each. Per publishing
rate, windows alternate (``rounds`` times, so drift of a shared machine falls on both alike): *A reading* (every
client reads) and *A stuck* (A's clients stop reading: ``pause_reading`` on their sockets; the feed then publishes
back to back, unmeasured, until A's own write buffers hold what the kernel's socket buffers no longer take
(:func:`_fill`), and the window is measured with A backed up; they read again, and drain, before the next window).
Measured on B's clients only: deliveries/s and publish→client latency (the feed's monotonic stamp in the message to
the client's receive), p50 / p99 over every round of a condition, and the stuck / reading ratio of each; and what
A holds for its clients at the end of a window (write buffers plus outbound queues, KB, mean over the rounds: near 0
while they read, growing while they are stuck).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

from tradingmcp.benchmarks.busfanout import BUS_KEY, PEERS, _connect, _disconnect, _settle, _window
from tradingmcp.benchmarks.fanout import start_children
from tradingmcp.benchmarks.procs import BenchError, Child
from tradingmcp.benchmarks.stats import summarize

RATES_MSGS_PER_S = (100.0, 1000.0)
"""Publishing rates of the windows: about the busiest recorded stream, and ten times that."""
CONDITIONS = ("A reading", "A stuck")
FILL_BACKLOG_BYTES = 256 << 10
FILL_MSGS_PER_S = 3000.0
FILL_STEP_S = 1.0
FILL_MAX_S = 60.0
"""Before a stuck window: publish ``FILL_MSGS_PER_S`` (a rate both gateways keep up with) in steps of ``FILL_STEP_S``
until A holds ``FILL_BACKLOG_BYTES`` for its clients."""


@dataclass
class StuckRow:
    """B's clients under one condition at one rate, over every round."""

    clients: int
    msgs_per_s: float
    condition: str
    deliveries_per_s: float
    p50_us: float
    p99_us: float
    a_backlog_kb: float = 0.0
    p50_ratio: float = 1.0
    p99_ratio: float = 1.0

    def row(self) -> str:
        ratio = "" if self.condition == CONDITIONS[0] else f"{self.p50_ratio:.2f} / {self.p99_ratio:.2f}"
        return (
            f"| {self.clients // 2:,} + {self.clients - self.clients // 2:,} | {self.msgs_per_s:,.0f} | "
            f"{self.condition} | {self.a_backlog_kb:,.0f} | {self.deliveries_per_s:,.0f} | "
            f"{self.p50_us:,.0f} / {self.p99_us:,.0f} | {ratio} |"
        )


HEADER = (
    "| clients (A + B) | messages/s | A's clients | A's backlog KB | B: deliveries/s | B: publish→client p50 / p99 µs "
    "| B: stuck / reading p50 / p99 |\n|---|---:|---|---:|---:|---:|---:|"
)


async def run_stuck(clients: tuple[int, ...], seconds: float, rounds: int) -> list[StuckRow]:
    """The measurement (see the module docstring); one row per (N, rate, condition), printed as it comes."""
    from tradingmcp.server.bus.natsserver import NatsServer

    out: list[StuckRow] = []
    with tempfile.TemporaryDirectory(prefix="tmcp-bench-nats-") as tmp:
        nats = NatsServer(Path(tmp) / "store")
        nats.start()
        try:
            feed = Child("feed", f"{PEERS}:bus_feed", nats.url)
            gws = [Child(f"gateway-{name}", f"{PEERS}:bus_gateway", nats.url) for name in "AB"]
            recv = [Child(f"receivers-{name}", "tradingmcp.benchmarks.fanout_peers:receivers") for name in "AB"]
            await start_children([feed, *gws, *recv], 60.0)
            gw_b, recv_a, recv_b = gws[1], recv[0], recv[1]
            for n in clients:
                await _connect([[recv_a], [recv_b]], [str(gw.info["url"]) for gw in gws], n, BUS_KEY)
                seen = sum([await gw.request("subscribers") for gw in gws])
                if seen != n:
                    raise BenchError(f"{seen} clients subscribed, expected {n}")
                for rate in RATES_MSGS_PER_S:
                    samples = {c: array("q") for c in CONDITIONS}
                    delivered = dict.fromkeys(CONDITIONS, 0.0)
                    backlog = dict.fromkeys(CONDITIONS, 0.0)
                    for _ in range(rounds):
                        for cond in CONDITIONS:
                            stuck = cond == CONDITIONS[1]
                            if stuck:
                                await recv_a.request("stall")
                                await _fill(feed, gws[0], [recv_b])
                            got, _cpu, lat = await _window(feed, [gw_b], [[recv_b]], seconds, 1.0 / rate)
                            backlog[cond] += await gws[0].request("backlog") / 1024 / rounds
                            if stuck:
                                await recv_a.request("flow")
                                await _drained(gws[0], n // 2)
                            samples[cond].extend(lat)
                            delivered[cond] += got / rounds
                    rows = []
                    for cond in CONDITIONS:
                        if not samples[cond]:
                            raise BenchError(f"no delivery measured on B ({cond}, {rate:.0f} messages/s)")
                        s = summarize(samples[cond])
                        rows.append(StuckRow(n, rate, cond, delivered[cond], s.p50_us, s.p99_us, backlog[cond]))
                    base, stuck_row = rows
                    stuck_row.p50_ratio = stuck_row.p50_us / max(base.p50_us, 1e-9)
                    stuck_row.p99_ratio = stuck_row.p99_us / max(base.p99_us, 1e-9)
                    for r in rows:
                        print(r.row(), flush=True)
                    out += rows
                await _disconnect([[recv_a, recv_b]])
                await asyncio.sleep(0.5)
            for child in [feed, *gws, *recv]:
                child.kill()
        finally:
            nats.stop()
    return out


async def _fill(feed: Child, gw_a: Child, settle: list[Child]) -> None:
    """Publish until A holds bytes for its stuck clients in its own buffers (the kernel's socket buffers
    of their connections are full), so the measured window sees A stuck rather than the kernel absorbing it.

    Raises:
        BenchError: A still holds nothing after :data:`FILL_MAX_S` of publishing.
    """
    deadline = time.monotonic() + FILL_MAX_S
    while await gw_a.request("backlog") < FILL_BACKLOG_BYTES:
        if time.monotonic() > deadline:
            raise BenchError(f"gateway A's stuck clients did not back up in {FILL_MAX_S:.0f} s of publishing")
        t0 = time.monotonic_ns()
        await feed.request("publish", t0, t0 + int(FILL_STEP_S * 1e9), 1.0 / FILL_MSGS_PER_S, timeout_s=60.0)
    await _settle(settle)


async def _drained(gw_a: Child, clients: int, timeout_s: float = 60.0) -> None:
    """Wait until A holds nothing for its clients again, every one of them still connected.

    Raises:
        BenchError: A shed a client (it stayed behind past the slow-consumer grace) or did not drain in time.
    """
    deadline = time.monotonic() + timeout_s
    while await gw_a.request("backlog"):
        if time.monotonic() > deadline:
            raise BenchError(f"gateway A's clients did not drain in {timeout_s:.0f} s after reading again")
        await asyncio.sleep(0.1)
    if (conns := await gw_a.request("conns")) != clients:
        raise BenchError(f"gateway A has {conns} of its {clients} clients left: it shed the stuck ones")


def stuck_json_name() -> str:
    return f"fanout-bus-stuck-{time.strftime('%Y%m%dT%H%M%S')}.json"
