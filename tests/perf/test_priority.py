"""The low-latency mode's scheduling priority: every thread of the process (and its session's autogroup, where the
kernel has one) runs at the claimed nice value until the claim is released, what the OS refuses is said and not
raised, and a bad value is refused in one line."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from tradingmcp import perf
from tradingmcp.perf.priority import claim

linux_only = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="per-thread nice values are Linux's")


def _nice(tid: int = 0) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


@linux_only
def test_every_thread_runs_at_the_claimed_nice_until_released(tmp_path: Path) -> None:
    group = tmp_path / "autogroup"  # a stand-in for /proc/self/autogroup: the session's group is not the test's
    group.write_text("/autogroup-7 nice 0\n")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="other-thread")
    worker.start()
    try:
        assert worker.native_id is not None
        before = (_nice(), _nice(worker.native_id))
        got = claim(-5 if before[0] > -5 else before[0] - 1, autogroup=group) if before[0] > -20 else None
        if got is None:
            pytest.skip("already at the highest priority")
        if got.refused:  # no CAP_SYS_NICE: nothing changed, and it says why
            assert not got.applied and "thread" in got.refused[0] and _nice() == before[0]
            return
        assert got.applied and _nice() == got.nice and _nice(worker.native_id) == got.nice
        assert group.read_text() == str(got.nice) and got.autogroup == 0
        got.release()
        assert (_nice(), _nice(worker.native_id)) == before and group.read_text() == "0"
        assert got.applied  # what it did is still known after the release
        got.release()  # idempotent
        assert _nice() == before[0]
    finally:
        stop.set()
        worker.join()


@linux_only
def test_a_group_changed_by_someone_else_is_left_alone_on_release(tmp_path: Path) -> None:
    group = tmp_path / "autogroup"
    group.write_text("/autogroup-7 nice 3\n")
    got = claim(_nice(), autogroup=group)  # the threads are at that value already: only the group is lowered
    assert not got.threads and got.autogroup == 3 and group.read_text() == str(_nice())
    group.write_text("/autogroup-7 nice 5\n")  # another process of the session set it since
    got.release()
    assert group.read_text() == "/autogroup-7 nice 5\n"


def test_a_nice_value_outside_the_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"nice must be within -20\.\.19, got -21"):
        claim(-21)


@linux_only
async def test_the_busy_poll_hook_claims_and_stop_releases() -> None:
    before = _nice()
    tuning = perf.attach_server(None, nice=before - 1 if before > -20 else before)
    try:
        await asyncio.sleep(0.01)
        assert tuning.priority is not None and tuning.spins > 0
        if tuning.priority.applied:
            assert _nice() == before - 1
        else:  # refused (no CAP_SYS_NICE) or already there
            assert _nice() == before
    finally:
        tuning.stop()
    assert _nice() == before
    unclaimed = perf.attach_server(None, nice=None)
    unclaimed.stop()
    assert unclaimed.priority is None and _nice() == before  # asked for no claim: none made
