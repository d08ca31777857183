"""``tradingmcp serve`` (its own process, on the simulator of this one) prints the console's address: with the dev
token it generated when none is configured, a link that works as printed."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET

CONSOLE = re.compile(r"web console: (http://127\.0\.0\.1:\d+/console)#token=([A-Za-z0-9_-]+)$")
DEV_TOKEN = re.compile(r"dev token \(read\+trade\), shown once: (\S+)$")


async def test_serve_prints_a_console_link_with_its_dev_token(data_dir: Path, tmp_path: Path) -> None:
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir))
    await sim.start()
    env = {k: v for k, v in os.environ.items() if k != "TRADINGMCP_TOKENS"}
    env |= {
        "TRADINGMCP_DATA_DIR": str(tmp_path / "var"),
        "BINANCE_API_KEY": BINANCE_SIM_KEY,
        "BINANCE_API_SECRET": BINANCE_SIM_SECRET,
        "BINANCE_REST_URL": sim.rest_url,
        "BINANCE_STREAM_URL": sim.stream_url,
        "BINANCE_WS_API_URL": sim.ws_api_url,
    }
    cmd = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--exchange", "binance"]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        found = dev = None
        async with asyncio.timeout(60):
            while found is None or dev is None:
                line = (await proc.stderr.readline()).decode()
                assert line, "serve ended before printing the console's address:\n" + "".join(lines)
                lines.append(line)
                found = found or CONSOLE.search(line.strip())
                dev = dev or DEV_TOKEN.search(line.strip())
        page, token = found.group(1), found.group(2)
        assert dev.group(1) == token  # the printed dev token, in the link's fragment
        async with aiohttp.ClientSession() as http:
            async with http.get(page) as r:
                assert r.status == 200 and "TradingMCP console" in await r.text()
            base = f"http://{urlsplit(page).netloc}"
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{base}/console/whoami", headers=headers) as r:
                assert await r.json() == {"name": "dev", "scopes": ["read", "trade"]}
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sim.stop()
