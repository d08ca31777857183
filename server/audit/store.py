"""Where audit rows live: the :class:`AuditStore` interface and its SQLite implementation (WAL, append-only); the
PostgreSQL one is :mod:`.pgstore`.

SQLite (https://www.sqlite.org/wal.html): one file ``<data_dir>/audit.sqlite3`` in WAL mode with
``synchronous=NORMAL`` (a committed batch survives a crash of the process; the last batches may be lost on power
loss). Append-only: the store has no update path, ids come from ``AUTOINCREMENT`` (never reused), and triggers make
any ``UPDATE`` on ``audit_log`` fail with ``audit log is append-only``, and any ``DELETE`` too unless the row lies
behind the retention horizon.

Retention (:meth:`AuditStore.apply_retention`): the one-row table ``audit_retention`` holds the horizon (``before_ms``:
rows with an older ``time_ms`` may go; ``before_id``: rows with a lower ``id`` may go). Its triggers let it only move
forward (no lower value, no delete, no second row). Retention first moves the horizon, then deletes the rows behind
it in chunks of :data:`RETENTION_CHUNK_ROWS` (one transaction each, so the writer never waits long); every row in
front of the horizon stays as append-only as before. SQLite reuses the freed pages, so the file stops growing; it does
not shrink (``VACUUM`` offline does that).

Queries run on their own read-only connection (WAL readers never block the writer); newest first, paged by ``id``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tradingmcp.server.audit.entries import COLUMNS, KIND_ORDER_EVENT, Row, entry_json

DB_NAME = "audit.sqlite3"
MAX_LIMIT = 200
RETENTION_CHUNK_ROWS = 10_000
"""Rows deleted per transaction when retention runs."""

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    exchange TEXT, mode TEXT, principal TEXT, tool TEXT, outcome TEXT, error_code TEXT, error TEXT,
    latency_us REAL, arguments TEXT, result TEXT,
    symbol TEXT, order_id TEXT, client_order_id TEXT, execution_type TEXT, status TEXT, fill TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time_ms);
CREATE INDEX IF NOT EXISTS audit_log_tool ON audit_log (tool, id);
CREATE INDEX IF NOT EXISTS audit_log_principal ON audit_log (principal, id);
CREATE INDEX IF NOT EXISTS audit_log_client_order_id ON audit_log (client_order_id);
CREATE TABLE IF NOT EXISTS audit_retention (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    before_ms INTEGER NOT NULL,
    before_id INTEGER NOT NULL
);
INSERT INTO audit_retention (id, before_ms, before_id)
    SELECT 1, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM audit_retention);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
DROP TRIGGER IF EXISTS audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN OLD.time_ms >= (SELECT before_ms FROM audit_retention WHERE id = 1)
     AND OLD.id >= (SELECT before_id FROM audit_retention WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_retention_forward BEFORE UPDATE ON audit_retention
    WHEN NEW.id IS NOT OLD.id OR NEW.before_ms < OLD.before_ms OR NEW.before_id < OLD.before_id
    BEGIN SELECT RAISE(ABORT, 'the audit retention horizon only moves forward'); END;
CREATE TRIGGER IF NOT EXISTS audit_retention_no_delete BEFORE DELETE ON audit_retention
    BEGIN SELECT RAISE(ABORT, 'the audit retention horizon only moves forward'); END;
CREATE TRIGGER IF NOT EXISTS audit_retention_one_row BEFORE INSERT ON audit_retention
    WHEN EXISTS (SELECT 1 FROM audit_retention)
    BEGIN SELECT RAISE(ABORT, 'the audit retention horizon only moves forward'); END;
COMMIT;
"""
_INSERT = f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SELECT = f"SELECT id, {', '.join(COLUMNS)} FROM audit_log"
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^@/]*@")
_KEY_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)


def is_postgres_url(text: str) -> bool:
    """True for a ``postgresql://`` or ``postgres://`` URL (what ``--db`` and ``postgres_url`` take)."""
    return text.startswith(("postgresql://", "postgres://"))


def safe_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (URL or ``key=value`` form), for logs, errors and stats."""
    return _KEY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


@dataclass(frozen=True)
class AuditQuery:
    """Filters of ``get_audit_log`` / ``tradingmcp audit``; all optional and combined with AND.

    ``since_ms``/``until_ms``: inclusive bounds on ``time_ms`` (ms since the epoch). ``tool``, ``principal``,
    ``outcome``, ``kind``, ``exchange``, ``client_order_id``: exact matches. ``limit``: 1..200 rows, newest first.
    ``cursor``: the ``next_cursor`` of the previous page (rows older than it). ``visible_to``: a token name whose
    caller may see only its own tool calls (plus every order event); None = every principal's calls.
    """

    since_ms: int | None = None
    until_ms: int | None = None
    tool: str | None = None
    principal: str | None = None
    outcome: str | None = None
    kind: str | None = None
    exchange: str | None = None
    client_order_id: str | None = None
    limit: int = 50
    cursor: int | None = None
    visible_to: str | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of entries (``entry_json`` dicts, newest first) and the cursor of the next page (None at the end)."""

    entries: list[dict[str, Any]]
    next_cursor: int | None


