"""The audit log: every tool call and order event, append-only (SQLite WAL, or PostgreSQL when a URL is configured),
written behind the hot path. Its MCP tool ``get_audit_log`` is in :mod:`tradingmcp.server.tools.audit`; the
``tradingmcp audit`` command in :mod:`.cli`.

:func:`install_audit` adds an observer to ``app.observers`` (each finished ``tools/call``: a ``deque.append``, nothing
else on the event loop) and a listener on each venue's account event bus (every ``OrderEvent``). A writer thread
redacts secrets, encodes and inserts in batches (:mod:`.writer`); :meth:`AuditLog.close` writes everything still
queued. Rows and columns: :mod:`.entries`; the database: :mod:`.store` (SQLite) or
:mod:`.pgstore` (PostgreSQL, ``AuditConfig.postgres_url``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradingmcp.server.audit.entries import AuditItem, OrderEventItem, Row, to_row
from tradingmcp.server.audit.store import DB_NAME, AuditPage, AuditQuery, AuditStore, SqliteStore, query_file, safe_url
from tradingmcp.server.audit.writer import WriteBehind
from tradingmcp.server.exchanges.models import OrderEvent, UserEvent
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.venues import Venue, Venues

__all__ = [
    "DB_NAME",
    "AuditConfig",
    "AuditLog",
    "AuditPage",
    "AuditQuery",
    "default_data_dir",
    "install_audit",
    "query_file",
]


def default_data_dir() -> Path:
    """``$TRADINGMCP_DATA_DIR`` or ``var`` (relative to the working directory)."""
    return Path(os.environ.get("TRADINGMCP_DATA_DIR") or "var")


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
    """

    data_dir: Path | None = None
    enabled: bool = True
    max_result_bytes: int = 4096
    flush_interval_ms: float = 50.0
    batch_max: int = 1000
    postgres_url: str | None = None


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
            self._to_row, self._write, config.flush_interval_ms, config.batch_max
        )
        self._removers: list[Callable[[], None]] = []
        self._observer = self.writer.submit

    @property
    def pending(self) -> int:
        return len(self.writer)

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

    def _to_row(self, item: AuditItem) -> Row:
        return to_row(item, self.venues, self.config.max_result_bytes)

    def _write(self, rows: list[Row]) -> None:
        if self.store is None:
            raise RuntimeError("audit store is not open")
        self.store.insert_many(rows)

    async def start(self) -> None:
        """Open (create) the database and start the writer thread.

        Raises:
            sqlite3.Error | OSError: the SQLite file cannot be opened.
            psycopg.Error: the PostgreSQL database cannot be reached or its schema created.
        """
        if not self.config.enabled or self.store is not None:
            return
        self.store = await asyncio.to_thread(self._open_store)
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
        """``{path, pending, written, batches, failures, write_us_total}`` (metrics and health); ``path`` is
        :attr:`location` (no password)."""
        w = self.writer
        return {
            "path": self.location,
            "pending": len(w),
            "written": w.written,
            "batches": w.batches,
            "failures": w.failures,
            "write_us_total": round(w.write_us_total, 1),
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
