"""Oversize names from a read-scope caller: 100,000-character tool names, argument names and enum values each get a
short -32602 at once, while another client keeps its idle pace, ``/health`` answers and ``/metrics`` gains no label.

The server runs as its own process (``tradingmcp serve``, the simulator stepped by hand): a server that stalls on
such input (its writer thread holding the GIL in a regular expression) can still be killed when the test fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradingmcp.client.session import McpClient, RpcError, connect
from tradingmcp.server.audit.entries import MAX_ARGUMENTS_BYTES, MAX_ERROR_CHARS, MAX_NAME_CHARS
from tradingmcp.transport.jsonrpc import MAX_QUOTED_CHARS, ErrorCode

CONTROL_TOKEN = "control-token-0123456789abcdef"
CALLER_TOKEN = "caller-token-0123456789abcdef"
BIG = 100_000
WORDS = ("token" * (BIG // 5), "a" * BIG)
"""Single words of BIG characters: keyword runs and a plain run (the shapes a backtracking pattern is slowest on)."""
MESSAGE_MAX = 300
"""Longest -32602 message accepted here: the quoted value (MAX_QUOTED_CHARS + a length note) plus the schema's words."""
MARKER = 32
"""Room for a ``…[truncated N chars]`` marker after a cut column."""
CALL_WAIT_S = 5.0
"""Longest wait for any one answer: far above a healthy p99, far below a stall."""
SAMPLES = 400


@asynccontextmanager
async def serve(data_dir: Path, tmp_path: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``tradingmcp serve`` with two read-scope tokens; yields its ws URL and the process (killed if still running)."""
    env = {**os.environ, "TRADINGMCP_DATA_DIR": str(tmp_path / "var")}
    env.pop("BINANCE_API_KEY", None)
    tokens = f"control:{CONTROL_TOKEN}:read;caller:{CALLER_TOKEN}:read"
    cmd = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--speed", "0", "--data", str(data_dir)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, "--tokens", tokens, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env
    )
    assert proc.stderr is not None
    try:
        url = ""
        for _ in range(60):
            async with asyncio.timeout(30):
                line = (await proc.stderr.readline()).decode()
            if m := re.search(r"at (ws://\S+)", line):
                url = m.group(1)
                break
        assert url, "serve did not print its URL"
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def echo_latencies_s(client: McpClient, n: int) -> list[float]:
    """``n`` sequential ``echo`` round trips (s each)."""
    out = []
    for i in range(n):
        started = time.perf_counter()
        result = await client.call_tool("echo", {"i": i}, timeout_s=CALL_WAIT_S)
        out.append(time.perf_counter() - started)
        assert result["structuredContent"] == {"i": i}
    return out


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def oversize_calls() -> list[tuple[str, dict[str, Any]]]:
    """(tool, arguments) pairs, each invalid through one 100,000-character word: the tool name, an argument name
    (``get_server_info`` takes none) or an enum value (``get_klines.interval``)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for word in WORDS:
        calls.append((word, {}))
        calls.append(("get_server_info", {word: 1}))
        calls.append(("get_klines", {"symbol": "BTCUSDT", "interval": word}))
    return calls


async def send_oversize(client: McpClient, stop: asyncio.Event, messages: list[str]) -> None:
    """Send :func:`oversize_calls` round and round until ``stop``; each must be a short -32602."""
    calls = oversize_calls()
    while not stop.is_set():
        for tool, args in calls:
            with pytest.raises(RpcError) as info:
                await client.call_tool(tool, args, timeout_s=CALL_WAIT_S)
            assert info.value.code == ErrorCode.INVALID_PARAMS, info.value
            messages.append(info.value.message)
            await asyncio.sleep(0.002)  # paced: the point is input that stalls, not a flood that starves the CPU


async def test_oversize_names_do_not_stall_other_clients(data_dir: Path, tmp_path: Path) -> None:
    async with serve(data_dir, tmp_path) as (url, proc):
        base = url.replace("ws://", "http://").removesuffix("/mcp")
        control = await connect(url, token=CONTROL_TOKEN)
        caller = await connect(url, token=CALLER_TOKEN)
        try:
            await echo_latencies_s(control, 100)  # warm-up
            idle = p99(await echo_latencies_s(control, SAMPLES))
            stop = asyncio.Event()
            messages: list[str] = []
            sender = asyncio.create_task(send_oversize(caller, stop, messages))
            try:
                async with aiohttp.ClientSession() as http:
                    await asyncio.sleep(0.05)  # the first oversize calls are in the server (and its audit queue)
                    busy = p99(await echo_latencies_s(control, SAMPLES))
                    async with asyncio.timeout(CALL_WAIT_S), http.get(f"{base}/health") as resp:
                        assert resp.status == 200 and (await resp.json())["status"] in ("ok", "degraded")
                    stop.set()
                    async with asyncio.timeout(2 * CALL_WAIT_S):
                        await sender
                    async with asyncio.timeout(CALL_WAIT_S), http.get(f"{base}/metrics") as resp:
                        metrics = await resp.text()
            finally:
                stop.set()
                sender.cancel()
        finally:
            await caller.close()
            await control.close()
        print(
            f"\ncontrol echo p99: idle {idle * 1e3:.2f} ms, during {len(messages)} oversize calls {busy * 1e3:.2f} ms"
        )
        # The whole machine has 2 cores shared with other work: a few ms of scheduling noise is routine there, so the
        # bound is 2x the idle p99 or the idle p99 + 5 ms, whichever is larger. A stalled server misses it by seconds.
        assert busy <= max(2 * idle, idle + 0.005), f"p99 {busy * 1e3:.2f} ms during vs {idle * 1e3:.2f} ms idle"
        assert len(messages) >= len(oversize_calls()), "the oversize calls did not overlap the measurement"
        assert max(len(m) for m in messages) <= MESSAGE_MAX, max(messages, key=len)[:MESSAGE_MAX]
        assert all(f"({BIG} characters)" in m for m in messages), messages[0][: 2 * MAX_QUOTED_CHARS]
        assert WORDS[0][: MAX_QUOTED_CHARS + 1] not in metrics and WORDS[1][: MAX_QUOTED_CHARS + 1] not in metrics
        assert re.search(r'tradingmcp_tool_calls_total\{outcome="rpc_error",tool="_unknown"\} [1-9]', metrics)
        proc.send_signal(signal.SIGTERM)  # a stalled server ignores it
        async with asyncio.timeout(20):
            assert await proc.wait() == 0
    db = sqlite3.connect(tmp_path / "var" / "audit.sqlite3")
    try:
        rows = db.execute(
            "SELECT tool, error, arguments FROM audit_log WHERE principal = 'caller' AND outcome = 'rpc_error'"
        ).fetchall()
    finally:
        db.close()
    assert len(rows) == len(messages)  # every oversize call is audited, each row bounded
    for tool, error, arguments in rows:
        assert len(tool) <= MAX_NAME_CHARS + MARKER
        assert len(error) <= MAX_ERROR_CHARS + MARKER
        assert len(arguments.encode()) <= MAX_ARGUMENTS_BYTES + MARKER
