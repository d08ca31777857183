"""A CPU share for the spinning loop: the low-latency mode raises this process's scheduling weight while it is on.

A busy-polling loop never sleeps, so to the kernel's fair scheduler (EEVDF since Linux 6.6) it is a CPU hog like any
other: when another task is runnable on its CPU the two take turns of a base slice each (``sched_base_slice_ns``,
3 ms by default), and a frame that lands while the other task holds the core waits out its slice, or several.
A lower nice value (more
weight: nice -10 is about 9× nice 0, sched(7)) gives the loop the core back sooner and more of the time; the machine
stays fair to everything else at the same weight, and nothing is starved (unlike a real-time policy, whose spinning
thread would keep its core from the kernel's own threads).

Nice values are per thread on Linux, and a thread inherits its creator's, so :func:`claim` sets every thread of the
process (the event loop's, the intent journal's writer) and what they start later. With autogroup
(``/proc/sys/kernel/sched_autogroup_enabled``; sched(7), "The autogroup feature") tasks of different sessions first
compete as groups, and only the group's nice value (``/proc/self/autogroup``) weighs against another session's load;
:func:`claim` sets it too, for the process's whole session (a server and the bot started from one shell share it).

Lowering a nice value needs ``CAP_SYS_NICE`` (root) or ``RLIMIT_NICE``; without either the claim changes nothing and
says why (:attr:`Claim.refused`). :meth:`Claim.release` puts back what it changed: the threads that existed at the
claim and the autogroup. Threads started while the claim was on keep the claimed value, and a process killed before
its release leaves its session's autogroup at it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

NICE = -10
"""The nice value claimed (about 9× the weight of a nice-0 task, sched(7))."""

AUTOGROUP = Path("/proc/self/autogroup")
"""This session's autogroup and its nice value (``/autogroup-<id> nice <n>``), where the kernel has autogroup."""

TASKS = Path("/proc/self/task")
"""This process's threads."""


def _autogroup_nice(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


class Claim:
    """What :func:`claim` changed: :attr:`threads` (thread id → its nice value before), :attr:`autogroup` (the
    session group's nice value before, None when unchanged), :attr:`refused` (why something could not be changed:
    empty when all of it was), :attr:`applied` (some thread or the autogroup was set to :attr:`nice`; stays True
    after :meth:`release`)."""

    def __init__(self, nice: int, autogroup_path: Path) -> None:
        self.nice = nice
        self.threads: dict[int, int] = {}
        self.autogroup: int | None = None
        self.refused: list[str] = []
        self.applied = False
        self._autogroup_path = autogroup_path

    def release(self) -> None:
        """Put back every nice value this claim lowered (idempotent); a thread that has ended is skipped, and the
        autogroup only when it still has the claimed value (another process of the session may have changed it)."""
        for tid, before in self.threads.items():
            with contextlib.suppress(OSError):  # the thread has ended
                os.setpriority(os.PRIO_PROCESS, tid, before)
        self.threads = {}
        if self.autogroup is not None and _autogroup_nice(self._autogroup_path) == self.nice:
            try:
                self._autogroup_path.write_text(str(self.autogroup))
            except OSError as exc:
                log.warning("could not put the session's autogroup back to nice %d: %s", self.autogroup, exc)
        self.autogroup = None


def claim(nice: int = NICE, tasks: Path = TASKS, autogroup: Path = AUTOGROUP) -> Claim:
    """Run every thread of this process, and its session's autogroup where the kernel has one, at ``nice`` (only
    lowered: a thread already at ``nice`` or below keeps its value).

    Args:
        nice: the nice value, -20 (most weight) to 19.
        tasks: the process's thread folder (a test seam).
        autogroup: the autogroup file (a test seam).

    Returns:
        the :class:`Claim`; what the OS refused (no ``CAP_SYS_NICE``) is in its ``refused`` and logged once, never
        raised: the low-latency mode runs on without it.

    Raises:
        ValueError: ``nice`` outside -20..19.
    """
    if not -20 <= nice <= 19:
        raise ValueError(f"nice must be within -20..19, got {nice}")
    out = Claim(nice, autogroup)
    try:
        tids = sorted(int(t) for t in os.listdir(tasks))
    except (OSError, ValueError):
        tids = [0]  # no thread list (not Linux): the calling thread only
    for tid in tids:
        try:
            before = os.getpriority(os.PRIO_PROCESS, tid)
            if before > nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                out.threads[tid] = before
        except PermissionError as exc:
            out.refused.append(f"thread {tid}: {exc.strerror}")
            break  # the same for every thread
        except OSError:  # the thread ended since the listing
            continue
    group_before = _autogroup_nice(autogroup)
    if group_before is not None and group_before > nice:
        try:
            autogroup.write_text(str(nice))
            out.autogroup = group_before
        except OSError as exc:
            out.refused.append(f"autogroup: {exc.strerror}")
    out.applied = bool(out.threads) or out.autogroup is not None
    if out.refused:
        log.warning("low-latency mode: could not raise the scheduling priority to nice %d (%s); running without it",
                    nice, "; ".join(out.refused))  # fmt: skip
    return out
