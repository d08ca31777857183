"""Shared pieces for the interop tests: a small demo :class:`McpApp`, a running server, and paths to the peers.

The demo app offers:

* ``echo`` (sync): returns ``{"text": ..., "n": ...}`` as structured content (plus the JSON text block).
* ``slow`` (async): ``steps`` progress reports ``delay_ms`` apart, then ``{"done": steps}``; records on
  :class:`DemoState` when it started, finished or was really cancelled on the server.
* ``bump`` (sync): increments the counter behind ``demo://counter`` and calls ``notify_updated`` for it.
* ``say`` (sync): logs ``message`` at ``level`` through ``notifications/message``.
* ``fail`` (sync): raises :class:`ToolError` (an ``isError`` result, not a protocol error).
* ``filler_NN`` tools so that ``tools/list`` needs several pages when ``app.page_size`` is small.
* the resource ``demo://counter`` (JSON ``{"count": n}``) and the template ``demo://items/{name}`` (text).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.server.mcp.engine import Call
from tradingmcp.server.mcp.registry import McpApp, Resource, ResourceTemplate, ToolError
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws
from tradingmcp.transport.auth import TokenStore

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
MCP1_PYTHON = REPO / ".venv-mcp1" / "bin" / "python"
COUNTER_URI = "demo://counter"
ITEMS_TEMPLATE = "demo://items/{name}"
TOKEN = "interop-test-token"  # a test-only token, never a real secret
FILLER_TOOLS = 7
PEER_TIMEOUT_S = 60.0


@dataclass
class DemoState:
    """What the demo tools did on the server side (the tests assert on it)."""

    counter: int = 0
    slow_started: asyncio.Event = field(default_factory=asyncio.Event)
    slow_cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    slow_finished: int = 0


def demo_app(state: DemoState, page_size: int = 100) -> McpApp:
    """The demo registry described in the module docstring; ``state`` records server-side effects."""
    app = McpApp(name="tradingmcp-interop-demo", version="9.9.9", page_size=page_size)

    @app.tool(
        "echo",
        "Echo the text back",
        {"type": "object", "properties": {"text": {"type": "string"}, "n": {"type": "integer"}}, "required": ["text"]},
    )
    def echo(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        return {"text": args["text"], "n": args.get("n", 0)}

    @app.tool(
        "slow",
        "Report progress `steps` times, `delay_ms` apart, then answer",
        {
            "type": "object",
            "properties": {"steps": {"type": "integer", "minimum": 1}, "delay_ms": {"type": "integer", "minimum": 0}},
            "required": ["steps"],
        },
    )
    async def slow(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        steps = int(args["steps"])
        delay_s = int(args.get("delay_ms", 10)) / 1000
        state.slow_started.set()
        try:
            for i in range(1, steps + 1):
                await asyncio.sleep(delay_s)
                call.progress(i, steps, f"step {i}/{steps}")
        except asyncio.CancelledError:
            state.slow_cancelled.set()
            raise
        state.slow_finished += 1
        return {"done": steps}

    @app.tool("bump", "Increment the demo counter and announce the change")
    def bump(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        state.counter += 1
        call.session.resources.notify_updated(COUNTER_URI)
        return {"count": state.counter}

    @app.tool(
        "say",
        "Log a message to the client at a level",
        {
            "type": "object",
            "properties": {"level": {"type": "string"}, "message": {"type": "string"}},
            "required": ["level", "message"],
        },
    )
    def say(call: Call, args: dict[str, Any]) -> str:
        call.log(args["level"], args["message"], "demo")
        return "said"

    @app.tool("fail", "Always fails with a tool error (isError result the model can read)")
    def fail(call: Call, args: dict[str, Any]) -> None:
        raise ToolError("the market is closed; retry after the open", "market_closed", {"retry_after_s": 60})

    for i in range(FILLER_TOOLS):
        app.tool(f"filler_{i:02d}", f"Filler tool {i} (pagination)")(lambda call, args: "ok")

    app.add_resource(
        Resource(COUNTER_URI, "counter", lambda uri: {"count": state.counter}, "A counter bumped by the bump tool")
    )
    app.add_template(
        ResourceTemplate(
            ITEMS_TEMPLATE, "items", lambda uri: f"item {uri.rsplit('/', 1)[-1]}", "Named items", "text/plain"
        )
    )
    return app


@asynccontextmanager
async def running_server(
    state: DemoState,
    *,
    page_size: int = 100,
    tokens: bool = False,
    backend: ws.Backend = ws.DEFAULT_BACKEND,
) -> AsyncIterator[McpServer]:
    """Our real server on 127.0.0.1 (ephemeral port) serving :func:`demo_app`; ``tokens`` requires :data:`TOKEN`."""
    store = TokenStore({TOKEN: ("interop", {"read", "trade"})}) if tokens else None
    config = ServerConfig(
        host="127.0.0.1",
        port=0,
        tokens=store,
        backend=backend,
        resource_min_interval_s=0.0,
        drain_timeout_s=2.0,
        wire=ws.WireOptions(ping_interval_s=0),
    )
    server = await McpServer(demo_app(state, page_size), config).start()
    try:
        yield server
    finally:
        async with asyncio.timeout(10):
            await server.stop()


def require_node(node_dir: Path = NODE_DIR) -> str:
    """The ``node`` binary with the interop packages installed in ``node_dir``, or FAIL (never skip)."""
    node = shutil.which("node")
    if node is None or not (node_dir / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.fail(f"the TypeScript SDK peer is missing (node, or {node_dir}/node_modules): run make interop-deps")
    return node


def require_mcp1(python: Path = MCP1_PYTHON) -> Path:
    """The Python of ``.venv-mcp1`` (mcp 1.30.0 with its websocket client), or FAIL (never skip)."""
    if not python.exists():
        pytest.fail(f"{python} is missing (the mcp 1.30.0 peer): run make interop-deps")
    return python


async def run_peer(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run a peer client as a subprocess (bounded by :data:`PEER_TIMEOUT_S`); returns (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        async with asyncio.timeout(PEER_TIMEOUT_S):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return int(proc.returncode or 0), out.decode(), err.decode()


def last_json_line(stdout: str) -> str:
    """The last non-empty stdout line (the peers print one JSON document there)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise AssertionError("the peer printed nothing on stdout")
    return lines[-1]
