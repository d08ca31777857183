"""The intent journal's writer: one thread with SQLite connections of its own, committing the writes queued from any
thread in groups, so a durable write never blocks the event loop and concurrent writes share one fsync.

A write is a :data:`Write` (a function of a connection running one statement, inside the group's transaction)
queued with :meth:`JournalWriter.submit`, which returns a :class:`concurrent.futures.Future` completed once the group
it joined is committed (its result: what the function returned; its exception: what the function or the commit
raised). The event loop awaits it with :func:`asyncio.wrap_future`; another thread waits on ``result()``.

Group commit: the thread takes the first write queued, then every write queued behind it (up to :data:`MAX_GROUP`),
runs them in order in one transaction and commits once (a group of one runs its statement alone: SQLite makes it its
own transaction, and the thread takes the GIL back only once, after the commit). While a commit waits for the disk,
new writes queue up and form the next group; under load several orders in flight share one fsync. A group with a
durable write commits on a connection with ``synchronous=FULL`` (the WAL is synced before the commit returns:
https://www.sqlite.org/pragma.html#pragma_synchronous; ``durable_sync="NORMAL"`` makes that connection's commits
reach the OS unsynced too, durable against a crash of the process but not of the machine), a group of only
non-durable writes on one with ``synchronous=NORMAL`` (no sync; a crash of the machine may lose it, never corrupt the
file; the next FULL commit syncs it too).

Writes run in submission order, so a write queued after another sees its effect. A write whose future was cancelled
before its group started is skipped. A write that raises gets the exception and the rest of its group still commits
(each write is one statement, so a failed one leaves nothing behind); a failed commit fails the whole group.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

log = logging.getLogger("tradingmcp.server.trading")

Write = Callable[[sqlite3.Connection], Any]
"""One write: runs one statement on the connection it is given; its return value completes its future."""

MAX_GROUP = 256
"""Most writes committed in one transaction."""

BUSY_TIMEOUT_S = 5.0
"""How long a group waits for the file's write lock when another connection holds it (s)."""


class JournalWriter:
    """The writer thread of the SQLite file at ``path`` (WAL mode; ``setup`` SQL script run once, e.g. the schema);
    ``durable_sync``: the ``synchronous`` level of durable writes' commits, ``FULL`` (one fsync each) or ``NORMAL``.

    Attributes:
        commits: transactions committed so far (a group is one).
        durable_commits: of these, the ones with a durable write (committed at ``durable_sync``).
        writes: writes committed so far.
        submitted: writes queued so far; ``submitted - done`` are queued or being committed (:attr:`pending`).
        done: writes whose future is complete (committed, failed or cancelled).

    Raises:
        sqlite3.Error: from the constructor, when the file cannot be opened or set up.
        ValueError: ``durable_sync`` is neither ``FULL`` nor ``NORMAL``.
    """

    def __init__(self, path: Path, setup: str = "", durable_sync: str = "FULL") -> None:
        if durable_sync not in ("FULL", "NORMAL"):
            raise ValueError(f"durable_sync must be FULL or NORMAL, got {durable_sync!r}")
        self.commits = 0
        self.durable_commits = 0
        self.writes = 0
        self.submitted = 0
        self.done = 0
        self._durable = self._connect(path, durable_sync)
        self._durable.execute("PRAGMA journal_mode=WAL")
        if setup:
            self._durable.executescript(setup)
        self._fast = self._connect(path, "NORMAL")  # the same file, for groups of non-durable writes only
        self._queue: queue.SimpleQueue[tuple[Write, bool, Future[Any]] | None] = queue.SimpleQueue()  # None: stop
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"journal-writer {path.name}", daemon=True)
        self._thread.start()

    @staticmethod
    def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        db.execute(f"PRAGMA synchronous={synchronous}")
        return db

    def submit(self, write: Write, durable: bool) -> Future[Any]:
        """Queue ``write``; ``durable``: its group commits at ``durable_sync`` (with ``FULL``, on disk when its future
        is done).

        Raises:
            RuntimeError: the writer is closed.
        """
        future: Future[Any] = Future()
        with self._close_lock:
            if self._closed:
                raise RuntimeError("the intent journal is closed")
            self.submitted += 1
            self._queue.put((write, durable, future))
        return future

    @property
    def pending(self) -> int:
        """Writes queued or being committed (an approximate count when read from another thread)."""
        return self.submitted - self.done

    def close(self) -> None:
        """Commit everything queued, stop the thread and close the connections (idempotent; blocks until done)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._durable.close()
        self._fast.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            group: list[tuple[Write, bool, Future[Any]]] = []
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                    break
                write, durable, future = item
                if future.set_running_or_notify_cancel():
                    group.append((write, durable, future))
                else:
                    self.done += 1
                if len(group) >= MAX_GROUP:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                self._commit(group)

    def _commit(self, group: list[tuple[Write, bool, Future[Any]]]) -> None:
        """Run ``group`` in one transaction and complete each future. A group of one write runs it alone: its one
        statement is its own transaction (one call into SQLite, so the thread takes the GIL back only once)."""
        full = any(durable for _, durable, _ in group)
        db = self._durable if full else self._fast
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            if len(group) == 1:
                write, _, future = group[0]
                results.append((future, write(db), None))
            else:
                self._transaction(db, group, results)
        except Exception as exc:
            log.warning("intent journal: %d writes failed: %s", len(group), exc)
            for _, _, future in group:
                future.set_exception(exc)
            self.done += len(group)
            return
        self.commits += 1
        self.durable_commits += full
        for future, result, error in results:
            if error is None:
                self.writes += 1
                future.set_result(result)
            else:
                future.set_exception(error)
        self.done += len(results)  # after the futures: a loop held while writes are pending wakes with their results

    @staticmethod
    def _transaction(
        db: sqlite3.Connection,
        group: list[tuple[Write, bool, Future[Any]]],
        results: list[tuple[Future[Any], Any, BaseException | None]],
    ) -> None:
        """Run ``group`` between ``BEGIN IMMEDIATE`` and ``COMMIT``, each write's result or error into ``results``;
        raises what the transaction itself raised (rolled back)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            for write, _, future in group:
                try:
                    results.append((future, write(db), None))
                except Exception as exc:
                    results.append((future, None, exc))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
