"""Where the benchmark's client and servers run: CPU placement of the round-trip processes.

On a small virtual machine the median of a cross-process round trip is bimodal, and the mode is the placement. With the
client and the server on different vCPUs every message wakes a halted vCPU through the hypervisor (~40-80 µs per wake
here); on the same vCPU a message is a context switch (a few µs). Left to the OS scheduler, each process pair lands in
one mode or the other by chance, so ratios between scenarios of one run compared unlike things (a floor 1.4x slower
than the echo it bounds). Each placement pins every scenario alike (``sched_setaffinity``, Linux):

* ``split``: the client on the first allowed CPU, every server on the second (each side owns a core, as deployed);
* ``same``: client and servers on the first allowed CPU (the software path plus two context switches);
* ``spin``: as ``split``, and both ends busy-poll (:mod:`tradingmcp.perf.busypoll`, what ``--busy-poll`` does):
  the client's loop for the whole set, each server's loop while its own scenario is measured (two spinners on one
  CPU would starve each other), so no message waits for a halted vCPU. The official SDK's stdio server is a
  subprocess its client starts; it cannot spin (its client does);
* ``os``: no pinning (the scheduler decides, as before).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

SPLIT = "split"
SAME = "same"
SPIN = "spin"
OS = "os"
PLACEMENTS: tuple[str, ...] = (SPLIT, SAME, SPIN, OS)
TITLES = {
    SPLIT: "client and server on different CPUs",
    SAME: "client and server on the same CPU",
    SPIN: "client and server on different CPUs, both busy-polling",
    OS: "placed by the OS scheduler",
}


def spins(placement: str) -> bool:
    """Whether ``placement`` busy-polls the client's and the measured server's event loops."""
    return placement == SPIN


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity")


def cpus_for(placement: str) -> tuple[set[int] | None, set[int] | None]:
    """``(client CPUs, server CPUs)`` of ``placement``; None leaves a side where the OS puts it.

    Raises:
        ValueError: unknown placement, or ``split`` with fewer than two usable CPUs (or no affinity API).
    """
    if placement == OS:
        return None, None
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r} (one of {', '.join(PLACEMENTS)})")
    if not can_pin():
        raise ValueError(f"placement {placement!r} needs sched_setaffinity (Linux)")
    allowed = sorted(os.sched_getaffinity(0))
    if placement == SAME:
        return {allowed[0]}, {allowed[0]}
    if len(allowed) < 2:
        raise ValueError(f"placement {placement!r} needs two CPUs")
    return {allowed[0]}, {allowed[1]}


def pin(pid: int, cpus: set[int] | None) -> None:
    """Restrict process ``pid`` (0: this one) to ``cpus`` (None: no change)."""
    if cpus is not None:
        os.sched_setaffinity(pid, cpus)


@contextlib.contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run this process on ``cpus`` inside the block (children started inside inherit it), then restore."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
