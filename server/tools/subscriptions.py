"""Tools ``subscribe`` / ``unsubscribe`` / ``list_subscriptions`` over a :class:`StreamHub`, and the resume contract.

``subscribe`` arguments: ``{"stream": "trades:sim:BTCUSDT"}``, or to resume after a reconnect
``{"stream": ..., "since_seq": <last seq received>, "epoch": "<epoch of that stream's answer>"}``.

Answer (``structuredContent``)::

    {"stream": "trades:sim:BTCUSDT", "subscribed": true, "new": true, "method": "notifications/tradingmcp/stream",
     "epoch": "9f0c2a1be4d07c55.3",  # names this run of the stream's seq numbering
     "seq": 4210,                     # newest seq published when the subscription took effect (0: none yet)
     "first_seq": 4188,               # seq of the first message this subscription delivers (replayed or live)
     "replayed": 23,                  # messages re-sent from the replay window
     "conflates": false,              # true: a reader that is behind may skip superseded states (seq jumps)
     "resumed": true}                 # only with since_seq: every message after since_seq is delivered

Data arrives as ``notifications/tradingmcp/stream`` ``{"stream", "seq", "data"}``; the replayed messages are those
same notifications (same bytes) and come before any live one, usually before this answer. With ``since_seq``: a
lossless stream (trades, orders, balances, closed klines) replays every message with ``seq > since_seq``; a conflating
one (book, book_ticker, ticker_24h, the open kline) replays its latest state, e.g. the current book snapshot. When the
window no longer reaches back to ``since_seq`` (or ``epoch`` is not the stream's current one, e.g. after a server
restart), ``resumed`` is false and delivery starts at ``first_seq``, the oldest message still held (for a book: its
latest snapshot). See :mod:`tradingmcp.server.mcp.streams`.

The notification is our extension :data:`~tradingmcp.transport.mcpnames.STREAMS_EXTENSION` (SEP-2133): a 2026-07-28
caller must declare it in ``_meta["io.modelcontextprotocol/clientCapabilities"].extensions``, else ``subscribe``
answers -32021 naming it (so no stream pushes reach a client that did not ask for them); handshake-era callers are not
asked.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool
from tradingmcp.server.mcp.streams import STREAM_KEY_PATTERN, STREAM_METHOD, StreamHub
from tradingmcp.transport.mcpnames import STREAMS_EXTENSION

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

_SUBSCRIBE_SCHEMA: dict[str, Any] = {
    **_STREAM_SCHEMA,
    "properties": {
        **_STREAM_SCHEMA["properties"],
        "since_seq": {
            "type": "integer",
            "minimum": 0,
            "description": "resume: the last seq received on this stream; every later message the server's window "
            "still holds is sent first (lossless streams: all of them, conflating ones: the latest state), then live",
        },
        "epoch": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "resume: the epoch of the answer that stream's seq came from; if it is not the current one "
            "the answer says resumed: false",
        },
    },
}

_SUBSCRIBE_DESCRIPTION = (
    "Subscribe to a live stream; data is pushed as notifications/tradingmcp/stream {stream, seq, data}, seq +1 per "
    "message of the stream. To resume after a reconnect without loss pass since_seq (the last seq received) and epoch "
    "(from the earlier answer): the missed messages are replayed first, then live, no gap and no duplicate; if the "
    "server no longer holds them the answer has resumed: false and first_seq, the first seq it delivers (for a book: "
    "a fresh snapshot). Trades never conflate; book and ticker streams deliver full states, and a slow reader keeps "
    f"only the latest. A 2026-07-28 client declares the {STREAMS_EXTENSION} extension in its capabilities."
)


def register_stream_tools(app: McpApp, hub: StreamHub) -> None:
    """Add the three subscription tools to ``app`` (scope ``read``)."""

    async def subscribe(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        key = args["stream"]
        att = await hub.subscribe(call.subscriber, key, args.get("since_seq"), args.get("epoch"))
        answer = {
            "stream": key,
            "subscribed": True,
            "new": att.new,
            "method": STREAM_METHOD,
            "epoch": att.epoch,
            "seq": att.seq,
            "first_seq": att.first_seq,
            "replayed": att.replayed,
            "conflates": att.conflates,
        }
        if att.resumed is not None:
            answer["resumed"] = att.resumed
        return answer

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
            _SUBSCRIBE_DESCRIPTION,
            subscribe,
            _SUBSCRIBE_SCHEMA,
            idempotent=True,
            client_extensions=(STREAMS_EXTENSION,),
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
