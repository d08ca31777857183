"""Server-internal subscribers of the shared market streams (the same :class:`StreamHub` keys clients subscribe to).

A resource or a ``wait_for_event`` call needs market data without a client connection of its own: an
:class:`InternalSubscriber` takes the hub's already-serialized notification and hands its ``(stream, data)`` to a
callback, so one exchange subscription still feeds everybody. A :class:`Feed` is such a subscription started and
stopped from synchronous code (a resource ``watch``, a ``resources/read``): operations run as tasks, strictly in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

import orjson

from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.transport.jsonrpc import JsonRpcError

log = logging.getLogger("tradingmcp.server.live")
DataFn = Callable[[str, Any], None]
"""``on_data(stream_key, data)``: one published message of a stream (``data`` as decoded JSON)."""


class InternalSubscriber:
    """A :class:`~tradingmcp.server.mcp.streams.Subscriber` inside the server: decodes each message for a callback.

    Market data is conflated for connections; here every message is handled at once (nothing queues), so both
    ``send`` and ``send_conflatable`` deliver immediately.
    """

    __slots__ = ("on_data", "received", "seq")

    def __init__(self, on_data: DataFn) -> None:
        self.on_data = on_data
        self.received = 0
        self.seq = 0  # the stream's ``seq`` of the message being handled (the last one after the callback)

    def send(self, data: bytes) -> None:
        self.received += 1
        params = orjson.loads(data)["params"]
        self.seq = params["seq"]
        self.on_data(params["stream"], params["data"])

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)


class Feed:
    """An internal subscription to ``keys`` kept while wanted: while *watched* (a resource has subscribers) or for
    ``linger_s`` seconds after the last :meth:`touch` (a read), so repeated reads do not churn the exchange stream.

    Attributes:
        active: the subscription is wanted (started or starting).
        error: why the last start failed (e.g. the exchange refused the symbol), None when it did not.
        on_started: called (in the loop) after each successful start, e.g. to prime a cache over REST.
    """

    def __init__(self, hub: StreamHub, keys: tuple[str, ...], on_data: DataFn, linger_s: float = 30.0) -> None:
        self.hub = hub
        self.keys = keys
        self.linger_s = linger_s
        self.subscriber = InternalSubscriber(on_data)
        self.active = False
        self.watched = False
        self.error: str | None = None
        self.on_started: Callable[[], Coroutine[Any, Any, None]] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._chain: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self) -> None:
        """A resource subscriber arrived: keep the subscription until :meth:`unwatch`."""
        self.watched = True
        self._want()

    def unwatch(self) -> None:
        """The last resource subscriber left (the subscription stays while a read's linger runs)."""
        self.watched = False
        self._maybe_stop()

    def touch(self) -> None:
        """A read: keep (or start) the subscription for another ``linger_s`` seconds."""
        if self._linger is not None:
            self._linger.cancel()
        self._linger = asyncio.get_running_loop().call_later(self.linger_s, self._expire)
        self._want()

    def close(self) -> None:
        """Stop now whatever wants it (server shutdown)."""
        self.watched = False
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self._maybe_stop()

    def _expire(self) -> None:
        self._linger = None
        self._maybe_stop()

    def _want(self) -> None:
        if not self.active:
            self.active = True
            self._enqueue(self._subscribe)

    def _maybe_stop(self) -> None:
        if self.active and not self.watched and self._linger is None:
            self.active = False
            self._enqueue(self._unsubscribe)

    def _enqueue(self, op: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.get_running_loop().create_task(self._after(self._chain, op))
        self._chain = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, prev: asyncio.Task[None] | None, op: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if prev is not None:
            await asyncio.wait([prev])
        try:
            await op()
        except Exception:
            log.exception("internal feed %s failed", self.keys)

    async def _subscribe(self) -> None:
        self.error = None
        for key in self.keys:
            try:
                await self.hub.subscribe(self.subscriber, key)
            except JsonRpcError as exc:
                self.error = exc.message
                log.info("internal feed %s: %s", key, exc.message)
        if self.error is None and self.on_started is not None:
            try:
                await self.on_started()
            except Exception as exc:  # e.g. the exchange does not know the symbol: readers show it
                self.error = str(exc)
                log.info("internal feed %s: %s", self.keys, exc)

    async def _unsubscribe(self) -> None:
        for key in self.keys:
            await self.hub.unsubscribe(self.subscriber, key)
