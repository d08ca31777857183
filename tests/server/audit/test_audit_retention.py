"""Bounded audit log: retention by age and by row count (SQLite; PostgreSQL in test_audit_postgres.py) deletes only
rows behind a horizon that only moves forward, the writer thread applies it on open and periodically, and the
``echo`` diagnostic is sampled 1 in N per principal."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.session import RpcError
from tradingmcp.server.audit import DB_NAME, ECHO_SAMPLE, AuditConfig
from tradingmcp.server.audit.entries import COLUMNS
from tradingmcp.server.audit.store import RETENTION_CHUNK_ROWS, SqliteStore
from tradingmcp.server.audit.writer import WriteBehind
from tradingmcp.server.tools.toolset import ToolsetConfig

from ..support import READER_TOKEN, ToolServer, start_tool_server

DAY_MS = 86_400_000
NOW_MS = 1_750_000_000_000


def row(time_ms: int, tool: str = "t") -> tuple[Any, ...]:
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values.update(time_ms=time_ms, kind="tool_call", tool=tool)
    return tuple(values[c] for c in COLUMNS)


def rows_of(path: Path) -> list[tuple[int, int, str]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT id, time_ms, tool FROM audit_log ORDER BY id").fetchall()
    finally:
        db.close()


def test_sqlite_retention_by_age_then_by_rows_and_the_rest_stays_append_only(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    store.insert_many([row(NOW_MS - 40 * DAY_MS, "old"), row(NOW_MS - 31 * DAY_MS, "old")])
    store.insert_many([row(NOW_MS - 29 * DAY_MS + i, "new") for i in range(5)])
    assert store.apply_retention(NOW_MS - 30 * DAY_MS, None) == 2  # older than 30 days
    assert [r[2] for r in rows_of(store.path)] == ["new"] * 5
    assert store.apply_retention(NOW_MS - 30 * DAY_MS, 3) == 2  # only the newest 3 rows stay
    assert [r[0] for r in rows_of(store.path)] == [5, 6, 7]
    assert store.apply_retention(None, None) == 0  # nothing new behind the horizon
    store.close()

    db = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_log WHERE id = 5")  # in front of the horizon
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_log SET tool = 'x' WHERE id = 6")
        for statement in (
            "UPDATE audit_retention SET before_ms = 0",
            "UPDATE audit_retention SET before_id = 1",
            "DELETE FROM audit_retention",
            "INSERT OR REPLACE INTO audit_retention (id, before_ms, before_id) VALUES (1, 0, 0)",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="only moves forward"):
                db.execute(statement)
        assert db.execute("SELECT before_ms, before_id FROM audit_retention").fetchone() == (NOW_MS - 30 * DAY_MS, 5)
        assert db.execute("SELECT count(*) FROM audit_log").fetchone() == (3,)
    finally:
        db.close()


def test_sqlite_retention_deletes_in_chunks_and_reopened_databases_keep_the_rules(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    total = 2 * RETENTION_CHUNK_ROWS + 5
    store.insert_many([row(NOW_MS + i) for i in range(total)])
    assert store.apply_retention(None, 10) == total - 10
    store.close()
    again = SqliteStore(tmp_path)  # opening again keeps the horizon and the rules
    assert [r[0] for r in rows_of(again.path)] == list(range(total - 9, total + 1))
    again.insert_many([row(NOW_MS + total)])
    assert again.apply_retention(None, 10) == 1
    again.close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_log")
    finally:
        db.close()


def test_sqlite_database_made_before_retention_gets_it_on_open(tmp_path: Path) -> None:
    """A log created with an unconditional no-delete trigger (before retention existed) is migrated on open."""
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
        " exchange TEXT, mode TEXT, principal TEXT, tool TEXT, outcome TEXT, error_code TEXT, error TEXT,"
        " latency_us REAL, arguments TEXT, result TEXT, symbol TEXT, order_id TEXT, client_order_id TEXT,"
        " execution_type TEXT, status TEXT, fill TEXT);"
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
        " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
        f"INSERT INTO audit_log (time_ms, kind, tool) VALUES ({NOW_MS - 90 * DAY_MS}, 'tool_call', 'old');"
        f"INSERT INTO audit_log (time_ms, kind, tool) VALUES ({NOW_MS}, 'tool_call', 'new');"
    )
    db.close()
    store = SqliteStore(tmp_path)
    assert store.apply_retention(NOW_MS - 30 * DAY_MS, None) == 1
    assert [r[2] for r in rows_of(store.path)] == ["new"]
    store.close()


def test_writer_runs_housekeeping_on_start_by_count_and_survives_its_failure() -> None:
    runs: list[int] = []
    failed = threading.Event()

    def housekeeping() -> None:
        runs.append(len(written))
        if len(runs) == 2:
            failed.set()
            raise OSError("disk full")

    written: list[int] = []
    w: WriteBehind[int, int] = WriteBehind(
        lambda i: i,
        written.extend,
        flush_interval_ms=1,
        housekeeping=housekeeping,
        housekeeping_interval_s=3600,  # only the start and the row count can trigger it in this test
        housekeeping_every=100,
    )
    w.start()
    deadline = time.monotonic() + 10
    while not runs and time.monotonic() < deadline:
        time.sleep(0.001)
    assert runs == [0]  # on open, before anything was written
    for i in range(99):
        w.submit(i)
    while len(written) < 99 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert runs == [0]  # 99 rows: not yet
    w.submit(99)
    assert failed.wait(10)
    for i in range(100, 200):
        w.submit(i)
    assert w.close() == 0
    assert written == list(range(200))  # a failing housekeeping never stops the writing
    assert runs[:2] == [0, 100] and w.housekeeping_failures == 1 and w.housekeeping_runs >= 2


async def test_the_audit_log_applies_retention_when_it_opens(data_dir: Path, tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    now_ms = time.time_ns() // 1_000_000
    store = SqliteStore(audit_dir)
    store.insert_many([row(now_ms - 8 * DAY_MS, "ancient"), row(now_ms - 6 * DAY_MS, "recent")])
    store.close()
    config = ToolsetConfig(audit=AuditConfig(data_dir=audit_dir, retention_days=7, max_rows=0))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        # the writer thread counts the rows once its delete has committed: wait for the count, then read the file
        async with asyncio.timeout(10):
            while srv.stack.toolset.audit.stats()["deleted"] < 1:  # noqa: ASYNC110 - a counter, no event
                await asyncio.sleep(0.02)
        assert [r[2] for r in rows_of(audit_dir / DB_NAME)][:1] == ["recent"]
        assert srv.stack.toolset.audit.stats()["deleted"] == 1


async def test_echo_is_audited_one_in_n_per_principal_and_always_when_it_fails(tool_server: ToolServer) -> None:
    calls = 2 * ECHO_SAMPLE + 50
    async with tool_server.client() as c:
        for i in range(calls):
            await c.call_tool("echo", {"i": i})
        with pytest.raises(RpcError):
            await c.request("tools/call", {"name": "echo", "arguments": [1]})  # not an object: -32602
        for _ in range(3):
            await c.call_tool("get_server_info", {})
    async with tool_server.client(token=READER_TOKEN) as reader:
        await reader.call_tool("echo", {"who": "reader"})
    audit = tool_server.stack.toolset.audit
    await audit.flush()
    db = sqlite3.connect(audit.path)
    try:
        echoes = db.execute(
            "SELECT principal, outcome, arguments FROM audit_log WHERE tool = 'echo' ORDER BY id"
        ).fetchall()
        infos = db.execute("SELECT count(*) FROM audit_log WHERE tool = 'get_server_info'").fetchone()[0]
    finally:
        db.close()
    ok = [(p, a) for p, o, a in echoes if o == "ok"]
    assert ok == [("trader", f'{{"i":{i}}}') for i in (0, ECHO_SAMPLE, 2 * ECHO_SAMPLE)] + [
        ("reader", '{"who":"reader"}')
    ]
    assert [o for _, o, _ in echoes].count("rpc_error") == 1  # a failed echo is always audited
    assert infos == 3  # other tools: every call
    assert audit.stats()["sampled_out"] == calls - 3


def test_audit_settings_load_from_toml_with_defaults_and_clear_errors(tmp_path: Path) -> None:
    defaults = ToolsetConfig.load(None, environ={}).audit
    assert (defaults.retention_days, defaults.max_rows, dict(defaults.sample)) == (30.0, 1_000_000, {"echo": 100})
    path = tmp_path / "t.toml"
    path.write_text("[audit]\nretention_days = 7\nmax_rows = 500\nretention_interval_s = 5\nsample = {}\n")
    audit = ToolsetConfig.load(path, environ={}).audit
    assert (audit.retention_days, audit.max_rows, audit.retention_interval_s, dict(audit.sample)) == (7, 500, 5, {})
    for bad, says in (
        ("retention_days = -1", "retention_days"),
        ('max_rows = "many"', "max_rows"),
        ("max_rows = 1.5", "max_rows"),
        ("retention_interval_s = 0", "retention_interval_s"),
        ("sample = { echo = 0 }", "sample.echo"),
        ("sample = 5", "sample"),
        ("keep = 3", "unknown key"),
    ):
        path.write_text(f"[audit]\n{bad}\n")
        with pytest.raises(ValueError, match=says):
            ToolsetConfig.load(path, environ={})
