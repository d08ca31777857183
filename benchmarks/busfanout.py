"""``tradingmcp bench fanout --bus``: fan-out through the NATS bus (one feed → G gateways → N clients spread over
them) next to the same run's single process (the publisher's ``StreamHub`` serving the N clients itself).

Processes (each its own spawn child, :mod:`.procs`): a ``nats-server -js`` on loopback; the *feed*
(:func:`bus_feed`: a :class:`~tradingmcp.server.bus.publisher.BusPublisher` answering the gateways' wants); G
*gateways* (:func:`bus_gateway`: ``McpServer`` + ``StreamHub`` + :class:`~tradingmcp.server.bus.gateway.BusStreams`,
the product's gateway path); the client processes of :func:`~tradingmcp.benchmarks.fanout_peers.receivers`. The
single-process reference is :func:`~tradingmcp.benchmarks.fanout_peers.mcp_fanout_server`.

Per N, the single process runs ``saturated`` (publishing back to back: its capacity) and ``paced``
(:data:`PACED_MSGS_PER_S` messages/s, about the busiest stream of the recorded market). Per (G, N) the bus runs
``paced``, ``half single's rate`` (the feed publishes at half the message rate the single process sustained
saturated: a load both layouts carry on this machine, so their cost per delivery and latency compare) and
``saturated`` (the feed publishing back to back, faster than a gateway fans out: what the gateways' flow control
holds). Reported: deliveries/s (messages received by all
clients inside the window / window), CPU seconds per million deliveries per gateway (each gateway's user+system time
in the window over the deliveries its clients received; for the single process, the whole process, publishing
included), publish→client latency (the publisher's monotonic stamp in the message to the client's receive), and for
the bus the most messages each gateway's NATS client held queued for it in the window (sampled every
:data:`QUEUE_SAMPLE_S`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradingmcp.benchmarks.fanout import spread, start_children
from tradingmcp.benchmarks.fanout_peers import STREAM_KEY, trade
from tradingmcp.benchmarks.procs import BenchError, Child, Handler, kill_all, raise_fd_limit
from tradingmcp.benchmarks.stats import summarize

BUS_KEY = "book_ticker:bench:BTCUSDT"
"""The benchmark's stream on the bus (venue ``bench``): a stream of full states (conflatable), of trade-sized messages."""
PACED_MSGS_PER_S = 100
SATURATED_BACKLOG = 1000
"""Most unacknowledged messages the saturating feed keeps in flight (its publishing then waits for the bus)."""
START_DELAY_S = 0.2
DRAIN_S = 0.5
QUEUE_SAMPLE_S = 0.005
"""How often a gateway samples its NATS client's queue of bus messages (s)."""
PEERS = "tradingmcp.benchmarks.busfanout"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (s), from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bus_feed(url: str) -> tuple[dict[str, Any], dict[str, Handler]]:
    """The feed: answers wants for :data:`BUS_KEY`; command ``publish(t0_ns, t1_ns, interval_s)``."""
    import orjson

    from tradingmcp.benchmarks.fanout_peers import publish_window
    from tradingmcp.server.bus.config import BusConfig
    from tradingmcp.server.bus.conn import BusLink
    from tradingmcp.server.bus.publisher import BusPublisher
    from tradingmcp.server.bus.subjects import FEED_WANT

    link = await BusLink.connect(BusConfig(url, retention_msgs=1_000, file_storage=False), "bench-feed")
    await link.ensure_streams()
    pub = BusPublisher(link)
    pub.start()
    await pub.prime(BUS_KEY)

    async def want(msg: Any) -> None:
        await msg.respond(orjson.dumps({"ok": True, "epoch": pub.epochs[BUS_KEY], "seq": pub.seqs[BUS_KEY]}))

    await link.nc.subscribe(FEED_WANT, cb=want)

    def publish_one(now_ns: int) -> int:
        pub.publish(BUS_KEY, trade(now_ns), lossless=False)
        return 1

    async def publish(t0_ns: int, t1_ns: int, interval_s: float) -> dict[str, int]:
        if interval_s:
            return await publish_window(publish_one, t0_ns, t1_ns, interval_s)
        # saturated: as fast as the bus takes them (at most SATURATED_BACKLOG unacknowledged), not into a queue
        await asyncio.sleep(max(0.0, (t0_ns - time.monotonic_ns()) / 1e9))
        published = 0
        while (now := time.monotonic_ns()) < t1_ns:
            publish_one(now)
            published += 1
            while pub.backlog > SATURATED_BACKLOG:  # noqa: ASYNC110 - a bound, polled between publishes
                await asyncio.sleep(0)
        deadline = time.monotonic() + 30
        while pub.backlog and time.monotonic() < deadline:  # noqa: ASYNC110 - drained before the next window
            await asyncio.sleep(0.01)
        return {"published": published, "sends": published}

    async def close() -> None:
        await pub.close()
        await link.close()

    return {}, {"publish": publish, "close": close}


