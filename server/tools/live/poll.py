"""The ``read_stream`` tool: live data for hosts that show the model no pushed notification. Subscribe once (the first
read), then read what changed since a cursor, waiting a bounded time when nothing did (a long poll).

Arguments: ``stream`` (a stream key, as for ``subscribe``: ``trades:sim:BTCUSDT``, ``book:binance:ETHUSDT:10``,
``orders:binance``), ``cursor`` (the ``cursor`` of the previous answer; absent on the first read), ``max_items``
(1..200, default 50), ``wait_s`` (0..60 s, default 10: how long to wait when nothing is newer than ``cursor``).

Result: ``{stream, items: [{seq, data}], cursor, missed, more, timed_out}``: ``items`` oldest first with ``seq`` >
``cursor``; ``seq`` is the stream's own (the ``seq`` its pushed notifications carry, the same on every gateway of a
bus), so a cursor stays good on another connection or gateway; ``cursor`` to pass next time; ``missed`` how many
messages after ``cursor`` were no longer held (the buffer keeps the latest :data:`BUFFER_ITEMS` per stream);
``more`` True when further items are already waiting; ``timed_out`` True when ``wait_s`` passed with nothing new.
The first read with a ``cursor`` (e.g. after moving to another gateway) resumes from it: the stream's replay window
gives what it still holds after ``cursor``, and ``missed`` counts the rest.

The server keeps one internal subscription per (token, stream) on the shared :class:`StreamHub` (one exchange
subscription for everybody) while it is read: it ends ``linger_s`` (120 s) after the last read. At most
:data:`MAX_BUFFERS` streams per token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError
from tradingmcp.server.mcp.streams import STREAM_KEY_PATTERN, StreamHub
from tradingmcp.server.tools.live.feeds import InternalSubscriber

BUFFER_ITEMS = 1000
MAX_ITEMS = 200
MAX_WAIT_S = 60.0
MAX_BUFFERS = 32
LINGER_S = 120.0

READ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "stream": {
            "type": "string",
            "minLength": 3,
            "maxLength": 128,
            "pattern": STREAM_KEY_PATTERN,
            "description": "stream key kind:exchange:SYMBOL[:arg], e.g. trades:sim:BTCUSDT",
        },
        "cursor": {"type": "integer", "minimum": 0, "description": "the cursor of the previous answer"},
        "max_items": {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS, "default": 50},
        "wait_s": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_S, "default": 10},
    },
    "required": ["stream"],
    "additionalProperties": False,
}


class StreamBuffer:
    """The latest :data:`BUFFER_ITEMS` messages of one stream for one token, under the stream's ``seq``.

    ``base``: the ``seq`` the buffer starts after (the newest when it subscribed, or the cursor it resumed from);
    ``seq``: the newest held.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.base = 0
        self.seq = 0
        self.items: deque[tuple[int, Any]] = deque(maxlen=BUFFER_ITEMS)
        self.arrived = asyncio.Event()
        self.subscriber = InternalSubscriber(self.on_data)
        self.expiry: asyncio.TimerHandle | None = None

    def on_data(self, key: str, data: Any) -> None:
        seq = self.subscriber.seq
        if seq <= self.seq:  # never twice under one seq
            return
        self.seq = seq
        self.items.append((seq, data))
        self.arrived.set()

    def since(self, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        """Items after ``cursor`` (at most ``limit``), how many after it are gone, and whether more wait."""
        newer = [(s, d) for s, d in self.items if s > cursor]
        missed = max(0, newer[0][0] - cursor - 1) if newer else 0
        return [{"seq": s, "data": d} for s, d in newer[:limit]], missed, len(newer) > limit


class StreamReader:
    """Every token's buffers: subscribe on first read, drop ``linger_s`` after the last."""

    def __init__(self, hub: StreamHub, linger_s: float = LINGER_S) -> None:
        self.hub = hub
        self.linger_s = linger_s
        self.buffers: dict[tuple[str, str], StreamBuffer] = {}

    async def buffer(self, owner: str, key: str, since_seq: int | None = None) -> StreamBuffer:
        """The buffer of ``(owner, key)``, subscribed on first use (resuming after ``since_seq`` when given).

        Raises:
            ToolError: ``owner`` already reads :data:`MAX_BUFFERS` streams.
            JsonRpcError: the hub refused the key (-32602 unknown kind).
        """
        buf = self.buffers.get((owner, key))
        if buf is None:
            if sum(1 for o, _ in self.buffers if o == owner) >= MAX_BUFFERS:
                raise ToolError(
                    f"at most {MAX_BUFFERS} streams are read per token; stop reading one for {int(self.linger_s)} s",
                    "too_many_streams",
                    {"max_streams": MAX_BUFFERS},
                )
            buf = StreamBuffer(key)
            attached = await self.hub.subscribe(buf.subscriber, key, since_seq=since_seq)
            buf.base = attached.seq if since_seq is None else min(since_seq, attached.seq)
            buf.seq = max(buf.seq, buf.base)
            self.buffers[(owner, key)] = buf
        self._touch(owner, buf)
        return buf

    def _touch(self, owner: str, buf: StreamBuffer) -> None:
        if buf.expiry is not None:
            buf.expiry.cancel()
        buf.expiry = asyncio.get_running_loop().call_later(self.linger_s, self._expire, owner, buf)

    def _expire(self, owner: str, buf: StreamBuffer) -> None:
        if self.buffers.get((owner, buf.key)) is buf:
            del self.buffers[(owner, buf.key)]
            self.hub.release(buf.subscriber)

    def close(self) -> None:
        for (owner, _key), buf in list(self.buffers.items()):
            if buf.expiry is not None:
                buf.expiry.cancel()
            self._expire(owner, buf)

    async def read(self, call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        key = args["stream"]
        given = args.get("cursor")
        limit = int(args.get("max_items", 50))
        wait_s = float(args.get("wait_s", 10))
        buf = await self.buffer(call.principal.name, key, None if given is None else int(given))
        # no cursor: from the buffer's start; one beyond the newest (another numbering, e.g. a restarted server): from now
        cursor = buf.base if given is None else min(int(given), buf.seq)
        timed_out = False
        if buf.seq <= cursor and wait_s > 0:
            buf.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    while buf.seq <= cursor:
                        await buf.arrived.wait()
                        buf.arrived.clear()
            timed_out = buf.seq <= cursor
            self._touch(call.principal.name, buf)
        items, missed, more = buf.since(cursor, limit)
        last = items[-1]["seq"] if items else cursor
        return {"stream": key, "items": items, "cursor": last, "missed": missed, "more": more, "timed_out": timed_out}


def register_read_tool(app: McpApp, hub: StreamHub) -> StreamReader:
    """Add ``read_stream`` (scope ``read``) to ``app``; returns its reader (``close()`` at shutdown)."""
    reader = StreamReader(hub)
    app.add_tool(
        Tool(
            "read_stream",
            "Read a live stream by long poll: the first call subscribes, then pass back the cursor to get what "
            "changed since (waits up to wait_s when nothing did). For hosts that do not show pushed notifications.",
            reader.read,
            READ_SCHEMA,
            idempotent=True,
        )
    )
    return reader
