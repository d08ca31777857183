"""The audit log: every tool call and order event, append-only (SQLite WAL, or PostgreSQL when a URL is configured),
written behind the hot path. Its MCP tool ``get_audit_log`` is in :mod:`tradingmcp.server.tools.audit`; the
``tradingmcp audit`` command in :mod:`.cli`.

:func:`install_audit` adds an observer to ``app.observers`` (each finished ``tools/call``: a ``deque.append``, nothing
else on the event loop) and a listener on each venue's account event bus (every ``OrderEvent``). A writer thread
redacts secrets, encodes and inserts in batches (:mod:`.writer`); :meth:`AuditLog.close` writes everything still
queued. Rows and columns: :mod:`.entries`; the database: :mod:`.store` (SQLite) or
:mod:`.pgstore` (PostgreSQL, ``AuditConfig.postgres_url``).

Sampling: successful calls of the tools in ``AuditConfig.sample`` (by default the ``echo`` diagnostic, 1 in
:data:`ECHO_SAMPLE`) are audited 1 in N per principal (token name): its 1st, N+1st, 2N+1st, ... call since the server
started; every failed call of them is audited. Every other tool call and every order event is audited.

Retention: the writer thread deletes rows older than ``retention_days`` and the oldest rows beyond the newest
``max_rows``, when the log opens, every ``retention_interval_s`` and after every ``max_rows // 10`` rows written
(:meth:`AuditLog.apply_retention`). Deletion only ever reaches rows behind the retention horizon, which only moves
forward; rows in front of it stay append-only (:mod:`.store`).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradingmcp.server.audit.entries import AuditItem, OrderEventItem, Row, SafetyEventItem, to_row
from tradingmcp.server.audit.store import DB_NAME, AuditPage, AuditQuery, AuditStore, SqliteStore, query_file, safe_url
from tradingmcp.server.audit.writer import WriteBehind
from tradingmcp.server.exchanges.models import OrderEvent, UserEvent
from tradingmcp.server.mcp.registry import McpApp, ToolCallRecord
from tradingmcp.server.venues import Venue, Venues

__all__ = [
    "DB_NAME",
    "AuditConfig",
    "AuditLog",
    "AuditPage",
    "AuditQuery",
    "AuditUnavailable",
    "default_data_dir",
    "install_audit",
    "query_file",
]


def default_data_dir() -> Path:
    """``$TRADINGMCP_DATA_DIR`` or ``var`` (relative to the working directory)."""
    return Path(os.environ.get("TRADINGMCP_DATA_DIR") or "var")


RETENTION_DAYS = 30.0
"""Default age (days) past which audit rows are deleted."""
MAX_ROWS = 1_000_000
"""Default number of newest audit rows kept."""
RETENTION_INTERVAL_S = 60.0
"""Default seconds between retention runs of the writer thread."""
ECHO_SAMPLE = 100
"""Default: 1 in this many successful ``echo`` calls is audited."""
_DAY_MS = 86_400_000


class AuditUnavailable(Exception):
    """The audit store cannot be opened (the message names where it is, never a password)."""


@dataclass(frozen=True)
class AuditConfig:
    """Where and how the audit log is written.

    Attributes:
        data_dir: directory of ``audit.sqlite3``; None = :func:`default_data_dir` (``$TRADINGMCP_DATA_DIR`` or
            ``var/``).
        enabled: False = no audit log and no ``get_audit_log`` tool.
        max_result_bytes: tool results and order events are stored cut to this many bytes of JSON.
        flush_interval_ms: how often the writer thread writes queued entries (ms).
        batch_max: entries per insert transaction.
        postgres_url: a PostgreSQL URL (``postgresql://user:password@host:5432/db``): the log goes to that database
            (:mod:`.pgstore`) instead of ``audit.sqlite3``; ``data_dir`` is then unused. None = SQLite.
        retention_days: rows older than this many days are deleted (0 = kept whatever their age).
        max_rows: at most this many rows are kept, the oldest deleted first (0 = no cap).
        retention_interval_s: how often the writer thread applies retention (s); also when the log opens and after
            every ``max_rows // 10`` rows written.
        sample: tool name → N: 1 in N successful calls of that tool per principal is audited (the 1st, N+1st, ...;
            failures always are); 1 = all.

    Raises:
        ValueError: a negative or non-finite retention, a non-positive interval, a sample rate below 1.
    """

    data_dir: Path | None = None
    enabled: bool = True
    max_result_bytes: int = 4096
    flush_interval_ms: float = 50.0
    batch_max: int = 1000
    postgres_url: str | None = None
    retention_days: float = RETENTION_DAYS
    max_rows: int = MAX_ROWS
    retention_interval_s: float = RETENTION_INTERVAL_S
    sample: Mapping[str, int] = field(default_factory=lambda: {"echo": ECHO_SAMPLE})

    def __post_init__(self) -> None:
        if not (math.isfinite(self.retention_days) and self.retention_days >= 0):
            raise ValueError(f"retention_days must be a number of days >= 0, got {self.retention_days!r}")
        if type(self.max_rows) is not int or self.max_rows < 0:
            raise ValueError(f"max_rows must be a whole number >= 0, got {self.max_rows!r}")
        if not (math.isfinite(self.retention_interval_s) and self.retention_interval_s > 0):
            raise ValueError(f"retention_interval_s must be a number of seconds > 0, got {self.retention_interval_s!r}")
        for tool, n in self.sample.items():
            if type(n) is not int or n < 1:
                raise ValueError(f"sample.{tool} must be a whole number >= 1 (1 in N calls audited), got {n!r}")


class AuditLog:
    """The running audit log: ``await start()`` opens the store and the writer thread; ``await close()`` flushes.

    ``path`` is the SQLite database file (unused with ``postgres_url``); ``location`` where the log is (that path, or
    the PostgreSQL URL with its password hidden); ``pending`` the queue depth; ``writer`` its counters (``written``,
    ``batches``, ``failures``, ``write_us_total``).
    """

    def __init__(self, app: McpApp, venues: Venues, config: AuditConfig) -> None:
        self.app = app
        self.venues = venues
        self.config = config
        self.path = (config.data_dir if config.data_dir is not None else default_data_dir()) / DB_NAME
        self.location = str(self.path) if config.postgres_url is None else safe_url(config.postgres_url)
        self.store: AuditStore | None = None
        self.writer: WriteBehind[AuditItem, Row] = WriteBehind(
            self._to_row,
            self._write,
            config.flush_interval_ms,
            config.batch_max,
            housekeeping=self.apply_retention,
            housekeeping_interval_s=config.retention_interval_s,
            housekeeping_every=config.max_rows // 10,
        )
        self._removers: list[Callable[[], None]] = []
        self.sampled_out = 0
        """Successful calls of sampled tools not audited."""
        self.deleted = 0
        """Rows deleted by retention since start."""
        self._observer = self._make_observer()

    @property
    def pending(self) -> int:
        return len(self.writer)

    def _make_observer(self) -> Callable[[ToolCallRecord], None]:
        """The tool-call observer: the queue's ``append`` itself, or with sampled tools a filter in front of it."""
        submit = self.writer.submit
        rates = {tool: n for tool, n in self.config.sample.items() if n > 1}
        if not rates:
            return submit
        seen: dict[tuple[str, str], int] = {}

        def observe(record: ToolCallRecord) -> None:
            n = rates.get(record.tool)
            if n is not None and record.outcome == "ok":
                key = (record.principal, record.tool)
                k = seen.get(key, 0)
                seen[key] = k + 1
                if k % n:
                    self.sampled_out += 1
                    return
            submit(record)

        return observe

    def install(self) -> None:
        """Observe ``app`` tool calls and every venue's order events (done by :func:`install_audit`)."""
        if not self.config.enabled:
            return
        self.app.observers.append(self._observer)
        for venue in self.venues:
            self._removers.append(venue.user.add_listener(self._order_listener(venue)))

    def _order_listener(self, venue: Venue) -> Callable[[UserEvent], None]:
        submit, name, mode = self.writer.submit, venue.name, venue.mode

        def on_event(ev: UserEvent) -> None:
            if isinstance(ev, OrderEvent):
                submit(OrderEventItem(name, mode, ev, time.time_ns() // 1_000_000))

        return on_event

    def safety_event(self, venue: Venue, event: dict[str, Any]) -> None:
        """Queue a rail event of the trading desk (a :data:`~tradingmcp.server.trading.desk.RailListener`)."""
        if self.config.enabled:
            self.writer.submit(SafetyEventItem(venue.name, venue.mode, event, time.time_ns() // 1_000_000))

    def _to_row(self, item: AuditItem) -> Row:
        return to_row(item, self.venues, self.config.max_result_bytes)

    def _write(self, rows: list[Row]) -> None:
        if self.store is None:
            raise RuntimeError("audit store is not open")
        self.store.insert_many(rows)

    async def start(self) -> None:
        """Open (create) the database and start the writer thread.

        Raises:
            AuditUnavailable: the SQLite file cannot be opened, or the PostgreSQL database cannot be reached or its
                schema created.
        """
        if not self.config.enabled or self.store is not None:
            return
        try:
            self.store = await asyncio.to_thread(self._open_store)
        except Exception as exc:  # sqlite3.Error, OSError, psycopg.Error: the caller says it in one line
            reason = safe_url(f"{type(exc).__name__}: {exc}")
            raise AuditUnavailable(f"cannot open the audit log at {self.location}: {reason}") from exc
        self.writer.start()

    def _open_store(self) -> AuditStore:
        url = self.config.postgres_url
        if url is None:
            return SqliteStore(self.path.parent)
        from tradingmcp.server.audit.pgstore import PostgresStore  # psycopg only loaded when used

        return PostgresStore(url)

    async def flush(self) -> None:
        """Write everything queued so far (on a worker thread)."""
        if self.store is not None:
            await asyncio.to_thread(self.writer.drain)

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Delete the rows past ``retention_days`` before ``now_ms`` (default: now) and beyond the newest
        ``max_rows`` (blocking: the writer thread runs it; call it on a worker thread). Returns the rows deleted.

        Raises:
            sqlite3.Error | psycopg.Error: the store refused (nothing was deleted by the failing step).
        """
        store = self.store
        cfg = self.config
        if store is None or (cfg.retention_days == 0 and cfg.max_rows == 0):
            return 0
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        older_than_ms = now - int(cfg.retention_days * _DAY_MS) if cfg.retention_days > 0 else None
        deleted = store.apply_retention(older_than_ms, cfg.max_rows or None)
        self.deleted += deleted
        return deleted

    def query(self, q: AuditQuery) -> AuditPage:
        """One page of entries (blocking: call it on a worker thread)."""
        store = self.store
        if store is not None:
            return store.query(q)
        if self.config.postgres_url is not None:
            from tradingmcp.server.audit.pgstore import query_url

            return query_url(self.config.postgres_url, q)
        return query_file(self.path, q)

    async def close(self) -> None:
        """Stop observing, write everything still queued, close the database."""
        if self._observer in self.app.observers:
            self.app.observers.remove(self._observer)
        for remove in self._removers:
            remove()
        self._removers.clear()
        if self.store is None:
            return
        await asyncio.to_thread(self.writer.close)
        await asyncio.to_thread(self.store.close)
        self.store = None

    def stats(self) -> dict[str, Any]:
        """``{path, pending, written, batches, failures, write_us_total, sampled_out, deleted}`` (metrics and
        health); ``path`` is :attr:`location` (no password)."""
        w = self.writer
        return {
            "path": self.location,
            "pending": len(w),
            "written": w.written,
            "batches": w.batches,
            "failures": w.failures,
            "write_us_total": round(w.write_us_total, 1),
            "sampled_out": self.sampled_out,
            "deleted": self.deleted,
        }


def install_audit(app: McpApp, venues: Venues, config: AuditConfig) -> AuditLog:
    """Observe every tool call of ``app`` and every order event of ``venues`` (nothing when ``config.enabled`` is
    False).

    Returns the :class:`AuditLog` (``await start()`` before serving, ``await close()`` at shutdown; entries queued
    before ``start`` are written once it runs).
    """
    audit = AuditLog(app, venues, config)
    audit.install()
    return audit
