"""Spinning only while the core is the loop's own: a thread that keeps waiting for its CPU holds the spin, backs off
longer each time the core is still contended, spins again once it is free, and never holds where the counters
cannot be read. Driven through a real schedstat-format file, and once by real CPU hogs pinned to the loop's core."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tradingmcp.perf.busypoll import BusyPoll
from tradingmcp.perf.contention import Contention

MS = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


def _stat(path: Path, run_ms: int, wait_ms: int) -> None:
    path.write_text(f"{run_ms * MS} {wait_ms * MS} 1\n")


def test_a_contended_window_holds_and_backs_off_longer_until_the_core_is_free(tmp_path: Path) -> None:
    stat, clock = tmp_path / "schedstat", Clock()
    _stat(stat, 0, 0)
    hold = Contention(window_s=0.05, max_wait_share=0.05, back_off_s=0.2, max_back_off_s=0.4, path=stat, clock=clock)
    assert hold() is False  # the first look starts
    clock.ns, _ = 50 * MS, _stat(stat, 48, 2)  # 2 of 50 ms waiting: 4 %, the core is the thread's
    assert hold() is False and hold.looks == 1 and hold.contended == 0
    clock.ns, _ = 100 * MS, _stat(stat, 88, 12)  # 10 of 50 ms: contended
    assert hold() is True and hold.holding and hold.contended == 1
    clock.ns = 299 * MS
    assert hold() is True  # held for the whole first back-off (0.2 s)
    clock.ns = 300 * MS
    assert hold() is False  # then one window of spinning, to look again
    clock.ns, _ = 350 * MS, _stat(stat, 108, 42)  # still contended
    assert hold() is True
    clock.ns = 749 * MS
    assert hold() is True  # the back-off doubled (0.4 s, its maximum)
    clock.ns = 750 * MS
    assert hold() is False
    clock.ns, _ = 800 * MS, _stat(stat, 158, 42)  # free again: spins on
    assert hold() is False and not hold.holding and hold.looks == 4 and hold.contended == 2
    clock.ns, _ = 850 * MS, _stat(stat, 198, 52)  # contended once more: back to the first back-off
    assert hold() is True
    clock.ns = 1049 * MS
    assert hold() is True
    clock.ns = 1050 * MS
    assert hold() is False


def test_unreadable_counters_never_hold(tmp_path: Path) -> None:
    clock = Clock()
    hold = Contention(path=tmp_path / "missing", clock=clock)
    for step in range(5):
        clock.ns = step * 100 * MS
        assert hold() is False
    assert hold.looks == 0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match=r"max_wait_share must be within 0\.\.1, got 1\.5"):
        Contention(max_wait_share=1.5)
    with pytest.raises(ValueError, match="back_off_s must be > 0"):
        Contention(back_off_s=0.0)


@pytest.mark.skipif(not Path("/proc/thread-self/schedstat").exists(), reason="needs Linux schedstat")
async def test_cpu_hogs_on_the_loops_core_hold_the_spin() -> None:
    """Two busy processes pinned to the loop's core: the loop waits for its CPU most of the time, so the spin is held
    (the loop sleeps in its poller and is woken by I/O and its timers instead)."""
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})  # this thread (the loop's) only
    hog = f"import os; os.sched_setaffinity(0, {{{core}}})\nwhile True: pass"
    hogs = [await asyncio.create_subprocess_exec(sys.executable, "-c", hog) for _ in range(2)]
    try:
        contention = Contention(window_s=0.02)
        with BusyPoll(asyncio.get_running_loop(), hold=contention) as poller:
            for _ in range(200):
                await asyncio.sleep(0.01)
                if contention.contended:
                    break
            assert contention.contended >= 1 and contention.looks >= 1, (contention.looks, poller.spins)
            await asyncio.sleep(0.05)
            assert poller.held > 0  # held means not spinning: the loop slept between checks
    finally:
        for h in hogs:
            h.kill()
            await h.wait()
        os.sched_setaffinity(0, before)
