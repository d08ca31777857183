"""The PostgreSQL audit store (psycopg 3): the same table, append-only rule and queries as the SQLite store.

Chosen when ``AuditConfig.postgres_url`` is set (``postgresql://user:password@host:5432/db``, or any libpq
connection string: https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING). On open the store
creates, if missing, ``audit_log`` (``id BIGINT GENERATED ALWAYS AS IDENTITY``: ids never reused), its indexes and the
``audit_log_append_only`` trigger, which makes any ``UPDATE`` or ``TRUNCATE`` fail with ``audit log is append-only``
(SQLSTATE ``P0001``), and any ``DELETE`` too unless the row lies behind the retention horizon (the one-row table
``audit_retention``, which its own trigger lets only move forward; the same rule as the SQLite store, :mod:`.store`).
The schema is created under an advisory lock, so servers starting together on one database do not race. A superuser
or the table's owner can still drop the triggers: for a log that the server itself cannot rewrite, give its role only
``INSERT``/``SELECT`` on tables created by another role (retention then needs ``DELETE`` on ``audit_log`` and
``UPDATE`` on ``audit_retention``; without them it fails, is logged, and the log keeps every row).

The writer thread inserts each batch in one transaction (``executemany``, pipelined: one round trip per batch); a
connection that broke (server restart, network) is reopened on the next batch, so the write-behind retry loses
nothing. Queries use a second connection (read-only transactions), also reopened when broken.

Secrets: :func:`~.store.safe_url` hides the password of a URL or ``password=`` key before it is shown anywhere.
"""

from __future__ import annotations

import threading

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from tradingmcp.server.audit.entries import COLUMNS, Row
from tradingmcp.server.audit.store import (
    RETENTION_CHUNK_ROWS,
    AuditPage,
    AuditQuery,
    build_where,
    clamp_limit,
    safe_url,
    to_page,
)

CONNECT_TIMEOUT_S = 10
"""libpq ``connect_timeout`` (s) unless the URL sets one."""
APPLICATION_NAME = "tradingmcp-audit"
_SCHEMA_LOCK_KEY = 0x7472_6164_6D63_70  # pg_advisory_xact_lock key: "tradmcp"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    exchange TEXT, mode TEXT, principal TEXT, tool TEXT, outcome TEXT, error_code TEXT, error TEXT,
    latency_us DOUBLE PRECISION, arguments TEXT, result TEXT,
    symbol TEXT, order_id TEXT, client_order_id TEXT, execution_type TEXT, status TEXT, fill TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time_ms);
CREATE INDEX IF NOT EXISTS audit_log_tool ON audit_log (tool, id);
CREATE INDEX IF NOT EXISTS audit_log_principal ON audit_log (principal, id);
CREATE INDEX IF NOT EXISTS audit_log_client_order_id ON audit_log (client_order_id);
CREATE TABLE IF NOT EXISTS audit_retention (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    before_ms BIGINT NOT NULL,
    before_id BIGINT NOT NULL
);
INSERT INTO audit_retention (id, before_ms, before_id) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_retention r WHERE r.id = 1
                                    AND (OLD.time_ms < r.before_ms OR OLD.id < r.before_id)) THEN
        RETURN OLD;  -- behind the retention horizon
    END IF;
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
CREATE OR REPLACE FUNCTION audit_retention_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.before_ms >= OLD.before_ms AND NEW.before_id >= OLD.before_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit retention horizon only moves forward';
END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass
                   AND tgname = 'audit_log_no_update_delete') THEN
        CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass
                   AND tgname = 'audit_log_no_truncate') THEN
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'audit_retention'::regclass
                   AND tgname = 'audit_retention_forward') THEN
        CREATE TRIGGER audit_retention_forward BEFORE UPDATE OR DELETE ON audit_retention
            FOR EACH ROW EXECUTE FUNCTION audit_retention_forward();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'audit_retention'::regclass
                   AND tgname = 'audit_retention_no_truncate') THEN
        CREATE TRIGGER audit_retention_no_truncate BEFORE TRUNCATE ON audit_retention
            FOR EACH STATEMENT EXECUTE FUNCTION audit_retention_forward();
    END IF;
