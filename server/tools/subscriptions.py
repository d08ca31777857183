"""Tools ``subscribe`` / ``unsubscribe`` / ``list_subscriptions`` over a :class:`StreamHub`.

``subscribe {"stream": "trades:sim:BTCUSDT"}`` → ``{"stream", "subscribed": true, "method":
"notifications/tradingmcp/stream"}``; data then arrives as that notification with a per-stream ``seq``.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool
from tradingmcp.server.mcp.streams import STREAM_KEY_PATTERN, STREAM_METHOD, StreamHub

_STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "stream": {
            "type": "string",
            "minLength": 3,
            "maxLength": 128,
            "pattern": STREAM_KEY_PATTERN,
            "description": "stream key kind:exchange:SYMBOL[:arg], e.g. trades:sim:BTCUSDT",
        }
    },
    "required": ["stream"],
    "additionalProperties": False,
}


def register_stream_tools(app: McpApp, hub: StreamHub) -> None:
    """Add the three subscription tools to ``app`` (scope ``read``)."""

    async def subscribe(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        key = args["stream"]
        added = await hub.subscribe(call.subscriber, key)
        return {"stream": key, "subscribed": True, "new": added, "method": STREAM_METHOD}

    async def unsubscribe(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        key = args["stream"]
        removed = await hub.unsubscribe(call.subscriber, key)
        return {"stream": key, "subscribed": False, "was_subscribed": removed}

    def list_subscriptions(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        mine = [k for k in hub.active() if hub.is_subscribed(call.subscriber, k)]
        return {"subscriptions": mine, "kinds": {k: hub.sources[k].description for k in hub.kinds()}}

    app.add_tool(
        Tool(
            "subscribe",
            "Subscribe to a live stream; data is pushed as notifications/tradingmcp/stream with a per-stream seq.",
            subscribe,
            _STREAM_SCHEMA,
            idempotent=True,
        )
    )
    app.add_tool(Tool("unsubscribe", "Stop a live stream subscription.", unsubscribe, _STREAM_SCHEMA))
    app.add_tool(
        Tool(
            "list_subscriptions",
            "This connection's live stream subscriptions and the stream kinds available.",
            list_subscriptions,
            {"type": "object", "properties": {}, "additionalProperties": False},
        )
    )
