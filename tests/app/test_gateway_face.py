"""A bus gateway's HTTP face (``serve --bus … --role gateway``, real processes on a real ``nats-server``): the web
console and its ``whoami``; a TradingView signal posted to one gateway reaches a client subscribed on the other, with
one ``seq`` across gateways; an order alert is the trader's ``place_order`` (a :class:`~tradingmcp.app.cluster.Cluster`
on the recording: the simulator holds the order, an alert posted to both gateways places one, the trader audits it,
the single process's statuses for a bad secret and a refused order, 503 with no trader and nothing sent)."""

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

from tests.app.test_cluster import cluster_dir, running, sim_orders, wait_until
from tradingmcp.app.cluster import Cluster
from tradingmcp.app.gatewayface import FIND_TRADER_S
from tradingmcp.client.core import Notification
from tradingmcp.client.session import connect
from tradingmcp.server.audit.store import DB_NAME, AuditQuery, query_file
from tradingmcp.server.bus.natsserver import NatsServer
from tradingmcp.server.webhooks.alerts import client_order_id

PY = sys.executable
SECRET = "gateway-webhook-secret-0123456789"
TOKEN = "gwface-test-token-abcdef0123456789"
SIGNALS = "signals:tradingview"

__all__ = ["cluster_dir"]  # the fixture, shared with the cluster's drills


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


def order_cluster(out: Path, gateways: int) -> Cluster:
    """A cluster on the recording whose gateways serve the webhook's ``order`` action (MARKET, 0.001 unless the
    alert says how much)."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "gateway.toml"
    config.write_text(f'[webhooks.tradingview]\naction = "order"\nsecret = "{SECRET}"\nquantity = "0.001"\n')
    return Cluster(out, gateways=gateways, speed=4.0, gateway_args=("--config", str(config)))


async def post_alert(http: aiohttp.ClientSession, gateway_url: str, alert: dict[str, Any]) -> tuple[int, Any]:
    base = gateway_url.replace("ws://", "http://", 1).removesuffix("/mcp")
    async with http.post(f"{base}/webhooks/tradingview", json=alert) as resp:
        return resp.status, await resp.json()


@pytest.mark.data
async def test_an_order_alert_on_two_gateways_places_one_order_through_the_trader(cluster_dir: Path) -> None:
    with running(order_cluster(cluster_dir, gateways=2)) as cl:
        gw1, gw2 = cl.gateway_urls
        alert = {"secret": SECRET, "id": "gw-order-1", "ticker": "BTCUSDT", "action": "buy"}
        cid = client_order_id("gw-order-1")
        async with aiohttp.ClientSession() as http:
            status, first = await post_alert(http, gw1, alert)
            assert status == 200 and first["status"] == "ok" and first["action"] == "order", first
            assert first["duplicate"] is False and first["exchange"] == "binance"
            assert first["order"]["client_order_id"] == cid and first["order"]["side"] == "BUY"
            held = await sim_orders(cl.sim_url, cid)
            assert len(held) == 1 and held[0]["side"] == "BUY" and held[0]["origQty"].startswith("0.001"), held
            # the same alert to the other gateway: its window has not seen it, the trader's desk has
            status, again = await post_alert(http, gw2, alert)
            assert status == 200 and again["status"] == "ok" and again["duplicate"] is True, again
            assert again["order"]["order_id"] == first["order"]["order_id"]
            assert len(await sim_orders(cl.sim_url, cid)) == 1
            status, refused = await post_alert(http, gw2, {**alert, "id": "gw-order-2", "secret": "x" * 20})
            assert status == 401 and refused["error"]["code"] == "bad_secret", refused
            # about 61,600 USDT: over the trader's max_order_notional (10,000), refused by that check
            big = {**alert, "id": "gw-order-3", "contracts": "1"}
            status, refused = await post_alert(http, gw1, big)
            assert status == 422 and refused["error"]["code"] == "safety_max_order_notional", refused
            assert await sim_orders(cl.sim_url, client_order_id("gw-order-3")) == []
            status, bad = await post_alert(http, gw1, {**alert, "id": "gw-order-4", "contracts": "0"})
            assert status == 400 and bad["error"]["code"] == "invalid_argument", bad
        # the audit entries are the trader's: its place_order calls, under the webhook's principal
        audit = cl.out / "trader1" / DB_NAME

        def placed_by_webhook() -> list[dict[str, Any]]:
            if not audit.exists():
                return []
            return query_file(audit, AuditQuery(tool="place_order", principal="tradingview")).entries

        await wait_until(lambda: len(placed_by_webhook()) >= 3, 15, "the trader's audit entries")
        entries = placed_by_webhook()
        assert {e["arguments"]["client_order_id"] for e in entries} == {cid, client_order_id("gw-order-3")}
        assert sorted(e["outcome"] for e in entries) == ["ok", "ok", "tool_error"], entries


@pytest.mark.data
async def test_an_order_alert_with_no_trader_is_503_sends_nothing_and_can_be_repeated(cluster_dir: Path) -> None:
    with running(order_cluster(cluster_dir, gateways=1)) as cl:
        cl.procs["trader1"].stop()
        alert = {"secret": SECRET, "id": "gw-order-down", "ticker": "BTCUSDT", "action": "sell"}
        cid = client_order_id("gw-order-down")
        async with aiohttp.ClientSession() as http:
            status, answer = await post_alert(http, cl.gateway_urls[0], alert)
            assert status == 503 and answer["error"]["code"] == "trader_unavailable", answer
            # it looked for a trader no longer than TradingView waits for an answer (3 s), not the calls' 10 s
            assert f"within {FIND_TRADER_S:.0f} s" in answer["error"]["message"], answer
            assert await sim_orders(cl.sim_url, cid) == []
            # nothing was sent, so the alert is not taken as a duplicate: a repeat places it once a trader is back
            cl.start_trader(2)
            status, answer = await post_alert(http, cl.gateway_urls[0], alert)
            assert status == 200 and answer["duplicate"] is False, answer
        assert len(await sim_orders(cl.sim_url, cid)) == 1


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
