"""``tradingmcp cluster``: a whole deployment over the bus on loopback, each part its own process: ``nats-server -js``,
the simulator (``tradingmcp sim``), one feed, one trader (``--traders 2``: an active one and a standby) and two
gateways (``--gateways N``), then the reference bot against the first gateway. Everything stops on Ctrl-C (or after
``--duration`` seconds), and each process writes its log into ``--out``.

:class:`Cluster` is also what the fault drills start (``tests/app/test_cluster.py``, ``test_cluster_drills.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tradingmcp.server.bus.natsserver import NatsServer, free_port

TOKEN = "cluster-dev-token"
"""The token every gateway of a local cluster accepts (scopes read, trade)."""


@dataclass
class Proc:
    """One process of the cluster: its command, log file and (while running) ``popen``."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)

    def wait_for(self, text: str, timeout_s: float = 60.0) -> None:
        """Wait until the log holds ``text``.

        Raises:
            RuntimeError: the process ended first, or the time ran out (the log's tail in the message).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.popen is not None and self.popen.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{self.name} did not log {text!r} (exit {self.popen and self.popen.poll()}):\n{tail}")

    def kill(self) -> None:
        """SIGKILL (a crash)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Cluster:
    """``Cluster(out)``; :meth:`start` … :meth:`stop`. ``gateway_urls`` are the gateways' ``ws://`` URLs (token
    :data:`TOKEN`); ``sim_url`` the simulator's REST base; ``nats`` the bus. ``gateway_args`` and ``trader_args`` are
    added to every gateway's and trader's ``serve`` command line (``--config FILE``: a webhook, safety limits)."""

    out: Path
    gateways: int = 2
    traders: int = 1
    speed: float = 1.0
    synthetic: bool = False
    data_dir: Path | None = None
    lease_ttl_s: float = 3.0
    gateway_args: tuple[str, ...] = ()
    trader_args: tuple[str, ...] = ()
    nats: NatsServer = field(init=False)
    procs: dict[str, Proc] = field(default_factory=dict)
    gateway_urls: list[str] = field(default_factory=list)
    sim_port: int = 0

    def __post_init__(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.nats = NatsServer(self.out / "nats-store", log_file=self.out / "nats.log")

    @property
    def console_url(self) -> str:
        """The first gateway's web console, the token in the fragment (no server log sees it)."""
        base = self.gateway_urls[0].replace("ws://", "http://", 1).removesuffix("/mcp")
        return f"{base}/console#token={TOKEN}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def _proc(self, name: str, *args: str) -> Proc:
        env = {**os.environ, "TRADINGMCP_DATA_DIR": str(self.out / name)}
        env.pop("TRADINGMCP_TOKENS", None)
        proc = Proc(name, [sys.executable, "-m", "tradingmcp", *args], self.out / f"{name}.log", env)
        self.procs[name] = proc
        return proc

    def _role(self, name: str, role: str, *extra: str) -> Proc:
        return self._proc(name, "serve", "--bus", self.nats.url, "--role", role, "--sim-url", self.sim_url, *extra)

    def start(self) -> None:
        """Start every part in order and wait until each is ready.

        Raises:
            RuntimeError: a part did not come up (its log's tail in the message).
        """
        self.nats.start()
        self.sim_port = free_port()
        while True:  # the simulator's streams take the next port
            ws_port = self.sim_port + 1
            try:
                import socket

                with socket.socket() as s:
                    s.bind(("127.0.0.1", ws_port))
                break
            except OSError:
                self.sim_port = free_port()
        sim_args = ["sim", "--port", str(self.sim_port), "--speed", str(self.speed), "--loop"]
        if self.synthetic:
            sim_args.append("--synthetic")
        if self.data_dir is not None:
            sim_args += ["--data", str(self.data_dir)]
        sim = self._proc("sim", *sim_args)
        sim.start()
        sim.wait_for("WS API")
        feed = self._role("feed", "feed")
        feed.start()
        for i in range(self.traders):
            self.start_trader(i + 1)
        feed.wait_for("roles feed on the bus")
        for i in range(self.gateways):
            port = free_port()
            gw = self._role(
                f"gateway{i + 1}",
                "gateway",
                "--port",
                str(port),
                "--tokens",
                f"cluster:{TOKEN}:read,trade",
                *self.gateway_args,
            )
            gw.start()
            self.gateway_urls.append(f"ws://127.0.0.1:{port}/mcp")
        for i in range(self.gateways):
            self.procs[f"gateway{i + 1}"].wait_for("gateway: serving MCP")

    def start_trader(self, n: int) -> Proc:
        """Start trader number ``n`` (``trader1``, ``trader2``...) and wait until it is on the bus."""
        env_ttl = ("--bus-lease-ttl", str(self.lease_ttl_s))
        trader = self._role(f"trader{n}", "trader", *env_ttl, *self.trader_args)
        trader.start()
        trader.wait_for("roles trader on the bus")
        return trader

    def stop(self) -> None:
        """Stop every process (gateways first), then the bus."""
        for name in sorted(self.procs, key=lambda n: (not n.startswith("gateway"), n == "sim")):
            with contextlib.suppress(Exception):
                self.procs[name].stop()
        self.nats.stop()


def run_cluster(
    out: Path,
    gateways: int,
    traders: int,
    speed: float,
    synthetic: bool,
    duration_s: float | None,
    data_dir: Path | None,
    with_bot: bool = True,
) -> int:
    """``tradingmcp cluster``: start a :class:`Cluster`, run the bot against the first gateway (or wait), stop."""
    cluster = Cluster(out, gateways=gateways, traders=traders, speed=speed, synthetic=synthetic, data_dir=data_dir)
    try:
        cluster.start()
    except (RuntimeError, FileNotFoundError) as exc:
        cluster.stop()
        print(f"tradingmcp cluster: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        print(f"logs in {out}", file=sys.stderr)
        return 1
    print(f"cluster up: bus {cluster.nats.url}, simulator {cluster.sim_url}", file=sys.stderr)
    for url in cluster.gateway_urls:
        print(f"  gateway {url} (token {TOKEN})", file=sys.stderr)
    print(f"  web console {cluster.console_url} (the first gateway's)", file=sys.stderr)
    print(f"  logs in {out}", file=sys.stderr, flush=True)
    status = 0
    try:
        if with_bot:
            argv = [
                sys.executable,
                "-m",
                "tradingmcp",
                "bot",
                "--url",
                cluster.gateway_urls[0],
                "--token",
                TOKEN,
                "--quiet",
                "--out",
                str(out / "bot-report"),
            ]
            if duration_s is not None:
                argv += ["--duration", str(duration_s)]
            status = subprocess.call(argv)
        else:
            deadline = None if duration_s is None else time.monotonic() + duration_s
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
    except KeyboardInterrupt:
        status = 130
    finally:
        cluster.stop()
    return status