async def bus_gateway(url: str) -> tuple[dict[str, Any], dict[str, Handler]]:
    """A gateway: our server whose ``trades:bench`` streams come from the bus."""
    from tradingmcp.benchmarks.servers import HOST, echo_app
    from tradingmcp.server.bus.config import BusConfig
    from tradingmcp.server.bus.conn import BusLink
    from tradingmcp.server.bus.gateway import BusStreams
    from tradingmcp.server.mcp.streams import StreamHub
    from tradingmcp.server.tools.subscriptions import register_stream_tools
    from tradingmcp.server.wsserver import McpServer, ServerConfig
    from tradingmcp.transport import ws

    link = await BusLink.connect(BusConfig(url, file_storage=False), "bench-gateway")
    hub = StreamHub()
    app = echo_app()
    register_stream_tools(app, hub)
    streams = BusStreams(link, hub, ["bench"])
    config = ServerConfig(host=HOST, port=0, wire=ws.WireOptions(ping_interval_s=0))
    server = await McpServer(app, config, streams=hub).start()

    async def subscribers() -> int:
        return hub.subscriber_count(BUS_KEY)

    async def conns() -> int:
        return len(server.connections)

    queue_max = [0]

    async def sample_queue() -> None:
        while True:  # the most messages the gateway's NATS client held for its bus subscriptions, sampled
            held = sum(e.sub.pending_msgs for e in list(streams.subs.values()) if e.sub is not None)
            queue_max[0] = max(queue_max[0], held)
            await asyncio.sleep(QUEUE_SAMPLE_S)

    sampler = asyncio.get_running_loop().create_task(sample_queue())

    async def queue() -> int:
        """The most messages held in the gateway's NATS client queue since the last call."""
        most, queue_max[0] = queue_max[0], 0
        return most

    async def backlog() -> int:
        """Bytes waiting for the gateway's clients: write buffers plus outbound queues."""
        return sum(
            (c.conn.write_buffer_size() if c.conn is not None else 0) + (c.out.queued_bytes if c.out is not None else 0)
            for c in server.connections
        )

    async def close() -> None:
        sampler.cancel()
        await server.stop()
        await streams.aclose()
        await link.close()

    handlers: dict[str, Handler] = {
        "subscribers": subscribers,
        "conns": conns,
        "backlog": backlog,
        "queue": queue,
        "close": close,
    }
    return {"url": server.url}, handlers


@dataclass
class Phase:
    """One measured window set: ``layout`` (``single`` or ``bus-G``), N clients, phase, and what was measured."""

    layout: str
    gateways: int
    clients: int
    phase: str
    deliveries_per_s: float
    cpu_s_per_m: list[float]
    p50_us: float | None
    p99_us: float | None
    queue_max: list[int] | None = None

    def row(self) -> str:
        cpu = "/".join(f"{c:.1f}" for c in self.cpu_s_per_m)
        lat = f"{self.p50_us:,.0f} / {self.p99_us:,.0f}" if self.p50_us is not None and self.p99_us is not None else "-"
        queue = "/".join(f"{q:,}" for q in self.queue_max) if self.queue_max is not None else "-"
        return (
            f"| {self.layout} | {self.clients:,} | {self.phase} | {self.deliveries_per_s:,.0f} | {cpu} | {lat} "
            f"| {queue} |"
        )


