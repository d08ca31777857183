"""``tradingmcp serve --config`` with ``[webhooks.tradingview]`` mounts the webhook on its one port (the composition of
``app/serve.py`` in a real process): the secret from the environment, an alert posted without any bearer token, a
wrong secret refused; the secret appears nowhere on the server's stderr."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp

SECRET = "serve-webhook-secret-55aa66bb77cc"


async def test_serve_mounts_the_tradingview_webhook_from_its_config(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('[webhooks.tradingview]\naction = "signal"\ndedupe_window_s = 60\n')
    env = {
        **os.environ,
        "TRADINGMCP_DATA_DIR": str(tmp_path / "var"),
        "TRADINGMCP_WEBHOOK_TRADINGVIEW_SECRET": SECRET,
    }
    env.pop("BINANCE_API_KEY", None)
    cmd = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--data", str(data_dir), "--config", str(config)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        url = ""
        for _ in range(60):
            async with asyncio.timeout(30):
                line = (await proc.stderr.readline()).decode()
            seen.append(line)
            if m := re.search(r"at (ws://\S+)", line):
                url = m.group(1)
                break
        assert url, f"serve did not print its URL: {seen}"
        hook = url.replace("ws://", "http://").removesuffix("/mcp") + "/webhooks/tradingview"
        alert = {"secret": SECRET, "id": "a-1", "ticker": "BTCUSDT", "action": "buy"}
        async with aiohttp.ClientSession() as http:
            async with http.post(hook, json=alert) as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "ok"
            async with http.post(hook, json=alert) as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "duplicate"
            async with http.post(hook, json={**alert, "secret": "wrong-secret-0000000000"}) as resp:
                assert resp.status == 401
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest = await proc.stderr.read()
            await proc.wait()
    assert SECRET not in "".join(seen) + rest.decode()
