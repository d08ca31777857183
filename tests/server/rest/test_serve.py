"""``tradingmcp serve`` mounts the REST market data, ``/openapi.json`` and ``/docs`` on its one port, and ``/metrics``
counts the market cache's hits and misses (the composition of ``app/serve.py``, in a real process)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp


async def test_serve_offers_rest_docs_and_cache_metrics(data_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TRADINGMCP_DATA_DIR": str(tmp_path / "var")}
    env.pop("BINANCE_API_KEY", None)
    cmd = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--data", str(data_dir)]
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
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                async with http.get(f"{base}/v1/price/binance/BTCUSDT", headers=auth) as resp:
                    assert resp.status == 200, await resp.text()
                    assert (await resp.json())["symbol"] == "BTCUSDT"
            async with http.get(f"{base}/openapi.json") as resp:
                assert resp.status == 200 and (await resp.json())["openapi"] == "3.1.0"
            async with http.get(f"{base}/docs") as resp:
                assert resp.status == 200 and "swagger-ui-bundle.js" in await resp.text()
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
        misses = re.search(r'tradingmcp_market_cache_misses_total\{exchange="binance",kind="price"\} (\S+)', metrics)
        hits = re.search(r'tradingmcp_market_cache_hits_total\{exchange="binance",kind="price"\} (\S+)', metrics)
        assert misses and hits, metrics
        assert float(misses.group(1)) + float(hits.group(1)) == 3 and float(hits.group(1)) >= 1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await proc.wait()
