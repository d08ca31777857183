"""Busy polling: an event loop that never sleeps in ``epoll_wait``, so a frame is read the moment it lands.

An idle asyncio loop blocks in ``epoll_wait`` until a socket is readable. On a virtual machine the wake-up that ends
that wait (the host delivering an interrupt to a halted vCPU, the guest scheduler switching the process back in, cold
caches) is paid on every hop, and a tick-to-trade path crosses about ten such hops (``tradingmcp bench coldpath``
measures it; figures in ``benchmarks/README.md``). Busy polling trades a core for that latency, as kernel ``SO_BUSY_POLL``, DPDK poll-mode drivers and
Onload spinning do: with a callback always ready, each loop iteration polls I/O with a zero timeout instead of
blocking.

It works on any asyncio loop (uvloop: the ready callback keeps libuv's idle handle active, so ``uv_run`` polls with
timeout 0). Costs one CPU at 100 % for as long as it is on; timers and I/O callbacks run as before.

The spin also runs *warmers* every ``warm_every_s``: short, side-effect-free callables that re-run a hot path so that
its code and objects stay in the CPU caches between events (the server's order path, :mod:`tradingmcp.perf.orderpath`;
the bot's decision, :mod:`tradingmcp.perf.decision`; attached by :func:`tradingmcp.perf.attach_server` and
:func:`tradingmcp.perf.attach_bot`). A warmer that raises is logged once and dropped.

A *hold* pauses the spin: while it returns True the loop sleeps in its poller again (rechecking every ``hold_check_s``;
I/O and the other threads' ``call_soon_threadsafe`` wake it as usual). It is for a thread of the same process that the
loop is waiting for, e.g. the intent journal's writer committing an order's intent: a spinning loop holds the GIL and
a core, and that thread would wait for both (for the GIL up to the interpreter's switch interval) before it could
finish; or for a core that other tasks want (:mod:`tradingmcp.perf.contention`), where a sleeping loop is woken sooner
than a spinning one gets its turn back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from types import TracebackType

log = logging.getLogger(__name__)


class BusyPoll:
    """Keeps ``loop`` polling without blocking while started.

    One self-rescheduling ``call_soon`` callback; :attr:`spins` counts the loop iterations it ran (a test and a
    diagnostic: about one per µs of otherwise idle time on this machine class), :attr:`held` the checks that found
    the spin held.

    Args:
        loop: the loop to keep polling.
        warmers: side-effect-free callables run every ``warm_every_s`` seconds from the spin (never from a blocked
            loop: they only run while busy-polling).
        warm_every_s: the warming period (s); 1 ms keeps a path warm at a few % of the spinning core.
        hold: while it returns True the loop does not spin (see the module docstring); checked every iteration, so
            it must be cheap. None: never held.
        hold_check_s: how often a held loop checks ``hold`` again (s).

    Usage::

        with BusyPoll(asyncio.get_running_loop()):
            await serve_forever()
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        warmers: Iterable[Callable[[], object]] = (),
        warm_every_s: float = 0.001,
        hold: Callable[[], bool] | None = None,
        hold_check_s: float = 0.001,
    ) -> None:
        self.loop = loop
        self.spins = 0
        self.held = 0
        self.hold = hold
        self.hold_check_s = hold_check_s
        self.warm_runs = 0
        self.warmers = list(warmers)
        self._warm_every_ns = int(warm_every_s * 1e9)
        self._next_warm_ns = 0
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
        if self.hold is not None and self.hold():
            self.held += 1
            self._handle = self.loop.call_later(self.hold_check_s, self._spin)
            return
        self.spins += 1
        self._handle = self.loop.call_soon(self._spin)
        if self.warmers:
            now = time.monotonic_ns()
            if now >= self._next_warm_ns:
                self._next_warm_ns = now + self._warm_every_ns
                self._warm()

    def _warm(self) -> None:
        self.warm_runs += 1
        for warmer in list(self.warmers):
            try:
                warmer()
            except Exception:
                log.exception("busy-poll warmer %r failed; dropped", warmer)
                self.warmers.remove(warmer)

    def __enter__(self) -> BusyPoll:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
