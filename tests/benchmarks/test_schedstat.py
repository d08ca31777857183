"""The scheduler's per-thread counters: a thread that computes grows its CPU time in the window, the window sums and
names the threads, and a process whose counters cannot be read says so instead of reporting zeros."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from tradingmcp.benchmarks.schedstat import load_average, snapshot, window

linux_only = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="per-thread counters are Linux's /proc")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@linux_only
def test_a_computing_thread_shows_in_the_window() -> None:
    before, start = snapshot(), time.perf_counter_ns()
    assert threading.get_native_id() in before
    _spin(0.1)
    worker = threading.Thread(target=time.sleep, args=(0.05,), name="late")
    worker.start()
    mid = snapshot()
    worker.join()
    w = window(before, mid, time.perf_counter_ns() - start)
    assert w["available"] is True and w["wall_ms"] >= 100
    (main,) = (t for t in w["threads"] if t["tid"] == threading.get_native_id())
    assert main["name"] == "MainThread"
    assert main["cpu_ms"] + main["wait_ms"] >= 90  # it was running or runnable for the whole 0.1 s
    assert worker.native_id in mid and worker.native_id not in before  # born in the window: left out, not from zero
    assert w["cpu_ms"] == pytest.approx(sum(t["cpu_ms"] for t in w["threads"]), abs=0.5)
    assert 0.0 <= w["wait_share"] <= 1.0 and w["timeslices"] >= 1


@linux_only
def test_a_thread_spun_for_the_whole_window_outranks_the_sleeping_one_under_its_name() -> None:
    stop = threading.Event()

    def spin_until_stopped() -> None:
        while not stop.is_set():
            pass

    worker = threading.Thread(target=spin_until_stopped, name="counted")  # alive at both snapshots, whatever the load
    worker.start()
    time.sleep(0.02)
    before, start = snapshot(), time.perf_counter_ns()
    time.sleep(0.15)
    after = snapshot()
    stop.set()
    worker.join()
    w = window(before, after, time.perf_counter_ns() - start)
    threads = w["threads"]
    busy = [t["cpu_ms"] + t["wait_ms"] for t in threads]
    assert busy == sorted(busy, reverse=True)  # busiest first (other tests may have left busy threads of their own)
    by_tid = {t["tid"]: t for t in threads}
    spun, slept = by_tid[worker.native_id], by_tid.get(threading.main_thread().native_id)
    assert spun["name"] == "counted" and (slept is None or threads.index(spun) < threads.index(slept))
    assert spun["cpu_ms"] + spun["wait_ms"] >= 100  # runnable throughout: on a CPU or waiting for one


def test_no_counters_is_said_not_zeroed(tmp_path: Path) -> None:
    assert snapshot(tmp_path / "no-such-process") == {}
    assert window({}, {}, 1_000_000) == {"available": False}
    if sys.platform.startswith("linux"):
        avg = load_average()
        assert avg is not None and len(avg) == 3 and all(x >= 0 for x in avg)
