"""Busy polling: an event loop that never sleeps in ``epoll_wait``, so a frame is read the moment it lands.

An idle asyncio loop blocks in ``epoll_wait`` until a socket is readable. On a virtual machine the wake-up that ends
that wait (the host delivering an interrupt to a halted vCPU, the guest scheduler switching the process back in, cold
caches) costs 40–300 µs per hop, and a tick-to-trade path crosses about ten such hops (measured: ``tradingmcp bench
coldpath``). Busy polling trades a core for that latency, as kernel ``SO_BUSY_POLL``, DPDK poll-mode drivers and
Onload spinning do: with a callback always ready, each loop iteration polls I/O with a zero timeout instead of
blocking.

It works on any asyncio loop (uvloop: the ready callback keeps libuv's idle handle active, so ``uv_run`` polls with
timeout 0). Costs one CPU at 100 % for as long as it is on; timers and I/O callbacks run as before.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class BusyPoll:
    """Keeps ``loop`` polling without blocking while started.

    One self-rescheduling ``call_soon`` callback; :attr:`spins` counts the loop iterations it ran (a test and a
    diagnostic: about one per µs of otherwise idle time on this machine class).

    Usage::

        with BusyPoll(asyncio.get_running_loop()):
            await serve_forever()
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.spins = 0
        self._handle: asyncio.Handle | None = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._handle is not None

    def start(self) -> BusyPoll:
        """Start spinning (idempotent). Returns self."""
        if self._handle is None:
            self._handle = self.loop.call_soon(self._spin)
        return self

    def stop(self) -> None:
        """Stop spinning (idempotent): the loop blocks in its poller again when idle."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _spin(self) -> None:
        self.spins += 1
        self._handle = self.loop.call_soon(self._spin)

    def __enter__(self) -> BusyPoll:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def busy_poll(on: bool) -> BusyPoll | None:
    """A started :class:`BusyPoll` on the running loop when ``on``, else None (for ``--busy-poll`` options)."""
    return BusyPoll(asyncio.get_running_loop()).start() if on else None
