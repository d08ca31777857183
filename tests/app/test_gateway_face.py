"""A bus gateway's HTTP face (``serve --bus … --role gateway``, real processes on a real ``nats-server``): the web
console and its ``whoami``; a TradingView signal posted to one gateway reaches a client subscribed on the other, with
one ``seq`` across gateways; a webhook ``order`` action is refused at a gateway's start in one line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradingmcp.client.core import Notification
from tradingmcp.client.session import connect
from tradingmcp.server.bus.natsserver import NatsServer

PY = sys.executable
SECRET = "gateway-webhook-secret-0123456789"
TOKEN = "gwface-test-token-abcdef0123456789"
SIGNALS = "signals:tradingview"


class Procs:
    """The processes of one test, each logging into its own file; all stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[subprocess.Popen[str], Path]] = []

    def serve(
        self, name: str, *args: str, extra_env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[str], Path]:
        log = self.tmp / f"{name}.log"
        env = {**os.environ, "TRADINGMCP_DATA_DIR": str(self.tmp / f"var-{name}"), **(extra_env or {})}
        env.pop("TRADINGMCP_TOKENS", None)
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [PY, "-m", "tradingmcp", "serve", "--port", "0", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
        self.procs.append((proc, log))
        return proc, log

    def stop(self) -> None:
        for proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(log: Path, pattern: str, proc: subprocess.Popen[str], timeout_s: float = 90) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        if m := re.search(pattern, log.read_text()):
            return m
        assert proc.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)


@contextlib.contextmanager
def deployment_of(tmp_path: Path, trader_config: str = "") -> Iterator[tuple[list[str], Procs]]:
    """A bus, a feed + trader (synthetic venue; ``trader_config``: its TOML) and two gateways with the webhook's
    ``signal`` action; yields the gateways' ``http://host:port`` bases."""
    nats = NatsServer(tmp_path / "store")
    nats.start()
    procs = Procs(tmp_path)
    try:
        config = tmp_path / "gateway.toml"
        config.write_text(f'[webhooks.tradingview]\naction = "signal"\nsecret = "{SECRET}"\n')
        tconfig = tmp_path / "trader.toml"
        tconfig.write_text(trader_config)
        trader, tlog = procs.serve(
            "trader",
            "--synthetic",
            "--insecure-no-auth",
            "--bus",
            nats.url,
            "--role",
            "feed",
            "--role",
            "trader",
            "--config",
            str(tconfig),
        )
        wait_for(tlog, "roles feed, trader on the bus", trader)
        bases = []
        for i in (1, 2):
            gw, glog = procs.serve(
                f"gateway{i}",
                "--bus",
                nats.url,
                "--role",
                "gateway",
                "--tokens",
                f"ops:{TOKEN}:read,trade",
                "--config",
                str(config),
            )
            m = wait_for(glog, r"web console: (http://\S+)/console", gw)
            bases.append(m.group(1))
        yield bases, procs
    finally:
        procs.stop()
        nats.stop()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[list[str], Procs]]:
    with deployment_of(tmp_path) as d:
        yield d


async def test_gateway_serves_the_console_and_whoami(deployment: tuple[list[str], Procs]) -> None:
    base = deployment[0][0]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/console") as resp:  # an open path: the page holds no secret
            assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
            assert "<script" in await resp.text()
        async with http.get(f"{base}/console/console.js") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/console/whoami", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"name": "ops", "scopes": ["read", "trade"]}
        async with http.get(f"{base}/console/whoami", headers={"Authorization": "Bearer wrong-token-000000"}) as resp:
            assert resp.status == 401
    # the panels' tools are the trader's, forwarded by the gateway
    client = await connect(base.replace("http://", "ws://") + "/mcp", token=TOKEN)
    try:
        tools = {t["name"] for t in await client.list_tools()}
        assert {"get_balances", "get_pnl", "get_open_orders", "get_audit_log", "kill_switch"} <= tools
        status = await client.call_tool("get_server_status", {})
        assert not status.get("isError"), status
        assert status["structuredContent"]["exchange"]
    finally:
        await client.close()


async def test_a_signal_posted_to_one_gateway_reaches_a_client_of_the_other(
    deployment: tuple[list[str], Procs],
) -> None:
    (gw1, gw2), _ = deployment
    client = await connect(gw2.replace("http://", "ws://") + "/mcp", token=TOKEN)
    local = await connect(gw1.replace("http://", "ws://") + "/mcp", token=TOKEN)
    got: dict[str, list[tuple[int, Any]]] = {"gw2": [], "gw1": []}

    def recorder(name: str) -> Any:
        def on_note(note: Notification) -> bool:
            if note.params.get("stream") == SIGNALS:
                got[name].append((note.params["seq"], note.params["data"]))
            return True

        return on_note

    client.on_notification(recorder("gw2"))
    local.on_notification(recorder("gw1"))
    try:
        for c in (client, local):
            assert not (await c.subscribe(SIGNALS)).get("isError")
        async with aiohttp.ClientSession() as http:
            answers = []
            for i, base in enumerate((gw1, gw2, gw1)):  # both gateways publish the key: one numbering
                alert = {"secret": SECRET, "id": f"gw-alert-{i}", "ticker": "BTCUSDT", "action": "buy"}
                async with http.post(f"{base}/webhooks/tradingview", json=alert) as resp:
                    body = await resp.json()
                    assert resp.status == 200 and body["status"] == "ok" and body["bus"] is True, body
                    answers.append(body["seq"])
            async with http.post(f"{gw1}/webhooks/tradingview", json={**alert, "secret": "x" * 20}) as resp:
                assert resp.status == 401
        assert answers == [answers[0], answers[0] + 1, answers[0] + 2]
        for _ in range(300):
            if len(got["gw2"]) >= 3 and len(got["gw1"]) >= 3:
                break
            await asyncio.sleep(0.1)
        for name in ("gw1", "gw2"):
            assert [s for s, _ in got[name]] == answers, got
            assert [d["alert_id"] for _, d in got[name]] == ["gw-alert-0", "gw-alert-1", "gw-alert-2"], got
    finally:
        with contextlib.suppress(Exception):
            await client.close()
        with contextlib.suppress(Exception):
            await local.close()