async def _window(
    publisher: Child,
    servers: list[Child],
    clients: list[list[Child]],
    seconds: float,
    interval_s: float,
) -> tuple[float, list[float], array[int]]:
    """One window: returns deliveries/s, CPU s per million deliveries per server, latency samples (ns)."""
    t0 = time.monotonic_ns() + int(START_DELAY_S * 1e9)
    t1 = t0 + int(seconds * 1e9)
    flat = [c for group in clients for c in group]
    await asyncio.gather(*(c.request("window", t0, t1) for c in flat))
    await asyncio.sleep(max(0.0, (t0 - time.monotonic_ns()) / 1e9))
    cpu0 = [cpu_seconds(s.pid) for s in servers]
    await publisher.request("publish", t0, t1, interval_s, timeout_s=seconds + 60.0)
    cpu1 = [cpu_seconds(s.pid) for s in servers]
    await _settle(flat)
    samples: array[int] = array("q")
    per_server: list[int] = []
    for group in clients:
        parts = await asyncio.gather(*(c.request("collect") for c in group))
        per_server.append(sum(int(p["in_window"]) for p in parts))
        for p in parts:
            samples.frombytes(p["latencies"])
    total = sum(per_server)
    cpu = [(b - a) / max(1, n) * 1e6 for a, b, n in zip(cpu0, cpu1, per_server, strict=True)]
    return total / seconds, cpu, samples


async def _settle(clients: list[Child], timeout_s: float = 30.0) -> None:
    """Wait until the clients stop receiving (what the window published has arrived, or was conflated away)."""
    last = -1
    deadline = time.monotonic() + timeout_s
    await asyncio.sleep(DRAIN_S)
    while time.monotonic() < deadline:
        parts = await asyncio.gather(*(c.request("collect") for c in clients))
        total = sum(int(p["total"]) for p in parts)
        if total == last:
            return
        last = total
        await asyncio.sleep(0.3)


async def _measure(
    layout: str,
    publisher: Child,
    servers: list[Child],
    clients: list[list[Child]],
    n: int,
    seconds: float,
    rates: tuple[tuple[str, float], ...],
) -> list[Phase]:
    """One window per ``(phase, messages/s)`` of ``rates`` (0: back to back)."""
    out = []
    bus = layout != "single process"
    for phase, msgs_per_s in rates:
        interval = 1.0 / msgs_per_s if msgs_per_s else 0.0
        if bus:
            await asyncio.gather(*(s.request("queue") for s in servers))  # the window's maximum only
        rate, cpu, samples = await _window(publisher, servers, clients, seconds, interval)
        queue = [int(await s.request("queue")) for s in servers] if bus else None
        lat = summarize(samples) if len(samples) else None
        p50, p99 = (lat.p50_us, lat.p99_us) if lat else (None, None)
        out.append(Phase(layout, len(servers), n, phase, rate, cpu, p50, p99, queue))
    return out


async def _connect(groups: list[list[Child]], urls: list[str], n: int, key: str) -> None:
    per_server = spread(n, len(urls))
    jobs = []
    for group, url, k in zip(groups, urls, per_server, strict=True):
        for c, m in zip(group, spread(k, len(group)), strict=True):
            if m:
                jobs.append(c.request("connect", url, m, "mcp", key, timeout_s=120.0))
    await asyncio.gather(*jobs)


async def _disconnect(groups: list[list[Child]]) -> None:
    await asyncio.gather(*(c.request("disconnect", timeout_s=60.0) for g in groups for c in g))


async def run(gateways: tuple[int, ...], clients: tuple[int, ...], seconds: float, client_procs: int) -> list[Phase]:
    from tradingmcp.server.bus.natsserver import NatsServer

    phases: list[Phase] = []
    procs = max(client_procs, *gateways)
    receivers = [Child(f"receivers-{i}", "tradingmcp.benchmarks.fanout_peers:receivers") for i in range(procs)]
    await start_children(receivers, 60.0)
    # the single process: the publisher's own hub serves the clients
    single = Child("single", "tradingmcp.benchmarks.fanout_peers:mcp_fanout_server")
    await single.start(60.0)
    single_rates: dict[int, float] = {}  # N -> messages/s the single process sustained saturated
    for n in clients:
        await _connect([receivers], [str(single.info["url"])], n, STREAM_KEY)
        if await single.request("subscribers") != n:
            raise BenchError("single: not every client subscribed")
        rates = (("saturated", 0.0), ("paced", float(PACED_MSGS_PER_S)))
        done = _shown(await _measure("single process", single, [single], [receivers], n, seconds, rates))
        phases += done
        single_rates[n] = done[0].deliveries_per_s / n
        await _disconnect([receivers])
    single.kill()
    with tempfile.TemporaryDirectory(prefix="tmcp-bench-nats-") as tmp:
        nats = NatsServer(Path(tmp) / "store")
        nats.start()
        try:
            feed = Child("feed", f"{PEERS}:bus_feed", nats.url)
            await feed.start(60.0)
            for g in gateways:
                gws = [Child(f"gateway-{i}", f"{PEERS}:bus_gateway", nats.url) for i in range(g)]
                await start_children(gws, 60.0)
                groups = [receivers[i::g] for i in range(g)]  # each client process talks to one gateway
                layout = f"bus, {g} gateway{'s' if g > 1 else ''}"
                for n in clients:
                    try:
                        await _connect(groups, [str(gw.info["url"]) for gw in gws], n, BUS_KEY)
                        seen = sum([await gw.request("subscribers") for gw in gws])
                        if seen != n:
                            raise BenchError(f"bus: {seen} clients subscribed, expected {n}")
                        bus_rates = (
                            ("paced", float(PACED_MSGS_PER_S)),
                            ("half single's rate", single_rates[n] / 2),
                            ("saturated", 0.0),
                        )
                        phases += _shown(await _measure(layout, feed, gws, groups, n, seconds, bus_rates))
                    except (BenchError, TimeoutError) as exc:  # the machine is full: say so, go on with the rest
                        print(f"| {layout} | {n:,} | failed: {str(exc)[:120]} | | | |", flush=True)
                    await _disconnect([receivers])
                for gw in gws:
                    gw.kill()
            feed.kill()
        finally:
            nats.stop()
    return phases