END
$$;
"""
_INSERT = f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
_SELECT = f"SELECT id, {', '.join(COLUMNS)} FROM audit_log"

Connection = psycopg.Connection[TupleRow]


def connect(url: str, *, read_only: bool = False) -> Connection:
    """A connection to ``url`` (autocommit; ``connect_timeout`` :data:`CONNECT_TIMEOUT_S` and ``application_name``
    :data:`APPLICATION_NAME` unless the URL sets them).

    Raises:
        psycopg.OperationalError: the server cannot be reached or refuses the login.
    """
    given = conninfo_to_dict(url)
    defaults: dict[str, str | int] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": APPLICATION_NAME}
    conninfo = make_conninfo(url, **{k: v for k, v in defaults.items() if k not in given})
    conn = psycopg.connect(conninfo, autocommit=True)
    if read_only:  # every statement then runs in a read-only transaction (autocommit ignores conn.read_only)
        conn.execute("SET default_transaction_read_only = on")
    return conn


def create_schema(conn: Connection) -> None:
    """Create ``audit_log``, its indexes and append-only triggers if missing (idempotent; one transaction)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK_KEY])
        conn.execute(_SCHEMA)


class PostgresStore:
    """The audit table in the PostgreSQL database at ``url`` (schema created on open).

    Raises:
        psycopg.Error: on open, the database cannot be reached or the schema cannot be created.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = safe_url(url)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer = connect(url)
        try:
            create_schema(self._writer)
        except BaseException:
            self._writer.close()
            raise
        self._reader: Connection | None = None

    def insert_many(self, rows: list[Row]) -> None:
        """Append ``rows`` in one transaction; a broken connection is reopened first.

        Raises:
            psycopg.Error: the batch was not written (the write-behind queue keeps it for a retry).
        """
        if not rows:
            return
        with self._write_lock:
            conn = self._write_conn()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(_INSERT, rows)

    def apply_retention(self, older_than_ms: int | None, max_rows: int | None) -> int:
        """Move the retention horizon forward, then delete the rows behind it in chunks of
        :data:`~.store.RETENTION_CHUNK_ROWS` (one transaction each). Returns the rows deleted.

        Raises:
            psycopg.Error: the database cannot be written (the horizon or the rows stay as they were).
        """
        with self._write_lock:
            conn = self._write_conn()
            with conn.transaction():
                before_id = 0
                if max_rows is not None:
                    row = conn.execute("SELECT max(id) FROM audit_log").fetchone()
                    newest = row[0] if row is not None and row[0] is not None else 0
                    before_id = max(0, newest - max_rows + 1)
                bounds = conn.execute(
                    "UPDATE audit_retention SET before_ms = GREATEST(before_ms, %s), "
                    "before_id = GREATEST(before_id, %s) WHERE id = 1 RETURNING before_ms, before_id",
                    [older_than_ms or 0, before_id],
                ).fetchone()
        assert bounds is not None
        before_ms, before_id = bounds
        deleted = 0
        for sql, bound in (
            (
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id < %s ORDER BY id LIMIT %s)",
                before_id,
            ),
            ("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time_ms < %s LIMIT %s)", before_ms),
        ):
            while True:
                with self._write_lock:  # one chunk per transaction: the writer's inserts interleave
                    n = self._write_conn().execute(sql, [bound, RETENTION_CHUNK_ROWS]).rowcount
                deleted += n
                if n < RETENTION_CHUNK_ROWS:
                    break
        return deleted

    def _write_conn(self) -> Connection:
        """The write connection, reopened first when it broke (call with the write lock held)."""
        if self._writer.closed or self._writer.broken:
            self._writer.close()
            self._writer = connect(self.url)
        return self._writer

    def query(self, q: AuditQuery) -> AuditPage:
        """One page, newest first (blocking; any thread). A read on a connection found broken is retried once on a
        new one.

        Raises:
            psycopg.Error: the database cannot be read.
        """
        with self._read_lock:
            try:
                return run_query(self._read_conn(), q)
            except psycopg.OperationalError:
                if self._reader is None or not self._reader.broken:
                    raise
            return run_query(self._read_conn(), q)

    def _read_conn(self) -> Connection:
        if self._reader is None or self._reader.closed or self._reader.broken:
            if self._reader is not None:
                self._reader.close()
            self._reader = connect(self.url, read_only=True)
        return self._reader

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def run_query(conn: Connection, q: AuditQuery) -> AuditPage:
    """One page of ``audit_log`` on ``conn`` (same filters and cursor as :func:`~.store.query_file`)."""
    limit = clamp_limit(q.limit)
    where, params = build_where(q, "%s")
    rows = conn.execute(f"{_SELECT}{where} ORDER BY id DESC LIMIT %s", [*params, limit + 1]).fetchall()
    return to_page(rows, limit)


def query_url(url: str, q: AuditQuery) -> AuditPage:
    """One page of the audit table at ``url`` on a fresh read-only connection (``tradingmcp audit --db URL``).

    Raises:
        psycopg.Error: the database cannot be reached, or has no ``audit_log`` table.
    """
    with connect(url, read_only=True) as conn:
        return run_query(conn, q)
