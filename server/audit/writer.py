"""Write-behind: the event loop only appends to an in-memory queue; a writer thread turns items into rows in batches.

The hot path (:meth:`WriteBehind.submit`) is one ``deque.append`` (atomic under the GIL, no lock, no wake-up). The
writer thread wakes every ``flush_interval_ms`` (or on :meth:`wake`), drains the queue in batches of up to
``batch_max`` items, converts them (redaction, JSON) and hands each batch to ``write`` (one transaction). A failing
batch is put back at the head of the queue and retried on the next round. :meth:`close` stops the thread and drains
what is left, so a clean shutdown loses nothing.

Housekeeping (the audit log's retention) runs on the same thread, between drains: once when the thread starts, then
every ``housekeeping_interval_s`` and after every ``housekeeping_every`` items written. A failing run is logged and
tried again at the next due time; it never stops the writing.

The thread holds the GIL while it converts: ``convert`` must cost time bounded by its item's size (the audit rows
cut what a caller sent before scanning it, :mod:`.entries`), and the thread offers the GIL to the event loop between
items, so the loop waits for at most about one item's conversion.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("tradingmcp.server.audit")

T = TypeVar("T")
R = TypeVar("R")


class WriteBehind(Generic[T, R]):
    """``submit(item)`` from the event loop; ``convert(item) -> row`` and ``write(rows)`` run on the writer thread.

    Args:
        convert: item → row (redaction and encoding happen here, off the event loop).
        write: append a batch of rows durably (raises on failure: the batch is retried).
        flush_interval_ms: how often the thread looks at the queue (ms).
        batch_max: items per ``write`` call.
        housekeeping: work for the writer thread between drains (None: none).
        housekeeping_interval_s: seconds between housekeeping runs.
        housekeeping_every: also run it after this many items written since the last run (0: by time only).
    """

    def __init__(
        self,
        convert: Callable[[T], R],
        write: Callable[[list[R]], None],
        flush_interval_ms: float = 50.0,
        batch_max: int = 1000,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_interval_s: float = 60.0,
        housekeeping_every: int = 0,
    ) -> None:
        self._convert = convert
        self._write = write
        self._interval_s = flush_interval_ms / 1000
        self._batch_max = batch_max
        self._queue: deque[T] = deque()
        self._lock = threading.Lock()  # one drain at a time (thread or flush)
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.written = 0
        self.batches = 0
        self.failures = 0
        self.write_us_total = 0.0
        self._housekeeping = housekeeping
        self._housekeeping_interval_s = housekeeping_interval_s
        self._housekeeping_every = housekeeping_every
        self._housekeeping_due = 0.0  # monotonic s: run at once when the thread starts
        self._written_at_housekeeping = 0
        self.housekeeping_runs = 0
        self.housekeeping_failures = 0
        self.submit = self._queue.append
        """Queue one item (hot path: a bound ``deque.append``)."""

    def __len__(self) -> int:
        """Items waiting to be written (the queue depth)."""
        return len(self._queue)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tradingmcp-audit-writer", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Ask the writer thread to drain now instead of at its next interval."""
        self._wake.set()

    def _run(self) -> None:
        self._housekeep_if_due()
        while not self._stopping:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self.drain()
            self._housekeep_if_due()

    def _housekeep_if_due(self) -> None:
        work = self._housekeeping
        if work is None or self._stopping:
            return
        by_count = self._housekeeping_every and self.written - self._written_at_housekeeping >= self._housekeeping_every
        if not by_count and time.monotonic() < self._housekeeping_due:
            return
        self._written_at_housekeeping = self.written
        try:
            work()
        except Exception:
            self.housekeeping_failures += 1
            log.exception("audit housekeeping failed; tried again in %.0f s", self._housekeeping_interval_s)
        self.housekeeping_runs += 1
        self._housekeeping_due = time.monotonic() + self._housekeeping_interval_s

    def drain(self) -> int:
        """Write everything queued now (blocking; any thread). Returns the number of items written.

        On a write failure the batch goes back to the head of the queue and draining stops (logged).
        """
        done = 0
        with self._lock:
            while self._queue:
                batch: list[T] = []
                while self._queue and len(batch) < self._batch_max:
                    batch.append(self._queue.popleft())
                started = time.perf_counter_ns()
                rows = self._rows(batch)
                try:
                    self._write(rows)
                except Exception:
                    self.failures += 1
                    self._queue.extendleft(reversed(batch))
                    log.exception("audit write failed; %d entries kept in memory for a retry", len(self._queue))
                    break
                self.write_us_total += (time.perf_counter_ns() - started) / 1000
                self.batches += 1
                self.written += len(batch)
                done += len(batch)
        return done

    def _rows(self, batch: list[T]) -> list[R]:
        rows: list[R] = []
        for item in batch:
            try:
                rows.append(self._convert(item))
            except Exception:  # cannot ever be converted: drop it rather than block the queue
                self.failures += 1
                log.exception("audit entry dropped: cannot encode %s", type(item).__name__)
            time.sleep(0)  # releases the GIL: a waiting event loop can run now, not after the 5 ms switch interval
        return rows

    def close(self) -> int:
        """Stop the thread and write what is left (blocking). Returns the number of items still unwritten (0)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.drain()
        if self._queue:
            log.error("audit log closed with %d entries unwritten", len(self._queue))
        return len(self._queue)
