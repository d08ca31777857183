"""The CLI fails in one line: a bad argument is exit 2, a port in use or an unreachable venue or server is exit 1, and
no Python traceback reaches the user. Options are never abbreviated (``serve --token X`` is not ``--tokens X``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from tradingmcp.app.cli import build_parser

PY = sys.executable
SECRET = "S3KRIT-token-value-never-shown"


def tradingmcp(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tradingmcp ARGS`` to its end (a command that should fail but serves instead hits the
    timeout, which fails the test)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "MEXC_", "TRADINGMCP_TOKEN"))}
    base["TRADINGMCP_DATA_DIR"] = tempfile.mkdtemp(prefix="tmcp-cli-errors-")
    return subprocess.run(
        [PY, "-m", "tradingmcp", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The only stderr line, after checking there is exactly one and it is not a traceback."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, f"exit {done.returncode}, stderr:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr and "error:" in lines[0]
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port with a listener on it (nobody accepts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_serve_on_a_busy_port_is_one_line_and_exit_1(busy_port: int) -> None:
    done = tradingmcp("serve", "--port", str(busy_port))
    line = one_error_line(done)
    assert done.returncode == 1
    assert line.startswith("tradingmcp serve: error: cannot listen on") and f"127.0.0.1:{busy_port}" in line
    assert "in use" in line


def test_sim_on_a_busy_port_is_one_line_and_exit_1(busy_port: int) -> None:
    done = tradingmcp("sim", "--port", str(busy_port), "--synthetic")
    line = one_error_line(done)
    assert done.returncode == 1 and "cannot listen on" in line and str(busy_port) in line and "in use" in line


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("bot-without-fields", "must be name:token:scopes"),
        (f"bot:{SECRET}:read:extra", "must be name:token:scopes"),
        (f"bot:{SECRET}:fly", "unknown scope"),
        (f"bot:{SECRET}:", "no scopes"),
        ("bot::read", "the token must be non-empty"),
        (f":{SECRET}:read", "the name must be non-empty"),
        (f"a:{SECRET}:read;b:{SECRET}:trade", "entry #2 repeats the token"),
        (" ; ", "no token entries"),
    ],
)
def test_malformed_tokens_are_one_line_and_exit_2(spec: str, says: str) -> None:
    done = tradingmcp("serve", "--port", "0", "--no-exchange", "--tokens", spec, timeout_s=30)
    line = one_error_line(done)
    assert done.returncode == 2 and "--tokens" in line and says in line and SECRET not in done.stderr


def test_malformed_tokens_from_the_environment_are_one_line_and_exit_2() -> None:
    done = tradingmcp("serve", "--port", "0", "--no-exchange", env={"TRADINGMCP_TOKENS": f"bot:{SECRET}:fly"})
    line = one_error_line(done)
    assert done.returncode == 2 and "$TRADINGMCP_TOKENS" in line and "unknown scope" in line
    assert SECRET not in done.stderr


def test_serve_token_is_not_read_as_tokens() -> None:
    done = tradingmcp("serve", "--port", "0", "--no-exchange", "--token", SECRET, timeout_s=30)
    line = one_error_line(done)
    assert done.returncode == 2 and "unrecognized arguments: --token" in line and "tradingmcp serve -h" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--tok", "x"],
        ["serve", "--insecure", "--port", "0"],
        ["sim", "--sym", "BTCUSDT"],
        ["demo", "--dur", "1"],
        ["bot", "--tok", "x"],
        ["bridge", "ws://127.0.0.1:1/mcp", "--tok", "x"],
        ["audit", "--lim", "5"],
        ["certs", "--di", "x"],
    ],
)
def test_no_subcommand_takes_an_abbreviated_option(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "unrecognized arguments" in err


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("tradingmcp.benchmarks.cli", ["--cal", "x"]),
        ("tradingmcp.benchmarks.ticktotrade", ["--dur", "x"]),
        ("tradingmcp.benchmarks.coldpath", ["--samp", "x"]),
    ],
)
def test_no_bench_parser_takes_an_abbreviated_option(
    module: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An abbreviation would otherwise be taken for the option (and its value then refused as a bad number)."""
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and f"unrecognized arguments: {' '.join(argv)}" in capsys.readouterr().err


def dead_url(scheme: str) -> str:
    """A URL on a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


@pytest.mark.parametrize("venue", ["binance", "mexc", "bybit"])
def test_an_unreachable_real_venue_is_one_line_naming_it_and_exit_1(venue: str) -> None:
    rest = dead_url("http")
    if venue == "binance":
        env = {
            "BINANCE_API_KEY": "k",
            "BINANCE_API_SECRET": SECRET,
            "BINANCE_REST_URL": f"{rest}/api",
            "BINANCE_STREAM_URL": dead_url("ws") + "/",
            "BINANCE_WS_API_URL": dead_url("ws") + "/ws-api/v3",
        }
    elif venue == "mexc":
        env = {"MEXC_API_KEY": "k", "MEXC_API_SECRET": SECRET, "MEXC_REST_URL": rest, "MEXC_WS_URL": dead_url("ws")}
    else:
        env = {"BYBIT_API_KEY": "k", "BYBIT_API_SECRET": SECRET, "BYBIT_REST_URL": rest,
               "BYBIT_PUBLIC_WS_URL": dead_url("ws"), "BYBIT_PRIVATE_WS_URL": dead_url("ws")}  # fmt: skip
    done = tradingmcp("serve", "--port", "0", "--exchange", venue, env=env)
    line = one_error_line(done)
    assert done.returncode == 1 and f"cannot reach venue {venue} at {rest}" in line and SECRET not in done.stderr


def test_an_unreachable_server_is_one_line_and_exit_1_for_bridge_and_bot() -> None:
    url = dead_url("ws") + "/mcp"
    bridge = tradingmcp("bridge", url, "--token", SECRET)
    assert bridge.returncode == 1 and f"cannot connect to {url}" in one_error_line(bridge)
    bot = tradingmcp("bot", "--url", url, "--token", SECRET, "--duration", "1", "--quiet")
    assert bot.returncode == 1 and f"cannot connect to {url}" in one_error_line(bot)
    assert SECRET not in bridge.stderr + bot.stderr
