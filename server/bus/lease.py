"""At most one active trader per account: a lease in a NATS KV bucket whose entries expire after ``ttl_s``.

The holder renews its key every third of the TTL with a compare-and-set on the revision it wrote; a renewal that
fails (another holder, or the key expired while this process stalled) ends its tenure at once. A standby tries to
create the key (which only succeeds when it does not exist) every third of the TTL, so a holder that died is replaced
within about ``ttl_s`` plus a third of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats
from nats.js.errors import BadRequestError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from tradingmcp.server.bus.config import LEASE_BUCKET
from tradingmcp.server.bus.conn import BusLink

log = logging.getLogger("tradingmcp.server.bus.lease")

Hook = Callable[[], Awaitable[None]]


async def lease_bucket(link: BusLink, ttl_s: float) -> KeyValue:
    """The lease bucket (created with ``ttl_s`` when absent)."""
    try:
        return await link.js.create_key_value(bucket=LEASE_BUCKET, ttl=ttl_s, history=1)
    except BadRequestError:
        return await link.js.key_value(LEASE_BUCKET)


class Lease:
    """``Lease(link, key, holder, ttl_s, on_gain, on_lose)``; ``start()`` runs it until ``close()``. ``held`` says
    whether this process holds it now; ``on_gain``/``on_lose`` run on each change."""

    def __init__(self, link: BusLink, key: str, holder: str, ttl_s: float, on_gain: Hook, on_lose: Hook) -> None:
        self.link = link
        self.key = key
        self.holder = holder.encode()
        self.ttl_s = ttl_s
        self.on_gain = on_gain
        self.on_lose = on_lose
        self.held = False
        self.revision = 0
        self.gained = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        kv = await lease_bucket(self.link, self.ttl_s)
        step = self.ttl_s / 3
        while True:
            try:
                if self.held:
                    self.revision = await kv.update(self.key, self.holder, last=self.revision)
                else:
                    self.revision = await kv.create(self.key, self.holder)
                    self.held = True
                    self.gained += 1
                    log.warning("trader lease %s: taken by %s", self.key, self.holder.decode())
                    await self.on_gain()
            except (KeyWrongLastSequenceError, NotFoundError, BadRequestError):
                if self.held:
                    await self._lose("renewal refused")
            except (nats.errors.Error, TimeoutError, OSError) as exc:
                if self.held and not self.link.connected:
                    # the bus is down: the lease may expire under us, so stop placing until it is renewed
                    await self._lose(f"bus unreachable ({type(exc).__name__})")
            await asyncio.sleep(step)

    async def _lose(self, why: str) -> None:
        self.held = False
        log.warning("trader lease %s: lost by %s (%s)", self.key, self.holder.decode(), why)
        await self.on_lose()

    async def close(self) -> None:
        """Stop renewing and give the lease up (a standby takes it at once rather than after the TTL)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.held:
            self.held = False
            with contextlib.suppress(Exception):
                kv = await self.link.js.key_value(LEASE_BUCKET)
                await kv.delete(self.key, last=self.revision)
            await self.on_lose()
