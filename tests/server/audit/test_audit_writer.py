"""The write-behind core and the SQLite store without a server: order kept, failures retried, close drains all."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tradingmcp.server.audit.entries import COLUMNS, entry_json
from tradingmcp.server.audit.redact import redact, redacted_json
from tradingmcp.server.audit.store import AuditQuery, SqliteStore, build_where
from tradingmcp.server.audit.writer import WriteBehind


def test_failed_batch_is_retried_in_order_and_bad_items_dropped() -> None:
    written: list[int] = []
    fail = [True]

    def write(rows: list[int]) -> None:
        if fail[0]:
            fail[0] = False
            raise OSError("disk full")
        written.extend(rows)

    def convert(item: int) -> int:
        if item == 3:
            raise ValueError("cannot encode")
        return item * 10

    w: WriteBehind[int, int] = WriteBehind(convert, write, flush_interval_ms=600_000, batch_max=2)
    for i in range(6):
        w.submit(i)
    assert w.drain() == 0 and len(w) == 6 and w.failures == 1  # kept for a retry, nothing lost
    assert w.drain() == 6
    assert written == [0, 10, 20, 40, 50] and w.failures == 2 and len(w) == 0


def test_close_stops_the_thread_and_writes_the_rest() -> None:
    written: list[int] = []
    w: WriteBehind[int, int] = WriteBehind(lambda i: i, written.extend, flush_interval_ms=600_000)
    w.start()
    for i in range(1000):
        w.submit(i)
    assert w.close() == 0
    assert written == list(range(1000)) and w.batches == 1


def test_store_is_append_only_and_pages_newest_first(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    row = tuple(None for _ in COLUMNS)
    rows = [(1000 + i, "tool_call", *row[2:5], f"t{i % 2}", *row[6:]) for i in range(5)]
    store.insert_many(rows)
    page = store.query(AuditQuery(tool="t0", limit=2))
    assert [e["time_ms"] for e in page.entries] == [1004, 1002] and page.next_cursor is not None
    rest = store.query(AuditQuery(tool="t0", limit=2, cursor=page.next_cursor))
    assert [e["time_ms"] for e in rest.entries] == [1000] and rest.next_cursor is None
    assert store.query(AuditQuery(since_ms=1003, until_ms=1003)).entries[0]["tool"] == "t1"
    store.close()
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE id = 1")
    db.close()


def test_build_where_uses_placeholders_only() -> None:
    where, params = build_where(AuditQuery(tool="x'; DROP TABLE audit_log; --", since_ms=5))
    assert "DROP" not in where and params == ["x'; DROP TABLE audit_log; --", 5]


def test_redaction_of_nested_keys_and_results() -> None:
    args = {"a": 1, "X-MBX-APIKEY": "k", "inner": [{"passWord": "p", "ok": 2}], "confirmationToken": "c"}
    assert redact(args) == {"a": 1, "X-MBX-APIKEY": "***", "inner": [{"passWord": "***", "ok": 2}],
                            "confirmationToken": "***"}  # fmt: skip
    text, _ = redacted_json({"api_secret": "s" * 10, "n": "x" * 100}, 40)
    assert "s" * 10 not in text and text.endswith("bytes]")
    assert entry_json(1, (1, "tool_call", *(None,) * 9, text, *(None,) * 6))["result"] == text
