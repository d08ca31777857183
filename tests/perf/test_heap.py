"""The start-up heap frozen out of full collections (:mod:`tradingmcp.perf.heap`): what is alive is set aside, what
comes later is still collected, and thawing gives it back."""

from __future__ import annotations

import gc

from tradingmcp.perf import heap


class Node:
    """A container that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


def test_frozen_objects_are_left_out_and_later_garbage_is_still_collected() -> None:
    kept = cycle()
    frozen = heap.freeze()
    try:
        assert (
            frozen.objects == gc.get_freeze_count() > 0 and frozen.collect_ms >= 0
        )  # (frees by refcount lower it later)
        tracked = {id(o) for o in gc.get_objects()}
        assert id(kept) not in tracked  # a full collection no longer walks it
        tracked_before = len(tracked)
        gc.disable()  # no automatic collection in between: the one below finds every cycle
        try:
            for _ in range(1_000):
                cycle()  # garbage from now on, in cycles only the collector frees
            assert gc.collect() >= 2_000
        finally:
            gc.enable()
        assert len(gc.get_objects()) < tracked_before + 100  # the cycles are gone again
    finally:
        frozen.thaw()
    assert gc.get_freeze_count() == 0 and id(kept) in {id(o) for o in gc.get_objects()}
    frozen.thaw()  # idempotent
    assert gc.get_freeze_count() == 0
