"""The official MCP conformance suite and the MCP Inspector CLI drive ``tradingmcp serve`` over Streamable HTTP.

One real server per module: ``python -m tradingmcp serve --conformance-fixtures`` on the embedded simulator (seeded
synthetic market), no auth, an ephemeral loopback port. Then, as subprocesses on the project-local Node 22
(``tests/interop/conformance``, installed by ``make interop-deps``):

* ``conformance server --url .../mcp --requirements V --expected-failures expected-failures.yml`` for each spec
  revision V the server speaks (2025-11-25 with sessions, 2026-07-28 stateless, its input-required results
  included): every scenario the revision scores passes except the baselined ones (none today), and a baselined one
  that passes fails the run too (a stale entry);
* ``inspector --cli .../mcp --transport http`` lists the tools and calls a fixture and a market-data tool.

Missing Node packages FAIL with "run make interop-deps": never skipped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradingmcp.server.tools.conformance import TOOLS

from .fixtures import REPO

pytestmark = pytest.mark.interop

CONF_DIR = Path(__file__).resolve().parent / "conformance"
BASELINE = CONF_DIR / "expected-failures.yml"
NODE_BIN = CONF_DIR / "node_modules" / ".bin"
START_TIMEOUT_S = 60.0
SUITE_TIMEOUT_S = 900.0
INSPECTOR_TIMEOUT_S = 60.0
REVISIONS = ("2025-11-25", "2026-07-28")
_URL = re.compile(r"Streamable HTTP at (http://\S+/mcp)")
INPUT_REQUIRED = tuple(
    f"input-required-result-{name}"
    for name in (
        "basic-elicitation", "basic-sampling", "basic-list-roots", "request-state", "multiple-input-requests",
        "multi-round", "missing-input-response", "non-tool-request", "result-type", "tampered-state",
        "capability-check", "ignore-extra-params",
    )
)  # fmt: skip
"""The 2026-07-28 Multi Round-Trip Requests scenarios (SEP-2322) the suite scores."""


def node_tool(name: str) -> Path:
    """A bin of the conformance Node folder (running on its own Node 22), or FAIL (never skip)."""
    path = NODE_BIN / name
    if not path.exists() or not (NODE_BIN / "node").exists():
        pytest.fail(f"{path} is missing (the conformance suite and its Node 22): run make interop-deps")
    return path


def node_env(home: Path) -> dict[str, str]:
    """The environment of a Node tool: the local Node 22 first on PATH (the bins' ``#!/usr/bin/env node``), and a
    private HOME (the Inspector writes its catalog there)."""
    return {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home)}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tradingmcp serve --conformance-fixtures`` on an ephemeral loopback port; its Streamable HTTP URL."""
    work = tmp_path_factory.mktemp("conformance-serve")
    log_path = work / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "MEXC_", "TRADINGMCP_TOKEN"))}
    env["TRADINGMCP_DATA_DIR"] = str(work / "var")
    argv = [sys.executable, "-m", "tradingmcp", "serve", "--port", "0", "--insecure-no-auth"]
    argv += ["--synthetic", "--conformance-fixtures"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = None
        while url is None:
            found = _URL.search(log_path.read_text())
            if found:
                url = found.group(1)
            elif proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"tradingmcp serve did not start (exit {proc.poll()}):\n{log_path.read_text()}")
            else:
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def baseline_entries() -> list[str]:
    """The ``server:`` list of the baseline (its only key; one ``- scenario`` or ``- scenario:check-id`` a line)."""
    text = BASELINE.read_text()
    keys = re.findall(r"^(\w[\w-]*):", text, re.MULTILINE)
    assert keys == ["server"], f"the baseline has one key, server: {keys}"
    return re.findall(r"^\s*- (\S+)\s*$", text, re.MULTILINE)


