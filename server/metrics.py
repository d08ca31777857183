"""Prometheus metrics and an exchange-aware ``/health``, served on the MCP server's own port.

Wiring (``serve``)::

    server: McpServer | None = None
    routes = metrics_routes(app, lambda: server, venues, audit=toolset.audit)
    server = await McpServer(app, config, streams=hub, http_routes=routes).start()

Metrics (own :class:`prometheus_client.CollectorRegistry`, never the global one; text format 0.0.4):

* ``tradingmcp_tool_calls_total{tool, outcome}`` — finished ``tools/call`` (outcome ``ok``, ``tool_error``,
  ``rpc_error``, ``internal``, ``input_required``; a tool name the server does not have is counted as ``tool="_unknown"`` so callers
  cannot blow up label cardinality).
* ``tradingmcp_tool_call_latency_us{tool}`` — histogram, dispatch → result in µs (buckets 50 µs … 1 s).
* ``tradingmcp_connections``, ``tradingmcp_in_flight_calls``, ``tradingmcp_outbound_queue_messages``,
  ``tradingmcp_outbound_queue_bytes``, ``tradingmcp_outbound_queue_max_bytes`` — sampled from
  ``McpServer.connections`` on scrape.
* ``tradingmcp_outbound_sent_total``, ``tradingmcp_outbound_conflated_total`` — messages sent / replaced while queued
  (latest-wins conflation), summed over connections; a closed connection keeps counting with what it had at the last
  scrape.
* ``tradingmcp_active_streams`` — stream keys with at least one subscriber.
* ``tradingmcp_exchange_up{exchange, mode}``, ``tradingmcp_exchange_clock_offset_ms{exchange}``,
  ``tradingmcp_exchange_rate_limit_used{exchange, kind, interval_s}`` and ``..._limit`` — from
  ``adapter.server_status()``, refreshed in the background when older than ``exchange_cache_s`` (a scrape shows the
  previous sample; the first scrape after start triggers the first one).
* ``tradingmcp_audit_queue_depth``, ``tradingmcp_audit_written_total``, ``tradingmcp_audit_write_failures_total``.
* ``tradingmcp_market_cache_hits_total{exchange, kind}``, ``tradingmcp_market_cache_misses_total{exchange, kind}`` —
  market-data reads answered by the TTL cache (or by a request already under way) / sent to the exchange
  (:mod:`tradingmcp.server.market`; ``kind`` is ``ticker``, ``price``, ``book``, ``trades``, ``klines`` or ``stats``).
* ``tradingmcp_bus_up``, ``tradingmcp_bus_disconnects_total``, ``tradingmcp_bus_dropped_total{kind}`` — a server fed
  over the bus (``serve --bus``): whether its link is up, how often it went down, and malformed or foreign messages
  dropped (``md``, ``acct``, ``rpc``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from tradingmcp.server.exchanges.models import ServerStatus
from tradingmcp.server.mcp.registry import McpApp, ToolCallRecord
from tradingmcp.server.venues import Venues
from tradingmcp.transport import ws

if TYPE_CHECKING:
    from tradingmcp.server.audit import AuditLog
    from tradingmcp.server.market import MarketData
    from tradingmcp.server.wsserver import McpServer

log = logging.getLogger("tradingmcp.server.metrics")

LATENCY_BUCKETS_US = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 250_000, 500_000, 1e6)
"""tools/call latency histogram buckets (µs): 50 µs (a sync tool over loopback) to 1 s (a slow exchange round trip)."""
UNKNOWN_TOOL = "_unknown"
ServerGetter = Callable[[], "McpServer | None"]
Route = Callable[[], ws.HttpResponse]
BusHealth = Callable[[], dict[str, Any]]
"""``() -> {"connected": bool, "disconnects": int, "dropped": {kind: int}, ...}`` of a bus link."""


class ExchangeSampler:
    """``adapter.server_status()`` of each venue, cached: :meth:`sample` never waits, it schedules a refresh when the
    cache is older than ``cache_s`` (s) and returns what it has."""

    def __init__(self, venues: Venues | None, cache_s: float = 1.0, timeout_s: float = 2.0) -> None:
        self.venues = venues
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self.statuses: dict[str, ServerStatus | None] = {}
        self.sampled_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, ServerStatus | None]:
        """The latest statuses by venue name (None: the exchange did not answer in time)."""
        if self.venues is not None and time.monotonic() - self.sampled_at > self.cache_s and self._task is None:
            with contextlib.suppress(RuntimeError):  # no loop (a scrape from a thread): keep the cache
                self._task = asyncio.get_running_loop().create_task(self.refresh())
        return self.statuses

    async def refresh(self) -> None:
        """Ask every venue now (bounded by ``timeout_s`` each)."""
        try:
            for venue in self.venues or ():
                try:
                    async with asyncio.timeout(self.timeout_s):
                        self.statuses[venue.name] = await venue.adapter.server_status()
                except Exception as exc:  # unreachable or slow: reported as down, never raised into a scrape
                    log.debug("server_status of %s failed: %r", venue.name, exc)
                    self.statuses[venue.name] = None
            self.sampled_at = time.monotonic()
        finally:
            self._task = None


class _LiveCollector(Collector):
    """Samples the server's connections, the exchanges and the audit log on each scrape."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self.m = metrics
        self._retired: dict[str, float] = {"sent": 0, "conflated": 0}
        self._last: dict[int, dict[str, int]] = {}

    def collect(self) -> Iterator[Metric]:
        yield from self._connections()
        yield from self._exchanges()
        yield from self._audit()
        yield from self._market()
        yield from self._bus()

    def _bus(self) -> Iterator[Metric]:
        if self.m.bus is None:
            return
        h = self.m.bus()
        yield GaugeMetricFamily("tradingmcp_bus_up", "1 while the bus link is connected", 1 if h["connected"] else 0)
        yield CounterMetricFamily("tradingmcp_bus_disconnects", "Times the bus link went down", h["disconnects"])
        dropped = CounterMetricFamily(
            "tradingmcp_bus_dropped", "Malformed or foreign bus messages dropped", labels=["kind"]
        )
        for kind in ("md", "acct", "rpc"):
            dropped.add_metric([kind], h["dropped"].get(kind, 0))
        yield dropped

    def _connections(self) -> Iterator[Metric]:
        server = self.m.server_getter()
        conns = list(server.connections) if server is not None else []
        stats = [c.stats for c in conns]
        current = {id(c): {"sent": s["sent"], "conflated": s["conflated"]} for c, s in zip(conns, stats, strict=True)}
        for key, last in self._last.items():
            if key not in current:
                for name in self._retired:
                    self._retired[name] += last[name]
        self._last = current
        yield GaugeMetricFamily("tradingmcp_connections", "Open MCP WebSocket connections", len(conns))
        yield GaugeMetricFamily(
            "tradingmcp_in_flight_calls", "Async tool calls running", sum(s["in_flight"] for s in stats)
        )
        yield GaugeMetricFamily(
            "tradingmcp_outbound_queue_messages", "Messages queued to clients", sum(s["queued"] for s in stats)
        )
        yield GaugeMetricFamily(
            "tradingmcp_outbound_queue_bytes", "Bytes queued to clients", sum(s["queued_bytes"] for s in stats)
        )
        yield GaugeMetricFamily(
            "tradingmcp_outbound_queue_max_bytes",
            "Largest per-connection outbound queue (bytes)",
            max((s["queued_bytes"] for s in stats), default=0),
        )
        for name, text in (("sent", "Messages sent to clients"), ("conflated", "Messages replaced by newer ones")):
            total = self._retired[name] + sum(s[name] for s in stats)
            yield CounterMetricFamily(f"tradingmcp_outbound_{name}", text, total)
        active = len(server.streams.active()) if server is not None else 0
        yield GaugeMetricFamily("tradingmcp_active_streams", "Stream keys with subscribers", active)

    def _exchanges(self) -> Iterator[Metric]:
        venues = self.m.sampler.venues
        if venues is None:
            return
        statuses = self.m.sampler.sample()
        up = GaugeMetricFamily("tradingmcp_exchange_up", "1 when the exchange answered", labels=["exchange", "mode"])
        offset = GaugeMetricFamily(
            "tradingmcp_exchange_clock_offset_ms", "Exchange time minus local time (ms)", labels=["exchange"]
        )
        labels = ["exchange", "kind", "interval_s"]
        used = GaugeMetricFamily("tradingmcp_exchange_rate_limit_used", "Weight/orders used in window", labels=labels)
        limit = GaugeMetricFamily("tradingmcp_exchange_rate_limit_limit", "Exchange limit of the window", labels=labels)
        for venue in venues:
            status = statuses.get(venue.name)
            up.add_metric([venue.name, venue.mode], 1 if status is not None and status.reachable else 0)
            if status is None:
                continue
            offset.add_metric([venue.name], status.clock_offset_ms)
            for rl in status.rate_limits:
                used.add_metric([venue.name, rl.kind, str(rl.interval_s)], rl.used)
                limit.add_metric([venue.name, rl.kind, str(rl.interval_s)], rl.limit)
        yield from (up, offset, used, limit)

    def _audit(self) -> Iterator[Metric]:
        audit = self.m.audit
        if audit is None:
            return
        w = audit.writer
        yield GaugeMetricFamily("tradingmcp_audit_queue_depth", "Audit entries waiting to be written", len(w))
        yield CounterMetricFamily("tradingmcp_audit_written", "Audit entries written", w.written)
        yield CounterMetricFamily("tradingmcp_audit_write_failures", "Audit write/encode failures", w.failures)

    def _market(self) -> Iterator[Metric]:
        market = self.m.market
        if market is None:
            return
        labels = ["exchange", "kind"]
        for name, text, counts in (
            ("hits", "Market-data reads answered by the cache", market.cache.hits),
            ("misses", "Market-data reads sent to the exchange", market.cache.misses),
        ):
            family = CounterMetricFamily(f"tradingmcp_market_cache_{name}", text, labels=labels)
            for (exchange, kind), n in sorted(counts.items()):
                family.add_metric([exchange, kind], n)
            yield family


