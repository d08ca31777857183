"""Where audit rows live: the :class:`AuditStore` interface and its SQLite implementation (WAL, append-only); the
PostgreSQL one is :mod:`.pgstore`.

SQLite (https://www.sqlite.org/wal.html): one file ``<data_dir>/audit.sqlite3`` in WAL mode with
``synchronous=NORMAL`` (a committed batch survives a crash of the process; the last batches may be lost on power
loss). Append-only: the store has no update or delete path, ids come from ``AUTOINCREMENT`` (never reused), and
triggers make any ``UPDATE``/``DELETE`` on ``audit_log`` fail with ``audit log is append-only``.

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

_SCHEMA = """
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
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
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
