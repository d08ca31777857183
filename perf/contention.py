"""When to stop spinning: the spinning thread's own run-queue time says whether it owns its core.

Busy polling pays off only while the spinning thread has a core to itself. When other tasks want the same core, the
fair scheduler time-slices them against the spinner, which is always runnable: a frame that lands while another task
holds the core waits out that task's slice (``sched_base_slice_ns``, 3 ms by default), often several. A loop that
sleeps in ``epoll_wait`` instead is woken by the frame and, with the weight :mod:`.priority` claims, preempts the
other task at once (EEVDF places a waking task with lag ahead), so under contention sleeping has the shorter tail.

:class:`Contention` is a :class:`~.busypoll.BusyPoll` hold: every ``window_s`` it reads the calling thread's run and
run-queue times (``/proc/thread-self/schedstat``, kernel ``Documentation/scheduler/sched-stats.rst``); a window in which
the thread spent more than ``max_wait_share`` of its runnable time waiting for a CPU holds the spin for ``back_off_s``,
doubled after each held window that ends in contention again (up to ``max_back_off_s``), and then spins one window to
look again. Where the file cannot be read it never holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

SCHEDSTAT = Path("/proc/thread-self/schedstat")
"""The calling thread's ``run_ns wait_ns timeslices``."""


class Contention:
    """A hold for :class:`~.busypoll.BusyPoll`: True while the spinning thread has recently been losing its core.

    Args:
        window_s: how long one look lasts (s): the run-queue share is measured over it.
        max_wait_share: the share of runnable time spent waiting for a CPU above which the core is contended (0..1).
        back_off_s: the first hold after a contended window (s).
        max_back_off_s: the longest hold; each contended look after a hold doubles it up to this (s).
        path: the thread's schedstat file (a test seam); read on the thread that calls the hold.
        clock: monotonic nanoseconds (a test seam).

    Attributes:
        looks: windows measured; ``contended``: of these, the ones over ``max_wait_share``; ``holding``: True while
        the spin is held.

    Raises:
        ValueError: from the constructor, a share outside 0..1 or a non-positive period.
    """

    def __init__(
        self,
        window_s: float = 0.05,
        max_wait_share: float = 0.05,
        back_off_s: float = 0.2,
        max_back_off_s: float = 3.2,
        path: Path = SCHEDSTAT,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not 0.0 <= max_wait_share <= 1.0:
            raise ValueError(f"max_wait_share must be within 0..1, got {max_wait_share}")
        if window_s <= 0 or back_off_s <= 0 or max_back_off_s < back_off_s:
            raise ValueError("window_s and back_off_s must be > 0 and max_back_off_s >= back_off_s")
        self.window_ns = int(window_s * 1e9)
        self.max_wait_share = max_wait_share
        self.back_off_ns = int(back_off_s * 1e9)
        self.max_back_off_ns = int(max_back_off_s * 1e9)
        self.path = path
        self._clock = clock
        self.looks = 0
        self.contended = 0
        self.holding = False
        self._hold_ns = self.back_off_ns
        self._until = 0
        self._start: tuple[int, int] | None = None

    def _read(self) -> tuple[int, int] | None:
        try:
            run_ns, wait_ns = (int(x) for x in self.path.read_text().split()[:2])
        except (OSError, ValueError):
            return None
        return run_ns, wait_ns

    def __call__(self) -> bool:
        now = self._clock()
        if now < self._until:
            return self.holding
        if self.holding:  # the hold is over: spin for one window and look again
            self.holding = False
            self._start = self._read()
            self._until = now + self.window_ns
            return False
        start, self._start = self._start, self._read()
        self._until = now + self.window_ns
        if start is None or self._start is None:
            return False
        self.looks += 1
        run = self._start[0] - start[0]
        wait = self._start[1] - start[1]
        if run + wait > 0 and wait > self.max_wait_share * (run + wait):
            self.contended += 1
            self.holding = True
            self._until = now + self._hold_ns
            self._hold_ns = min(self._hold_ns * 2, self.max_back_off_ns)
            return True
        self._hold_ns = self.back_off_ns
        return False
