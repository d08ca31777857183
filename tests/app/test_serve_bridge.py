"""``tradingmcp serve`` and ``tradingmcp bridge`` as real processes: a stdio host talks MCP through the bridge."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.wire_helpers import open_raw
from tradingmcp.app.serve import ServeError, ServeOptions, resolve_security

PY = sys.executable
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "host", "version": "1"}},
}


def test_non_loopback_without_tokens_is_refused() -> None:
    with pytest.raises(ServeError, match=r"TLS certificate|without auth"):
        resolve_security(ServeOptions(host="0.0.0.0", insecure_no_auth=True, certfile="/nonexistent.pem"))


def test_loopback_generates_a_dev_token_and_tls_needs_certs(tmp_path: Path) -> None:
    config, token = resolve_security(ServeOptions())
    assert token and config.tokens is not None and config.tokens.authenticate(token) is not None
    assert config.ssl is None  # plain ws on loopback by default
    with pytest.raises(ServeError, match="not found"):
        resolve_security(ServeOptions(certfile=str(tmp_path / "missing.pem")))


def _start_server(*options: str, wait_for: str = "") -> tuple[subprocess.Popen[str], str, str]:
    """``tradingmcp serve`` on an ephemeral port (audit log in a temp dir) with ``options``; returns it, its URL and its
    dev token once it printed them (and a line containing ``wait_for``).

    After the startup lines, its stderr keeps being drained by a thread: a full pipe would block the server's logging
    and stall it.
    """
    env = {**os.environ, "TRADINGMCP_DATA_DIR": tempfile.mkdtemp(prefix="tmcp-serve-test-")}
    proc = subprocess.Popen(
        [PY, "-m", "tradingmcp", "serve", "--port", "0", *options],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    url = token = ""
    waited = not wait_for
    for _ in range(40):
        line = proc.stderr.readline()
        waited = waited or wait_for in line
        assert "SIMULATED EXCHANGE" in line or "=" in line or not line.startswith("Traceback"), line
        if m := re.search(r"at (ws://\S+)", line):
            url = m.group(1)
        if m := re.search(r"shown once: (\S+)", line):
            token = m.group(1)
        if url and token and waited:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, url, token
    proc.kill()
    raise AssertionError("server did not print its URL and token")


def test_bridge_carries_a_stdio_session_to_the_server() -> None:
    """Also ``serve --busy-poll``: the spinning server answers like a sleeping one."""
    server, url, token = _start_server("--busy-poll", wait_for="busy polling: the event loop spins")
    try:
        lines = [
            INITIALIZE,
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"hello": "world"}},
            },
        ]
        bridge = subprocess.Popen(
            [PY, "-m", "tradingmcp", "bridge", url, "--token", token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert bridge.stdin is not None and bridge.stdout is not None
        for obj in lines:
            bridge.stdin.write(json.dumps(obj) + "\n")
            bridge.stdin.flush()
        first_line = bridge.stdout.readline()
        if not first_line:  # the bridge exited: show why
            bridge.kill()
            raise AssertionError(f"bridge exited early: {bridge.communicate()[1]}")
        first = json.loads(first_line)
        second = json.loads(bridge.stdout.readline())
        bridge.stdin.close()
        assert bridge.wait(timeout=10) == 0
        assert first["id"] == 1 and first["result"]["protocolVersion"] == "2025-11-25"
        assert second["id"] == 2 and second["result"]["structuredContent"] == {"hello": "world"}
        # a bad token is refused before the upgrade and the bridge says so
        bad = subprocess.run(
            [PY, "-m", "tradingmcp", "bridge", url, "--token", "wrong"],
            check=False,
            input="",
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert bad.returncode != 0 and "401" in bad.stderr
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0  # SIGTERM → graceful shutdown, exit 0


def test_serve_runs_the_embedded_simulator_by_default() -> None:
    """No credentials: ``serve`` starts the simulator on the real recording, with a banner, and serves its market."""
    server, url, token = _start_server()
    try:
        lines = [
            INITIALIZE,
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "get_symbol_rules", "arguments": {"symbol": "BTCUSDT"}},
            },
        ]
        out = subprocess.run(
            [PY, "-m", "tradingmcp", "bridge", url, "--token", token],
            check=False,
            input="".join(json.dumps(x) + "\n" for x in lines),
            capture_output=True,
            text=True,
            timeout=30,
        )
        answers = {a.get("id"): a for a in map(json.loads, out.stdout.splitlines())}
        assert 2 in answers, f"bridge exit {out.returncode}, answers {answers}, stderr:\n{out.stderr[-2000:]}"
        rules = answers[2]["result"]["structuredContent"]
        assert rules["symbol"] == "BTCUSDT" and rules["tick_size"] == "0.01" and rules["quote_asset"] == "USDT"
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0


async def test_serve_rate_limit_flags_reach_every_connection() -> None:
    """``--rate-limit 1 --rate-burst 2``: the third request at once gets -32005 with the wait; the banner says it."""
    banner = "per connection: 1 requests/s, burst 2"
    server, url, token = _start_server("--no-exchange", "--rate-limit", "1", "--rate-burst", "2", wait_for=banner)
    try:
        client = await open_raw(url, "picows", initialize=False, headers={"Authorization": f"Bearer {token}"})
        for rid in range(3):
            client.send({"jsonrpc": "2.0", "id": rid, "method": "ping"})
        answers = [await client.response(rid) for rid in range(3)]
        assert [a.get("result") for a in answers[:2]] == [{}, {}]
        error = answers[2]["error"]
        assert error["code"] == -32005 and 1 <= error["data"]["retry_after_ms"] <= 1000
        assert f"retry after {error['data']['retry_after_ms']} ms" in error["message"]
        await client.close()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