async def test_signals_posted_at_once_to_both_gateways_get_one_seq_each(deployment: tuple[list[str], Procs]) -> None:
    (gw1, gw2), _ = deployment
    client = await connect(gw2.replace("http://", "ws://") + "/mcp", token=TOKEN)
    got: list[int] = []

    def on_note(note: Notification) -> bool:
        if note.params.get("stream") == SIGNALS:
            got.append(note.params["seq"])
        return True

    async def post(http: aiohttp.ClientSession, base: str, i: int) -> int:
        alert = {"secret": SECRET, "id": f"race-{i}", "ticker": "ETHUSDT", "action": "sell"}
        async with http.post(f"{base}/webhooks/tradingview", json=alert) as resp:
            body = await resp.json()
            assert resp.status == 200 and body["status"] == "ok", body
            return int(body["seq"])

    client.on_notification(on_note)
    try:
        assert not (await client.subscribe(SIGNALS)).get("isError")
        async with aiohttp.ClientSession() as http:
            seqs = await asyncio.gather(*(post(http, (gw1, gw2)[i % 2], i) for i in range(12)))
        assert sorted(seqs) == list(range(1, 13)), seqs  # none lost to a race, none numbered twice
        for _ in range(300):
            if len(got) >= 12:
                break
            await asyncio.sleep(0.1)
        assert got == list(range(1, 13)), got  # in order, each once, on the gateway that published half of them
    finally:
        await client.close()


async def test_the_console_page_on_a_gateway_shows_its_panels_and_says_what_is_not_available(tmp_path: Path) -> None:
    from playwright.async_api import expect

    from tests.server.console.support import WAIT_MS, chromium, page_until, state_is

    # a trader without an audit log offers no get_audit_log: the gateway forwards what its trader describes
    with deployment_of(tmp_path, "[audit]\nenabled = false\n") as ((gw1, _), _procs):
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{gw1}/console#token={TOKEN}")
            await state_is(page, "connected")
            await expect(page.locator("#who")).to_have_text("ops (read, trade)", timeout=WAIT_MS)
            await expect(page.locator("#venues tbody")).to_contain_text("binance", timeout=WAIT_MS)
            await expect(page.locator("#balances tbody")).to_contain_text("USDT", timeout=WAIT_MS)
            await expect(page.locator("#tools option[value=place_order]")).to_have_count(1, timeout=WAIT_MS)
            await expect(page.locator("#audit tbody")).to_contain_text(
                "not available on this server: it offers no get_audit_log tool", timeout=WAIT_MS
            )
            await page_until(page, "window.tradingmcpConsole.unavailable.includes('audit')")
            assert await page.evaluate("window.tradingmcpConsole.unavailable") == ["audit"]
            await expect(page.locator("#kill")).to_be_enabled(timeout=WAIT_MS)


def test_a_gateway_refuses_a_webhook_order_action_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[webhooks.tradingview]\naction = "order"\nsecret = "{SECRET}"\n')
    env = {**os.environ, "TRADINGMCP_DATA_DIR": str(tmp_path / "var")}
    proc = subprocess.run(
        [
            PY,
            "-m",
            "tradingmcp",
            "serve",
            "--port",
            "0",
            "--insecure-no-auth",
            "--bus",
            "nats://127.0.0.1:1",
            "--role",
            "gateway",
            "--config",
            str(config),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "action 'order' is not served by a bus gateway" in lines[0], proc.stderr
    assert SECRET not in proc.stderr


async def test_cluster_prints_the_first_gateways_console(tmp_path: Path) -> None:
    from tradingmcp.app.cluster import TOKEN as CLUSTER_TOKEN

    env = {**os.environ}
    env.pop("TRADINGMCP_TOKENS", None)
    argv = ["-m", "tradingmcp", "cluster", "--synthetic", "--no-bot", "--gateways", "1", "--duration", "120"]
    proc = await asyncio.create_subprocess_exec(
        PY,
        *argv,
        "--out",
        str(tmp_path / "run"),
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        url = ""
        async with asyncio.timeout(120):
            while not url:
                line = (await proc.stderr.readline()).decode()
                assert line, "".join(seen)
                seen.append(line)
                if m := re.search(r"web console (http://\S+)", line):
                    url = m.group(1)
        base, _, fragment = url.partition("#")
        assert base.endswith("/console") and fragment == f"token={CLUSTER_TOKEN}", url
        async with aiohttp.ClientSession() as http:
            async with http.get(base) as resp:
                assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
            headers = {"Authorization": f"Bearer {CLUSTER_TOKEN}"}
            async with http.get(f"{base}/whoami", headers=headers) as resp:
                assert resp.status == 200 and (await resp.json())["scopes"] == ["read", "trade"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            await proc.stderr.read()
            await proc.wait()
