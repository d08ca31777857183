"""Live data streams pushed as notifications: shared subscriptions, one serialization per message, per-stream ``seq``.

Wire (documented in the README, "Push notifications"): JSON-RPC notification

    {"jsonrpc": "2.0", "method": "notifications/tradingmcp/stream",
     "params": {"stream": "<stream key>", "seq": <int, +1 per message of that stream>, "data": {...}}}

A stream key is ``kind:exchange:SYMBOL[:arg]`` (e.g. ``trades:sim:BTCUSDT``, ``book:binance:ETHUSDT:10``) or
``kind:exchange`` (``orders:binance``), matching :data:`STREAM_KEY_PATTERN` as a whole. ``seq`` counts
messages published on the stream; a client that was behind sees a jump (its queue conflated older messages: latest wins).
The first subscriber of a key starts its source (``StreamSource.start``); the last one leaving stops it. A key of an
unknown kind is refused with -32602 that repeats the key bounded (``jsonrpc.quote``/``short``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote, short
from tradingmcp.transport.mcpnames import STREAM

STREAM_METHOD = STREAM
"""The stream notification method (:data:`tradingmcp.transport.mcpnames.STREAM`)."""
STREAM_KEY_PATTERN = "^[a-z][a-z0-9_]*(:[A-Za-z0-9._-]+){1,3}$"
"""The grammar of a stream key: a lower-case kind, then one to three ``:``-separated parts (exchange, SYMBOL, arg)
of letters, digits, ``.``, ``_``, ``-``; nothing else (no whitespace, no control character, no trailing newline)."""
_STREAM_KEY_RE = re.compile(STREAM_KEY_PATTERN)
log = logging.getLogger("tradingmcp.server.streams")


class Subscriber(Protocol):
    """What the hub needs from a connection: a conflating send (market data) and a lossless one (order events)."""

    def send(self, data: bytes) -> None: ...

    def send_conflatable(self, key: Any, data: bytes) -> None: ...


StartFn = Callable[[str], Awaitable[None] | None]
StopFn = Callable[[str], Awaitable[None] | None]


@dataclass(slots=True)
class StreamSource:
    """How to start/stop the upstream feeding streams of one ``kind`` (e.g. an exchange subscription).

    ``kind`` is either a bare kind (``trades``: any key ``trades:...``) or ``kind:exchange`` (``trades:binance``: keys
    ``trades:binance:...``), so several exchanges can each feed their own streams of the same kind.
    """

    kind: str
    description: str
    start: StartFn
    stop: StopFn
    params_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Stream:
    key: str
    subscribers: set[Any] = field(default_factory=set)
    seq: int = 0
    published: int = 0


class StreamHub:
    """Shared subscriptions: many connections, one upstream per stream key, one serialization per publish."""

    def __init__(self) -> None:
        self.sources: dict[str, StreamSource] = {}
        self._streams: dict[str, _Stream] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def add_source(self, source: StreamSource) -> None:
        self.sources[source.kind] = source

    def kinds(self) -> list[str]:
        """Registered source kinds (``trades:binance``, ``orders:mexc``...)."""
        return sorted(self.sources)

    def subscriber_count(self, key: str) -> int:
        s = self._streams.get(key)
        return len(s.subscribers) if s else 0

    def is_subscribed(self, sub: Subscriber, key: str) -> bool:
        s = self._streams.get(key)
        return s is not None and sub in s.subscribers

    def active(self) -> list[str]:
        return sorted(self._streams)

    def _source_for(self, key: str) -> StreamSource:
        parts = key.split(":", 2)
        source = self.sources.get(":".join(parts[:2])) if len(parts) > 1 else None
        kind = parts[0]
        if source is None:
            source = self.sources.get(kind)
        if source is None:
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"unknown stream kind {quote(kind)}; available: {self.kinds()}",
                {"stream": short(key)},
            )
        return source

    async def subscribe(self, sub: Subscriber, key: str) -> bool:
        """Add ``sub`` to ``key``; starts the source for the first subscriber. Returns False if already subscribed.

        Raises:
            JsonRpcError: a key outside :data:`STREAM_KEY_PATTERN` or of an unknown stream kind (-32602), or the
                source refused (its error) or failed to start (its message, -32603).
        """
        if not _STREAM_KEY_RE.fullmatch(key):
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"Invalid params: arguments.stream: {key!r} is not a stream key: use kind:exchange[:SYMBOL[:arg]] "
                "(letters, digits, '.', '_', '-')",
                {"stream": key, "path": "stream"},
            )
        source = self._source_for(key)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(key)
            try:
                await _maybe_await(source.start(key))
            except JsonRpcError:
                del self._streams[key]
                raise
            except Exception as exc:
                del self._streams[key]
                raise JsonRpcError(ErrorCode.INTERNAL_ERROR, f"could not start stream {key}: {exc}") from exc
        if sub in stream.subscribers:
            return False
        stream.subscribers.add(sub)
        return True

    async def unsubscribe(self, sub: Subscriber, key: str) -> bool:
        """Remove ``sub`` from ``key``; stops the source when it was the last. Returns False if it was not subscribed."""
        stream = self._streams.get(key)
        if stream is None or sub not in stream.subscribers:
            return False
        stream.subscribers.discard(sub)
        if not stream.subscribers:
            del self._streams[key]
            await _maybe_await(self._source_for(key).stop(key))
        return True

    def release(self, sub: Subscriber) -> None:
        """A connection is gone: drop it everywhere (sources with no subscriber left stop in the background)."""
        for key in [k for k, s in self._streams.items() if sub in s.subscribers]:
            task = asyncio.get_running_loop().create_task(self.unsubscribe(sub, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def publish(self, key: str, data: Any, *, conflate: bool = True) -> int:
        """Push ``data`` (JSON-serializable) to every subscriber of ``key``; serialized once. Returns deliveries.

        ``conflate`` True (market data): a subscriber that is behind keeps only the latest message of ``key``.
        False (order and balance events): every message is delivered, in order.
        """
        stream = self._streams.get(key)
        if stream is None:
            return 0
        stream.seq += 1
        payload = orjson.dumps(
            {"jsonrpc": "2.0", "method": STREAM_METHOD, "params": {"stream": key, "seq": stream.seq, "data": data}}
        )
        if conflate:
            for sub in stream.subscribers:
                sub.send_conflatable(key, payload)
        else:
            for sub in stream.subscribers:
                sub.send(payload)
        stream.published += 1
        return len(stream.subscribers)


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
