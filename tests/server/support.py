"""Support for the server tests: a whole TradingMCP server: the simulator on the real recording (manual-step,
``speed=0``: only ``server.sim.step(n)`` advances the market) → python-binance adapter → every tool family →
McpServer on loopback ws.

Two tokens: ``trader`` (scopes read+trade) and ``reader`` (read only). ``tool_server`` uses the default
:class:`ToolsetConfig`; a test that needs other limits builds its own with ``start_tool_server(data_dir, tmp_path,
config)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.audit import AuditConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.venues import Venues
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import Simulator
from tradingmcp.transport.auth import TokenStore

TRADER_TOKEN = "trader-token-0123456789abcdef"
READER_TOKEN = "reader-token-0123456789abcdef"
AUDITOR_TOKEN = "auditor-token-0123456789abcdef"


@dataclass
class ToolServer:
    """A running server: ``url``, ``sim`` (step it), ``venues``, ``app``, ``stack``; ``client()`` connects."""

    url: str
    sim: Simulator
    venues: Venues
    app: McpApp
    hub: StreamHub
    stack: ExchangeStack
    server: McpServer

    @asynccontextmanager
    async def client(self, token: str = TRADER_TOKEN, **options: Any) -> AsyncIterator[McpClient]:
        c = await connect(self.url, token=token, **options)
        try:
            yield c
        finally:
            await c.close()


@asynccontextmanager
async def start_tool_server(
    data_dir: Path,
    tmp_path: Path,
    config: ToolsetConfig | None = None,
    speed: float = 0,
    exchange: str = "binance",
) -> AsyncIterator[ToolServer]:
    """Start the whole stack (see module docstring) for ``exchange`` (binance, mexc or both); the audit database goes
    under ``tmp_path``."""
    config = config or ToolsetConfig()
    if config.audit.data_dir is None:
        config = replace(config, audit=replace(config.audit, data_dir=tmp_path / "audit"))
    app, hub = McpApp(), StreamHub()
    register_builtin_tools(app, hub)
    opts = ExchangeOptions(exchange=exchange, speed=speed, loop=False, data_dir=data_dir)
    stack = await ExchangeStack.start(app, hub, opts, config)
    assert stack.sim is not None
    tokens = TokenStore(
        {
            TRADER_TOKEN: ("trader", ["read", "trade"]),
            READER_TOKEN: ("reader", ["read"]),
            AUDITOR_TOKEN: ("auditor", ["read", "audit"]),
        }
    )
    server = McpServer(app, ServerConfig(port=0, tokens=tokens), streams=hub)
    try:
        await server.start()
        yield ToolServer(server.url, stack.sim, stack.venues, app, hub, stack, server)
    finally:
        await server.stop()
        await stack.close()


WAIT_S = 10.0
"""Longest wait for one tool call in the tool tests (s)."""


async def call(c: McpClient, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """``call_tool`` bounded by :data:`WAIT_S`."""
    async with asyncio.timeout(WAIT_S):
        return await c.call_tool(tool, args)


async def ok(c: McpClient, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """The structuredContent of a successful call (fails the test on an isError result)."""
    res = await call(c, tool, args)
    assert res["isError"] is False, res["content"][0]["text"]
    structured: dict[str, Any] = res["structuredContent"]
    return structured


__all__ = [
    "AUDITOR_TOKEN",
    "READER_TOKEN",
    "TRADER_TOKEN",
    "WAIT_S",
    "AuditConfig",
    "ToolServer",
    "call",
    "ok",
    "start_tool_server",
]
