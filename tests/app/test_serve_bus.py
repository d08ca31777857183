"""``tradingmcp serve --bus`` as a real process: one clear line when the bus is absent (naming the URL, never its
credentials), and credentials from the environment that reach no log line across a bus outage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tradingmcp.server.bus.natsserver import NatsServer, free_port

PY = sys.executable


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADINGMCP_DATA_DIR": tempfile.mkdtemp(prefix="tmcp-bus-test-"), **(env or {})}
    return subprocess.Popen(
        [PY, "-m", "tradingmcp", "serve", "--port", "0", "--insecure-no-auth", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_gateway_without_a_bus_fails_with_one_line_naming_the_url() -> None:
    port = free_port()
    proc = _serve("--bus", f"nats://tmcp:s3cret-pw@127.0.0.1:{port}", "--role", "gateway")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tradingmcp serve: error: cannot reach the bus at nats://127.0.0.1:{port}: "), err
    assert "s3cret-pw" not in err


def test_role_needs_a_bus_and_the_url_must_be_nats() -> None:
    proc = _serve("--role", "feed")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--role needs --bus" in err
    proc = _serve("--bus", "http://127.0.0.1:4222")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--bus must be nats://host:port" in err


def _wait_for(log: Path, text: str, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)


def test_bus_credentials_from_the_environment_never_reach_the_log(tmp_path: Path) -> None:
    secret = "pw-never-logged-7f3a"
    nats = NatsServer(tmp_path / "store", user="tmcp", password=secret)
    nats.start()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "TRADINGMCP_DATA_DIR": str(tmp_path / "var"),
        "TRADINGMCP_BUS_USER": "tmcp",
        "TRADINGMCP_BUS_PASSWORD": secret,
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [PY, "-m", "tradingmcp", "serve", "--port", "0", "--insecure-no-auth", "--synthetic", "--bus", nats.url],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    try:
        _wait_for(log, "roles feed, gateway, trader on the bus", proc)  # logged in with the env credentials
        nats.stop()
        _wait_for(log, "disconnected from", proc)
        nats.start()
        _wait_for(log, "reconnected to", proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        nats.stop()
    text = log.read_text()
    assert secret not in text
    assert f"nats://127.0.0.1:{nats.port}" in text
