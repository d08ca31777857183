"""``tradingmcp serve --log-json`` end to end: ``/metrics`` and ``/health`` on the MCP port, the audit database in
``$TRADINGMCP_DATA_DIR``, JSON log lines without the token, and a clean SIGTERM shutdown that keeps every call."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import orjson

from tradingmcp.client.session import connect


async def test_serve_exposes_metrics_and_audits_to_the_data_dir(data_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TRADINGMCP_DATA_DIR": str(tmp_path / "var")}
    env.pop("BINANCE_API_KEY", None)
    config = tmp_path / "every-call.toml"
    config.write_text("[audit]\nsample = {}\n")  # every echo call audited (by default 1 in 100 per principal)
    cmd = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--log-json", "--data", str(data_dir)]
    cmd += ["--config", str(config)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env
    )
    assert proc.stderr is not None
    try:
        url = token = ""
        for _ in range(60):
            async with asyncio.timeout(20):
                line = (await proc.stderr.readline()).decode()
            if m := re.search(r"at (ws://\S+)", line):
                url = m.group(1)
            if m := re.search(r"shown once: (\S+)", line):
                token = m.group(1)
            if url and token:
                break
        assert url and token, "serve did not print its URL and token"
        base = url.replace("ws://", "http://").removesuffix("/mcp")
        client = await connect(url, token=token)
        try:
            for i in range(2):
                await client.call_tool("echo", {"i": i, "api_secret": "never-logged-0xabc"})
        finally:
            await client.close()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
            async with http.get(f"{base}/health") as resp:
                health = await resp.json()
        assert re.search(r'tradingmcp_tool_calls_total\{outcome="ok",tool="echo"\} 2\.0', metrics), metrics
        assert health["exchanges"][0]["name"] == "binance" and health["exchanges"][0]["mode"] == "sim"
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            rest = (await proc.stderr.read()).decode()
            assert await proc.wait() == 0, rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    for line in rest.splitlines():
        if line.startswith("{"):
            record = orjson.loads(line)
            assert {"ts", "level", "logger", "msg"} <= set(record)
    assert token not in rest and "never-logged-0xabc" not in rest
    db = sqlite3.connect(tmp_path / "var" / "audit.sqlite3")
    try:
        rows = db.execute("SELECT arguments FROM audit_log WHERE tool = 'echo' ORDER BY id").fetchall()
    finally:
        db.close()
    assert [orjson.loads(r[0]) for r in rows] == [{"i": 0, "api_secret": "***"}, {"i": 1, "api_secret": "***"}]
