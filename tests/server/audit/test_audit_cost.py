"""What observability costs a ``tools/call``: the observers on the event loop (audit queue + metrics) stay in the
low microseconds; the writer thread's redaction + SQLite insert is measured per entry."""

from __future__ import annotations

import time

from tradingmcp.server.mcp.registry import ToolCallRecord, to_tool_result
from tradingmcp.server.metrics import metrics_routes

from ..support import ToolServer

N = 20_000


async def test_observer_cost_per_call_is_small(tool_server: ToolServer) -> None:
    srv = tool_server
    srv.server.http_routes.update(metrics_routes(srv.app, lambda: srv.server, srv.venues, srv.stack.toolset.audit))
    assert len(srv.app.observers) == 2  # audit + metrics
    result = to_tool_result({"exchange": "binance", "symbol": "BTCUSDT", "price": "61234.5", "bid": "61234.4"})
    rec = ToolCallRecord("trader", "get_ticker", {"symbol": "BTCUSDT"}, "ok", result, None, None, 85.0, 1)
    observers = list(srv.app.observers)
    best = float("inf")
    for _ in range(3):  # best of 3: the machine is shared and noisy
        started = time.perf_counter_ns()
        for _ in range(N):
            for observe in observers:
                observe(rec)
        best = min(best, (time.perf_counter_ns() - started) / 1000 / N)
    audit = srv.stack.toolset.audit
    await audit.flush()
    per_entry_us = audit.writer.write_us_total / audit.writer.written
    print(f"\nobservers on the event loop: {best:.2f} µs per tools/call; writer thread: {per_entry_us:.1f} µs/entry")
    assert best < 8, f"observers cost {best:.2f} µs per call"
    assert audit.writer.written >= 3 * N and audit.pending == 0
    assert per_entry_us < 500