class AuditStore(Protocol):
    """The store interface: :class:`SqliteStore` here, ``PostgresStore`` in :mod:`.pgstore`."""

    def insert_many(self, rows: list[Row]) -> None:
        """Append ``rows`` in one transaction (called from the writer thread only)."""
        ...

    def query(self, q: AuditQuery) -> AuditPage:
        """Read one page (any thread; blocking)."""
        ...

    def apply_retention(self, older_than_ms: int | None, max_rows: int | None) -> int:
        """Move the retention horizon forward to ``older_than_ms`` (ms since the epoch) and to the newest
        ``max_rows`` ids, then delete the rows behind it (blocking). None: no bound of that kind. Returns the rows
        deleted."""
        ...

    def close(self) -> None: ...


def build_where(q: AuditQuery, placeholder: str = "?") -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (``""`` when unfiltered) and its parameters for ``q``.

    Args:
        q: the filters.
        placeholder: the driver's parameter marker (``?`` sqlite3, ``%s`` psycopg).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("tool", q.tool),
        ("principal", q.principal),
        ("outcome", q.outcome),
        ("kind", q.kind),
        ("exchange", q.exchange),
        ("client_order_id", q.client_order_id),
    ):
        if value is not None:
            clauses.append(f"{column} = {placeholder}")
            params.append(value)
    if q.visible_to is not None:
        clauses.append(f"(kind = {placeholder} OR principal = {placeholder})")
        params += [KIND_ORDER_EVENT, q.visible_to]
    if q.since_ms is not None:
        clauses.append(f"time_ms >= {placeholder}")
        params.append(q.since_ms)
    if q.until_ms is not None:
        clauses.append(f"time_ms <= {placeholder}")
        params.append(q.until_ms)
    if q.cursor is not None:
        clauses.append(f"id < {placeholder}")
        params.append(q.cursor)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class SqliteStore:
    """``audit.sqlite3`` under ``data_dir`` (created with parents). The write connection is shared by the writer
    thread and :meth:`insert_many` callers under a lock."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot enable WAL mode (got {mode})")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def insert_many(self, rows: list[Row]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_INSERT, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, q: AuditQuery) -> AuditPage:
        return query_file(self.path, q)

    def apply_retention(self, older_than_ms: int | None, max_rows: int | None) -> int:
        db = self._db
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                before_id = 0
                if max_rows is not None:
                    newest = db.execute("SELECT max(id) FROM audit_log").fetchone()[0]
                    before_id = max(0, (newest or 0) - max_rows + 1)
                db.execute(
                    "UPDATE audit_retention SET before_ms = max(before_ms, ?), before_id = max(before_id, ?) "
                    "WHERE id = 1",
                    [older_than_ms or 0, before_id],
                )
                before_ms, before_id = db.execute(
                    "SELECT before_ms, before_id FROM audit_retention WHERE id = 1"
                ).fetchone()
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        deleted = 0
        for sql, bound in (
            (
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id < ? ORDER BY id LIMIT ?)",
                before_id,
            ),
            ("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time_ms < ? LIMIT ?)", before_ms),
        ):
            while True:
                with self._lock:  # one chunk per transaction: the writer thread's inserts interleave
                    n = db.execute(sql, [bound, RETENTION_CHUNK_ROWS]).rowcount
                deleted += n
                if n < RETENTION_CHUNK_ROWS:
                    break
        return deleted

    def close(self) -> None:
        with self._lock:
            self._db.close()


def query_file(path: Path, q: AuditQuery) -> AuditPage:
    """Read one page of the audit database at ``path`` on a fresh read-only connection.

    Raises:
        FileNotFoundError: no database at ``path``.
        sqlite3.Error: not an audit database.
    """
    if not path.exists():
        raise FileNotFoundError(f"no audit database at {path}")
    limit = clamp_limit(q.limit)
    where, params = build_where(q)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        rows = db.execute(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", [*params, limit + 1]).fetchall()
    finally:
        db.close()
    return to_page(rows, limit)


def clamp_limit(limit: int) -> int:
    """``limit`` bounded to 1..:data:`MAX_LIMIT` rows."""
    return max(1, min(limit, MAX_LIMIT))


def to_page(rows: Sequence[Sequence[Any]], limit: int) -> AuditPage:
    """Rows ``(id, *COLUMNS)`` fetched with ``LIMIT limit + 1`` (newest first) → one page and its next cursor."""
    more = len(rows) > limit
    kept = rows[:limit]
    entries = [entry_json(r[0], tuple(r[1:])) for r in kept]
    return AuditPage(entries, kept[-1][0] if more and kept else None)
