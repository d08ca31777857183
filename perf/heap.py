"""The heap at start-up set aside from the cyclic garbage collector while the low-latency mode is on.

A full (generation 2) collection walks every container object the process holds: in the server or the bot after
start-up, some 100,000 objects (modules, classes, functions, the exchange's rules, the recording's index), a pause of
tens of ms on the loop's thread whenever the collector decides to run one. :func:`freeze` collects once and then moves
every object alive to the permanent generation (:func:`gc.freeze`, https://docs.python.org/3/library/gc.html#gc.freeze),
so later collections walk only what was allocated since. Objects frozen are never collected until :func:`thaw`: a
reference cycle among them that becomes garbage is kept (start-up objects live as long as the process anyway).
"""

from __future__ import annotations

import gc
import time

__all__ = ["Frozen", "freeze"]


class Frozen:
    """What :func:`freeze` set aside: ``objects`` (the permanent generation's size after it) and ``collect_ms`` (the
    full collection it ran first, ms). :meth:`thaw` gives them back to the collector (idempotent)."""

    def __init__(self, objects: int, collect_ms: float) -> None:
        self.objects = objects
        self.collect_ms = collect_ms
        self._thawed = False

    def thaw(self) -> None:
        if not self._thawed:
            self._thawed = True
            gc.unfreeze()


def freeze() -> Frozen:
    """Run a full collection, then freeze every object alive (:mod:`gc`'s permanent generation)."""
    started = time.perf_counter_ns()
    gc.collect()
    collect_ms = (time.perf_counter_ns() - started) / 1e6
    gc.freeze()
    return Frozen(gc.get_freeze_count(), collect_ms)
