"""Publishing stream messages on the bus: the one writer of each key, with ``seq`` contiguous per key.

:class:`PublishingHub` is a :class:`~tradingmcp.server.mcp.streams.StreamHub` whose every publish goes to the bus
instead of local connections, so the existing market bridge and account streams feed the bus unchanged: a key is
published while something holds it subscribed (:meth:`PublishingHub.hold`). ``seq`` continues from the last message
the bus holds for the key's subject, so a restarted publisher never reuses a number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from typing import Any

import nats
from nats.js.errors import NotFoundError

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.subjects import StreamMessage, decode, stream_name_of, subject_of
from tradingmcp.server.mcp.streams import StreamHub

log = logging.getLogger("tradingmcp.server.bus")


class _Holder:
    """The subscriber that keeps a key published (pushes go to the bus, never here)."""

    def send(self, data: bytes) -> None:
        pass

    def send_conflatable(self, key: Any, data: bytes) -> None:
        pass


class BusPublisher:
    """Writes stream messages in publish order from one task; ``published``/``failed`` count them."""

    def __init__(self, link: BusLink) -> None:
        self.link = link
        self.seqs: dict[str, int] = {}
        self.epochs: dict[str, str] = {}
        self.subjects: dict[str, str] = {}
        self.published = 0
        self.failed = 0
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def prime(self, key: str) -> None:
        """Learn the last ``seq`` the bus holds for ``key`` (0 when none), once per key.

        Raises:
            ValueError: ``key`` cannot be a subject.
        """
        if key in self.seqs:
            return
        subject = subject_of(key)
        last, epoch = 0, ""
        try:
            msg = await self.link.js.get_last_msg(stream_name_of(key), subject)
            tail = decode(msg.data or b"", key)
            last, epoch = tail.seq, tail.epoch
        except NotFoundError:
            pass
        except ValueError as exc:  # a foreign message holds the subject's tail: start a numbering of our own
            self.link.drop("md", subject, str(exc))
        if key not in self.seqs:
            self.seqs[key] = last
            self.epochs[key] = epoch or f"bus-{secrets.token_hex(6)}"
        self.subjects[key] = subject

    def publish(self, key: str, data: Any, lossless: bool) -> None:
        """Queue the next message of a primed ``key`` (synchronous; written in order by the pump)."""
        seq = self.seqs[key] + 1
        self.seqs[key] = seq
        self._queue.append((self.subjects[key], StreamMessage(key, seq, self.epochs[key], data, lossless).encode()))
        self._wake.set()

    async def _pump(self) -> None:
        nc = self.link.nc
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                subject, body = self._queue.popleft()
                try:
                    await nc.publish(subject, body)
                    self.published += 1
                except (nats.errors.OutboundBufferLimitError, nats.errors.ConnectionClosedError) as exc:
                    self.failed += 1
                    if self.failed == 1 or self.failed % 1000 == 0:
                        log.warning("bus publish failed (%s): %d messages lost so far", type(exc).__name__, self.failed)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class PublishingHub(StreamHub):
    """A stream hub that publishes on the bus (see the module docstring)."""

    def __init__(self, publisher: BusPublisher) -> None:
        super().__init__()
        self.publisher = publisher
        self._holder = _Holder()

    async def hold(self, key: str) -> bool:
        """Keep ``key`` published from now on (starts its source). Returns False when it already was.

        Raises:
            JsonRpcError: the source refused the key (-32602) or failed to start.
            ValueError: ``key`` cannot be a subject.
        """
        if self.is_subscribed(self._holder, key):
            return False
        await self.publisher.prime(key)
        return (await self.subscribe(self._holder, key)).new

    async def release_hold(self, key: str) -> None:
        """Stop publishing ``key`` (its source stops when nothing else holds it)."""
        await self.unsubscribe(self._holder, key)
        self.publisher.seqs.pop(key, None)

    def publish(self, key: str, data: Any, *, conflate: bool = True) -> int:
        """Queue ``data`` on the bus as the next message of ``key`` (numbered by the publisher)."""
        if key not in self.publisher.seqs or not self.subscriber_count(key):
            return 0
        self.publisher.publish(key, data, lossless=not conflate)
        return 1
