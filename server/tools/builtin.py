"""Built-in tools every TradingMCP server has: ``echo`` (diagnostics and the latency benchmark's trivial tool) and
``get_server_info`` (who am I, which streams exist), plus the stream subscription tools."""

from __future__ import annotations

import time
from typing import Any

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.subscriptions import register_stream_tools

ECHO_SCHEMA: dict[str, Any] = {"type": "object", "description": "any JSON object; returned unchanged"}


def echo(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Return the arguments unchanged (a sync tool: runs inline on the hot path)."""
    return args


def register_builtin_tools(app: McpApp, hub: StreamHub) -> None:
    """Register ``echo``, ``get_server_info`` and the stream tools on ``app``."""
    started = time.time()

    def server_info(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "server": app.server_info(),
            "client": call.principal.name,
            "scopes": sorted(call.principal.scopes),
            "uptime_s": round(time.time() - started, 3),
            "stream_kinds": hub.kinds(),
        }

    app.add_tool(Tool("echo", "Echo the arguments back (diagnostics, latency checks).", echo, ECHO_SCHEMA))
    app.add_tool(
        Tool(
            "get_server_info",
            "Server name/version, the caller's identity and scopes, and the live stream kinds on offer.",
            server_info,
            {"type": "object", "properties": {}, "additionalProperties": False},
        )
    )
    register_stream_tools(app, hub)