class CallStats(Collector):
    """tools/call counts by (tool, outcome) and a latency histogram by tool: plain ints updated on the event loop
    (``observe`` and scrapes both run there, so no lock), exposed as Prometheus families on scrape.

    ``observe`` costs a dict lookup, a ``bisect`` and three increments (prometheus-client's own Counter/Histogram cost
    several times that per call, which the hot path cannot afford).
    """

    def __init__(self, app: McpApp) -> None:
        self._tools = app.tools
        self.counts: dict[tuple[str, str], int] = {}
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, rec: ToolCallRecord) -> None:
        """Count one finished ``tools/call`` (a ``CallObserver``)."""
        tool = rec.tool if rec.tool in self._tools else UNKNOWN_TOOL
        key = (tool, rec.outcome)
        self.counts[key] = self.counts.get(key, 0) + 1
        counts = self.buckets.get(tool)
        if counts is None:
            counts = self.buckets[tool] = [0] * (len(LATENCY_BUCKETS_US) + 1)
            self.sums[tool] = 0.0
        counts[bisect_left(LATENCY_BUCKETS_US, rec.latency_us)] += 1
        self.sums[tool] += rec.latency_us

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "tradingmcp_tool_calls", "Finished tools/call by tool and outcome", labels=["tool", "outcome"]
        )
        for (tool, outcome), n in sorted(self.counts.items()):
            calls.add_metric([tool, outcome], n)
        yield calls
        latency = HistogramMetricFamily(
            "tradingmcp_tool_call_latency_us", "tools/call latency, dispatch to result (µs)", labels=["tool"]
        )
        bounds = [*(repr(float(b)) for b in LATENCY_BUCKETS_US), "+Inf"]
        for tool, counts in sorted(self.buckets.items()):
            cumulative = list(zip(bounds, accumulate(counts), strict=True))
            latency.add_metric([tool], cumulative, self.sums[tool])
        yield latency