def test_the_baseline_names_only_scenarios_each_with_a_reason() -> None:
    """Every baselined scenario (or scenario:check) is preceded by a comment saying why we do not support it."""
    lines = BASELINE.read_text().splitlines()
    entries = baseline_entries()
    assert len(entries) == len(set(entries))
    for entry in entries:
        at = next(i for i, line in enumerate(lines) if line.strip() == f"- {entry}")
        above = [line.strip() for line in lines[:at] if line.strip()]
        assert above and (above[-1].startswith("#") or above[-1].startswith("- ")), f"{entry} has no reason above it"


@pytest.mark.parametrize("revision", REVISIONS)
def test_the_official_conformance_suite_passes(server_url: str, revision: str, tmp_path: Path) -> None:
    """Every scenario the revision scores passes, except the baselined ones (which must still fail)."""
    conformance = node_tool("conformance")
    argv = [str(conformance), "server", "--url", server_url, "--requirements", revision]
    argv += ["--expected-failures", str(BASELINE), "-o", str(tmp_path / "results")]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
        env=node_env(tmp_path),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    out = done.stdout + done.stderr
    summary = out[out.find("=== SUMMARY ===") :] if "=== SUMMARY ===" in out else out[-6000:]
    assert done.returncode == 0, f"conformance {revision} failed ({done.returncode}):\n{summary}"
    assert "Baseline check passed" in out, summary
    passed = re.findall(r"^✓ (\S+): (\d+) passed, 0 failed$", summary, re.MULTILINE)
    names = {name for name, _ in passed}
    # the protocol's core, in both eras: listing and calling tools, reading resources, prompts and completion
    assert {"tools-list", "tools-call-simple-text", "resources-read-text", "prompts-get-with-args"} <= names, summary
    assert "completion-complete" in names, summary
    if revision == "2025-11-25":  # the tools that ask the client while they run (sampling, elicitation)
        asking = {"tools-call-sampling", "tools-call-elicitation", "elicitation-sep1034-defaults"}
        assert asking | {"elicitation-sep1330-enums"} <= names, summary
    if revision == "2026-07-28":  # scored later ("pending") but run: the mirrored headers, Mcp-Param-* included
        assert set(INPUT_REQUIRED) <= names, summary  # input-required results, tampered state and capability check
        counts = {name: int(count) for name, count in passed}
        assert counts.get("http-header-validation", 0) > 0, summary
        assert counts.get("http-custom-header-server-validation", 0) > 0, summary


def run_inspector(url: str, home: Path, *args: str, exit_code: int = 0) -> dict[str, object]:
    """One Inspector CLI call; its stdout is one JSON document (it exits 5 for a tool's ``isError`` result)."""
    inspector = node_tool("mcp-inspector")
    done = subprocess.run(
        [str(inspector), "--cli", url, "--transport", "http", *args],
        capture_output=True,
        text=True,
        timeout=INSPECTOR_TIMEOUT_S,
        env=node_env(home),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == exit_code, f"inspector {args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


def test_the_mcp_inspector_cli_lists_and_calls_tools(server_url: str, tmp_path: Path) -> None:
    listed = run_inspector(server_url, tmp_path, "--method", "tools/list")
    tools = listed["tools"]
    assert isinstance(tools, list)
    names = {tool["name"] for tool in tools}
    assert {name for name, _, _ in TOOLS} <= names
    assert {"get_ticker", "place_order", "get_balances"} <= names
    text = run_inspector(server_url, tmp_path, "--method", "tools/call", "--tool-name", "test_simple_text")
    assert text["content"] == [{"type": "text", "text": "This is a simple text response for testing."}]
    assert text["isError"] is False
    ticker = run_inspector(
        server_url, tmp_path, "--method", "tools/call", "--tool-name", "get_ticker", "--tool-arg", "symbol=BTCUSDT"
    )
    quote = ticker["structuredContent"]
    assert isinstance(quote, dict) and quote["symbol"] == "BTCUSDT" and quote["exchange"] == "binance"
    assert float(quote["bid"]) <= float(quote["ask"])
    bad = run_inspector(
        server_url, tmp_path, "--method", "tools/call", "--tool-name", "test_error_handling", exit_code=5
    )
    assert bad["isError"] is True and "intentionally" in str(bad["content"])
