"""How long a process waited for a CPU: the scheduler's own per-thread counters, read before and after a measurement.

A latency figure of a process that was runnable but not running (another task held its CPU) measures the machine, not
the path. Linux counts, per thread, the time spent running and the time spent runnable on a run queue without a CPU
(``/proc/<pid>/task/<tid>/schedstat``: ``run_ns wait_ns timeslices``, kernel ``Documentation/scheduler/sched-stats.rst``)
and the switches the thread did not ask for (``nonvoluntary_ctxt_switches`` in ``status``, proc(5)). :func:`snapshot`
reads them for every thread of this process; :func:`window` turns two snapshots into the totals of the window between
them. Where the files do not exist (not Linux, no ``CONFIG_SCHEDSTATS``/``CONFIG_SCHED_INFO``) a snapshot is empty and
a window says ``available: False``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TASKS = Path("/proc/self/task")
"""Where this process's threads are listed."""


@dataclass(frozen=True)
class ThreadSched:
    """One thread's counters: ``name`` (its Python name in this process, else its ``comm``), ``run_ns`` on a CPU, ``wait_ns`` runnable without one,
    ``timeslices`` run, ``involuntary`` context switches (preempted while it still had work)."""

    name: str
    run_ns: int
    wait_ns: int
    timeslices: int
    involuntary: int


def _read(task: Path, name: str | None) -> ThreadSched | None:
    try:
        run_ns, wait_ns, slices = (int(x) for x in (task / "schedstat").read_text().split()[:3])
        status = (task / "status").read_text()
        name = name or (task / "comm").read_text().strip()
    except (OSError, ValueError):  # the thread ended between the listing and the read, or no schedstat
        return None
    involuntary = 0
    for line in status.splitlines():
        if line.startswith("nonvoluntary_ctxt_switches:"):
            involuntary = int(line.split()[1])
    return ThreadSched(name, run_ns, wait_ns, slices, involuntary)


def snapshot(tasks: Path = TASKS) -> dict[int, ThreadSched]:
    """Every thread of this process (or of the process whose ``task`` folder ``tasks`` is) by thread id; empty where
    the counters cannot be read."""
    try:
        tids = [int(t) for t in os.listdir(tasks)]
    except (OSError, ValueError):
        return {}
    names = {t.native_id: t.name for t in threading.enumerate()} if tasks == TASKS else {}
    out = {}
    for tid in tids:
        got = _read(tasks / str(tid), names.get(tid))
        if got is not None:
            out[tid] = got
    return out


def window(before: dict[int, ThreadSched], after: dict[int, ThreadSched], wall_ns: int) -> dict[str, Any]:
    """The counters' growth between two snapshots of one process, over ``wall_ns`` of wall time.

    Returns:
        ``{"available", "wall_ms", "cpu_ms", "wait_ms", "wait_share", "timeslices", "involuntary", "threads"}``:
        ``cpu_ms`` and ``wait_ms`` summed over the threads alive at both snapshots, ``wait_share`` = wait / (cpu +
        wait) (the part of its runnable time the process spent without a CPU), ``threads`` = the same per thread
        (``{"tid", "name", "cpu_ms", "wait_ms", "timeslices", "involuntary"}``), busiest first.
    """
    if not before or not after:
        return {"available": False}
    threads: list[dict[str, Any]] = []
    for tid, a in after.items():
        b = before.get(tid)
        if b is None:
            continue
        threads.append(
            {
                "tid": tid,
                "name": a.name,
                "cpu_ms": round((a.run_ns - b.run_ns) / 1e6, 1),
                "wait_ms": round((a.wait_ns - b.wait_ns) / 1e6, 1),
                "timeslices": a.timeslices - b.timeslices,
                "involuntary": a.involuntary - b.involuntary,
            }
        )
    threads.sort(key=lambda t: -(t["cpu_ms"] + t["wait_ms"]))
    cpu = sum(t["cpu_ms"] for t in threads)
    wait = sum(t["wait_ms"] for t in threads)
    return {
        "available": True,
        "wall_ms": round(wall_ns / 1e6, 1),
        "cpu_ms": round(cpu, 1),
        "wait_ms": round(wait, 1),
        "wait_share": round(wait / (cpu + wait), 3) if cpu + wait else 0.0,
        "timeslices": sum(t["timeslices"] for t in threads),
        "involuntary": sum(t["involuntary"] for t in threads),
        "threads": threads,
    }


def load_average() -> tuple[float, float, float] | None:
    """The machine's 1, 5 and 15 minute load averages (None where unknown)."""
    try:
        return os.getloadavg()
    except OSError:
        return None
