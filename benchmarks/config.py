"""Benchmark settings (frozen, units in names) and the scenario names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Round-trip scenarios, in table order. The first is the floor every ratio refers to.
TCP_FLOOR = "tcp-floor"
PICOWS_ECHO = "picows-echo"
JSONRPC_MIN = "jsonrpc-min"
WEBSOCKETS_ECHO = "websockets-echo"
MCP_WS_PICOWS = "mcp-ws-picows"
MCP_WS_WEBSOCKETS = "mcp-ws-websockets"
MCP_WSS_PICOWS = "mcp-wss-picows"
MCP_WSS_WEBSOCKETS = "mcp-wss-websockets"
MCP_HTTP = "mcp-http"
MCP_HTTP_AIOHTTP = "mcp-http-aiohttp"
SDK_STDIO = "sdk-stdio"
SDK_HTTP = "sdk-http"
SDK_HTTP_POST = "sdk-http-post"

ROUNDTRIP_SCENARIOS: tuple[str, ...] = (
    TCP_FLOOR,
    PICOWS_ECHO,
    JSONRPC_MIN,
    WEBSOCKETS_ECHO,
    MCP_WS_PICOWS,
    MCP_WS_WEBSOCKETS,
    MCP_WSS_PICOWS,
    MCP_WSS_WEBSOCKETS,
    MCP_HTTP,
    MCP_HTTP_AIOHTTP,
    SDK_STDIO,
    SDK_HTTP,
    SDK_HTTP_POST,
)
SDK_SCENARIOS: frozenset[str] = frozenset({SDK_STDIO, SDK_HTTP, SDK_HTTP_POST})
# Streamable HTTP (2026-07-28, one POST per call over a keep-alive connection) with one lean HTTP/1.1 client: our
# HTTP face (the same server process kind as mcp-ws-picows, on its shared port), the same with its fast path off (every
# request through aiohttp), and the official SDK's server.
HTTP_POST_SCENARIOS: frozenset[str] = frozenset({MCP_HTTP, MCP_HTTP_AIOHTTP, SDK_HTTP_POST})
# Scenarios whose client supports several requests in flight on one connection (pipelined throughput).
PIPELINE_SCENARIOS: tuple[str, ...] = (TCP_FLOOR, PICOWS_ECHO, MCP_WS_PICOWS, MCP_WS_WEBSOCKETS)

FANOUT_OURS = "mcp-streamhub"
FANOUT_RAW = "raw-picows-broadcast"


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """One benchmark run.

    Attributes:
        calls: measured sequential ``tools/call`` round trips per scenario (split over ``rounds``).
        sdk_calls: the same for the slow official-SDK scenarios (ms per call).
        warmup_calls: unmeasured calls per scenario before the first round (SDK scenarios use a tenth).
        rounds: round-robin rounds; each round runs ``calls / rounds`` per scenario, scenario order rotated.
        scenarios: round-trip scenarios to run (subset of ``ROUNDTRIP_SCENARIOS``).
        placements: CPU placements the round trips run in, one full set each (:mod:`.placement`: ``split``,
            ``same``, ``spin``, ``os``); the first also runs the pipelined throughput and is the one plotted.
        payload_chars: length of the echoed text argument.
        pipeline_calls: calls per pipelined-throughput measurement.
        pipeline_inflight: requests kept in flight on one connection.
        conns: client connections for the multi-connection throughput measurement.
        conn_inflight: requests in flight per connection there.
        fanout_subscribers: subscriber counts N for the fan-out measurement (empty skips it).
        fanout_seconds: publishing window per fan-out measurement (s).
        fanout_rounds: saturated windows per server and N, alternating between the two servers (median reported).
        fanout_client_procs: client processes the subscribers are spread over.
        fanout_paced_deliveries_per_s: target deliveries/s of the paced (latency) phase; publish rate = this / N,
            clamped to [10, 1000] publishes/s.
        idle_conns: idle initialized connections for the memory measurement (0 skips it).
        cpu_calls: calls per row of the same-process work-per-call measurement (:mod:`.cpu`; 0 skips it).
        out_dir: folder for ``<timestamp>.json`` and ``<timestamp>.png``.
        round_timeout_s: upper bound for one scenario's share of one round (s).
        start_timeout_s: upper bound for a server process to come up (s).
    """

    calls: int = 20_000
    sdk_calls: int = 2_000
    warmup_calls: int = 1_000
    rounds: int = 10
    scenarios: tuple[str, ...] = ROUNDTRIP_SCENARIOS
    placements: tuple[str, ...] = ("split", "same", "spin")
    payload_chars: int = 16
    pipeline_calls: int = 20_000
    pipeline_inflight: int = 64
    conns: int = 16
    conn_inflight: int = 4
    fanout_subscribers: tuple[int, ...] = (1, 10, 100, 1000)
    fanout_seconds: float = 1.0
    fanout_rounds: int = 3
    fanout_client_procs: int = 2
    fanout_paced_deliveries_per_s: int = 20_000
    idle_conns: int = 1_000
    cpu_calls: int = 20_000
    out_dir: Path = field(default_factory=lambda: Path("bench-results"))
    round_timeout_s: float = 120.0
    start_timeout_s: float = 60.0

    def calls_for(self, scenario: str) -> int:
        """Measured calls of ``scenario`` (the SDK ones use ``sdk_calls``)."""
        return self.sdk_calls if scenario in SDK_SCENARIOS else self.calls

    def warmup_for(self, scenario: str) -> int:
        return max(1, self.warmup_calls // 10) if scenario in SDK_SCENARIOS else self.warmup_calls
