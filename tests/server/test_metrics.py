"""``/metrics`` and ``/health`` scraped over real HTTP on the MCP server's port: counters move with the calls."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tradingmcp.client.session import RpcError
from tradingmcp.server.metrics import metrics_routes

from .support import ToolServer


def install_metrics(srv: ToolServer) -> None:
    srv.server.http_routes.update(
        metrics_routes(srv.app, lambda: srv.server, srv.venues, audit=srv.stack.toolset.audit)
    )


async def scrape(http: aiohttp.ClientSession, srv: ToolServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of one ``GET /metrics``."""
    async with http.get(f"http://127.0.0.1:{srv.server.port}/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_scraped_over_http_move_with_calls(tool_server: ToolServer) -> None:
    srv = tool_server
    install_metrics(srv)
    async with aiohttp.ClientSession() as http, srv.client() as c:
        before = await scrape(http, srv)
        assert value(before, "tradingmcp_tool_calls_total", tool="echo", outcome="ok") == 0
        assert value(before, "tradingmcp_connections") == 1
        for i in range(3):
            await c.call_tool("echo", {"i": i})
        with pytest.raises(RpcError):
            await c.call_tool("made_up_tool_name", {})
        bad = await c.call_tool("get_audit_log", {"cursor": "x"})
        assert bad["isError"]
        after = await scrape(http, srv)
        assert value(after, "tradingmcp_tool_calls_total", tool="echo", outcome="ok") == 3
        assert value(after, "tradingmcp_tool_calls_total", tool="_unknown", outcome="rpc_error") == 1
        assert value(after, "tradingmcp_tool_calls_total", tool="get_audit_log", outcome="tool_error") == 1
        assert value(after, "tradingmcp_tool_call_latency_us_count", tool="echo") == 3
        assert value(after, "tradingmcp_tool_call_latency_us_bucket", tool="echo", le="+Inf") == 3
        # audited: the 1st of the 3 echo calls (echo is sampled 1 in 100 per principal), the unknown tool, the failed
        # get_audit_log; the metrics count every call
        assert value(after, "tradingmcp_audit_written_total") + value(after, "tradingmcp_audit_queue_depth") >= 3
        assert ("tradingmcp_outbound_sent_total", frozenset()) in after
        # exchange status is sampled in the background after the first scrape (cached 1 s)
        samples = after
        async with asyncio.timeout(10):
            while value(samples, "tradingmcp_exchange_up", exchange="binance", mode="sim") != 1:
                await asyncio.sleep(0.05)
                samples = await scrape(http, srv)
        weights = [k for k in samples if k[0] == "tradingmcp_exchange_rate_limit_limit"]
        assert any(("kind", "REQUEST_WEIGHT") in labels for _, labels in weights)
        async with http.get(f"http://127.0.0.1:{srv.server.port}/health") as resp:
            health: dict[str, Any] = await resp.json()
        assert health["status"] == "ok" and health["connections"] == 1
        assert health["exchanges"] == [
            {
                "name": "binance",
                "mode": "sim",
                "reachable": True,
                "clock_offset_ms": health["exchanges"][0]["clock_offset_ms"],
                "banned_until_ms": None,
            }
        ]
        assert health["audit"]["failures"] == 0