class ServerMetrics:
    """The metrics of one server. :attr:`observe` is a ``CallObserver`` (add it to ``app.observers``).

    Args:
        app: the served app (its tool names bound the ``tool`` label).
        server_getter: returns the running :class:`McpServer` (None before it exists).
        venues: exchanges to report (None: no exchange metrics).
        audit: the audit log to report (optional).
        exchange_cache_s: how long an exchange status sample is reused (s).
        market: the market-data cache to report (optional).
    """

    def __init__(
        self,
        app: McpApp,
        server_getter: ServerGetter,
        venues: Venues | None = None,
        audit: AuditLog | None = None,
        exchange_cache_s: float = 1.0,
        market: MarketData | None = None,
        bus: BusHealth | None = None,
    ) -> None:
        self.app = app
        self.bus = bus
        self.server_getter = server_getter
        self.audit = audit
        self.market = market
        self.sampler = ExchangeSampler(venues, exchange_cache_s)
        self.registry = CollectorRegistry()
        self.calls = CallStats(app)
        self.registry.register(self.calls)
        self.registry.register(_LiveCollector(self))
        self.observe = self.calls.observe
        """The ``CallObserver`` to add to ``app.observers``."""

    def render(self) -> ws.HttpResponse:
        """``GET /metrics``: the Prometheus text exposition."""
        return ws.HttpResponse(200, generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)

    def health(self) -> ws.HttpResponse:
        """``GET /health``: ``{status, connections, uptime_s, streams, exchanges: [{name, mode, reachable,
        clock_offset_ms, banned_until_ms}], audit: {pending, written, failures}}``; ``status`` is ``ok``,
        ``draining`` (shutting down) or ``degraded`` (an exchange or the bus is unreachable); ``bus`` when fed over the bus."""
        server = self.server_getter()
        statuses = self.sampler.sample()
        exchanges = []
        for venue in self.sampler.venues or ():
            st = statuses.get(venue.name)
            exchanges.append(
                {
                    "name": venue.name,
                    "mode": venue.mode,
                    "reachable": None if venue.name not in statuses else bool(st and st.reachable),
                    "clock_offset_ms": st.clock_offset_ms if st else None,
                    "banned_until_ms": st.banned_until_ms if st else None,
                }
            )
        status = "ok"
        bus = self.bus() if self.bus is not None else None
        if any(e["reachable"] is False for e in exchanges) or (bus is not None and not bus["connected"]):
            status = "degraded"
        if server is not None and not server.accepting:
            status = "draining"
        body: dict[str, Any] = {
            "status": status,
            "connections": len(server.connections) if server is not None else 0,
            "uptime_s": round(time.time() - server.started_at, 3) if server is not None else 0,
            "streams": server.streams.active() if server is not None else [],
            "exchanges": exchanges,
        }
        if bus is not None:
            body["bus"] = bus
        if self.audit is not None:
            w = self.audit.writer
            body["audit"] = {"pending": len(w), "written": w.written, "failures": w.failures}
        return ws.HttpResponse(200, orjson.dumps(body), content_type="application/json")

    def routes(self) -> dict[str, Route]:
        return {"/metrics": self.render, "/health": self.health}


def metrics_routes(
    app: McpApp,
    server_getter: ServerGetter,
    venues: Venues | None,
    audit: AuditLog | None = None,
    market: MarketData | None = None,
    bus: BusHealth | None = None,
) -> dict[str, Route]:
    """Create the server's :class:`ServerMetrics`, observe ``app``'s tool calls, and return the HTTP routes
    ``{"/metrics": ..., "/health": ...}`` for ``McpServer(..., http_routes=...)``; ``bus``: the link's health of a
    server fed over the bus (``/health`` is ``degraded`` while it is down)."""
    metrics = ServerMetrics(app, server_getter, venues, audit, market=market, bus=bus)
    app.observers.append(metrics.observe)
    return metrics.routes()