HEADER = (
    "| layout | clients | phase | deliveries/s | CPU s per 1M deliveries (per gateway) | publish→client p50 / p99 µs "
    "| bus queue max (msgs, per gateway) |\n"
    "|---|---:|---|---:|---:|---:|---:|"
)


def _shown(phases: list[Phase]) -> list[Phase]:
    for ph in phases:
        print(ph.row(), flush=True)
    return phases


def main(argv: list[str]) -> int:
    """``tradingmcp bench fanout --bus [--gateways 1,2,4] [--clients 100,1000] [--seconds S] [--out DIR]``."""
    import uvloop

    p = argparse.ArgumentParser(prog="tradingmcp bench fanout", description=__doc__.split("\n\n")[0])
    p.add_argument("--bus", action="store_true", required=True, help="through the NATS bus (the only mode here)")
    p.add_argument("--gateways", default="1,2,4", help="gateway counts (default 1,2,4)")
    p.add_argument("--clients", default="100,1000", help="client counts (default 100,1000)")
    p.add_argument("--seconds", type=float, default=2.0, help="publishing window per phase (default 2 s)")
    p.add_argument("--client-procs", type=int, default=2, help="client processes (at least one per gateway; default 2)")
    p.add_argument("--out", default="bench-results", help="where the JSON goes (default bench-results)")
    p.add_argument(
        "--stuck",
        action="store_true",
        help="two gateways, half the clients on each; gateway A's clients stop reading in every other window: "
        "B's delivery with and without A stuck (--clients split over A and B; --gateways ignored)",
    )
    p.add_argument("--rounds", type=int, default=3, help="with --stuck: windows per condition, interleaved (default 3)")
    args = p.parse_args(argv)
    try:
        gateways = tuple(int(x) for x in args.gateways.split(","))
        clients = tuple(int(x) for x in args.clients.split(","))
    except ValueError:
        print("tradingmcp bench fanout: --gateways and --clients take comma-separated integers", file=sys.stderr)
        return 2
    raise_fd_limit()
    if args.stuck:
        return _main_stuck(clients, args.seconds, max(1, args.rounds), Path(args.out))
    print(HEADER, flush=True)
    try:
        phases = uvloop.run(run(gateways, clients, args.seconds, max(1, args.client_procs)))
    except (BenchError, TimeoutError, OSError) as exc:
        print(f"tradingmcp bench fanout: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        kill_all()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"fanout-bus-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps([ph.__dict__ for ph in phases], indent=1))
    print(f"json: {path}")
    return 0


def _main_stuck(clients: tuple[int, ...], seconds: float, rounds: int, out: Path) -> int:
    """``--stuck``: :mod:`.busstuck`."""
    import uvloop

    from tradingmcp.benchmarks.busstuck import HEADER as STUCK_HEADER
    from tradingmcp.benchmarks.busstuck import run_stuck, stuck_json_name

    print(STUCK_HEADER, flush=True)
    try:
        rows = uvloop.run(run_stuck(clients, seconds, rounds))
    except (BenchError, TimeoutError, OSError) as exc:
        print(f"tradingmcp bench fanout: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        kill_all()
    out.mkdir(parents=True, exist_ok=True)
    path = out / stuck_json_name()
    path.write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    print(f"json: {path}")
    return 0
