"""Publishing stream messages on the bus: the one writer of each key, with ``seq`` contiguous per key.

:class:`PublishingHub` is a :class:`~tradingmcp.server.mcp.streams.StreamHub` whose every publish goes to the bus,
so the existing market bridge and account streams feed the bus unchanged: a key is published while something holds it
subscribed (:meth:`PublishingHub.hold`). Subscribers in the same process (the trader's own tools that read a stream)
get each message from the hub as well, in the hub's own numbering. ``seq`` continues from the last message
the bus holds for the key's subject, so a restarted publisher never reuses a number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from typing import Any

import nats
import orjson
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.subjects import StreamMessage, decode, stream_name_of, subject_of
from tradingmcp.server.mcp.streams import StreamHub

log = logging.getLogger("tradingmcp.server.bus")

ACK_RESEND_S = 2.0
"""How long a published message may wait for JetStream's acknowledgement before everything unacknowledged is sent
again (s)."""
MAX_UNACKED = 200_000
"""Most messages kept for sending again; beyond, the oldest are given up (counted in ``failed``)."""


class _Holder:
    """The subscriber that keeps a key published (pushes go to the bus, never here)."""

    def send(self, data: bytes) -> None:
        pass

    def send_conflatable(self, key: Any, data: bytes) -> None:
        pass


class BusPublisher:
    """Writes stream messages in publish order from one task, each acknowledged by JetStream.

    Messages are published with a reply subject (JetStream answers it once the message is stored) and kept until that
    acknowledgement: after the link went down and came back, or when an acknowledgement is overdue
    (:data:`ACK_RESEND_S`), every unacknowledged message is sent again, in order, before anything newer. While the
    link is down nothing is handed to the client, so nothing newer can overtake what is sent again. A message stored
    twice is harmless: a gateway drops a ``seq`` it already has. ``published`` counts acknowledged messages,
    ``resent`` messages sent again, ``failed`` messages given up (more than :data:`MAX_UNACKED` waiting).
    """

    def __init__(self, link: BusLink) -> None:
        self.link = link
        self.seqs: dict[str, int] = {}
        self.epochs: dict[str, str] = {}
        self.subjects: dict[str, str] = {}
        self.published = 0
        self.resent = 0
        self.failed = 0
        self._queue: deque[tuple[str, bytes]] = deque()
        self._unacked: dict[int, tuple[str, bytes, float]] = {}  # reply number -> (subject, body, sent at), in order
        self._n = 0
        self._acks = f"_TMCP_ACK.{secrets.token_hex(8)}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ack_sub: Any = None

    def start(self) -> None:
        """Start writing (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())

    @property
    def backlog(self) -> int:
        """Messages queued or sent but not yet acknowledged."""
        return len(self._queue) + len(self._unacked)

    async def _on_ack(self, msg: Msg) -> None:
        try:
            n = int(msg.subject.rsplit(".", 1)[1])
            doc = orjson.loads(msg.data) if msg.data else None
        except (ValueError, orjson.JSONDecodeError):
            return
        if isinstance(doc, dict) and "seq" in doc and "error" not in doc and self._unacked.pop(n, None) is not None:
            self.published += 1

    async def _send(self, subject: str, body: bytes) -> None:
        self._n += 1
        n = self._n
        self._unacked[n] = (subject, body, time.monotonic())
        if len(self._unacked) > MAX_UNACKED:
            del self._unacked[next(iter(self._unacked))]
            self.failed += 1
            if self.failed == 1 or self.failed % 1000 == 0:
                log.warning("bus publish: %d messages given up unacknowledged so far", self.failed)
        await self.link.nc.publish(subject, body, reply=f"{self._acks}.{n}")

    async def _resend(self) -> None:
        pending = list(self._unacked.values())
        self._unacked.clear()
        for subject, body, _ in pending:
            self.resent += 1
            await self._send(subject, body)

    async def _pump(self) -> None:
        link = self.link
        self._ack_sub = await link.nc.subscribe(f"{self._acks}.*", cb=self._on_ack)
        seen_drops = link.disconnects
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ACK_RESEND_S / 2)
            self._wake.clear()
            try:
                if not link.connected:
                    await link.reconnected.wait()
                if link.disconnects != seen_drops:  # the bus came back: its streams first, then what was not stored
                    seen_drops = link.disconnects
                    with contextlib.suppress(nats.errors.Error, TimeoutError):
                        await link.ensure_streams()
                    await self._resend()
                elif self._unacked and time.monotonic() - next(iter(self._unacked.values()))[2] > ACK_RESEND_S:
                    await self._resend()
                while self._queue and link.connected:
                    subject, body = self._queue.popleft()
                    await self._send(subject, body)
            except (nats.errors.Error, OSError) as exc:  # the link dropped under us: the message stays unacknowledged
                log.warning("bus publish interrupted (%s); resending once the bus is back", type(exc).__name__)

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

    async def close(self) -> None:
        if self._ack_sub is not None:
            with contextlib.suppress(Exception):
                await self._ack_sub.unsubscribe()
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
        """Queue ``data`` on the bus as the next message of ``key`` (numbered by the publisher) while it is held, and
        deliver it in this process to the subscribers other than the hold (the trader's own tools that read a stream:
        ``wait_for_event``, the live resources), numbered by this hub. Returns deliveries (the bus counts one)."""
        count = self.subscriber_count(key)
        if not count:
            return 0
        sent = 0
        held = key in self.publisher.seqs and self.is_subscribed(self._holder, key)
        if key in self.publisher.seqs:
            self.publisher.publish(key, data, lossless=not conflate)
            sent = 1
        if count > held:
            sent += super().publish(key, data, conflate=conflate) - held
        return sent
