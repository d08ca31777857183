"""``tradingmcp audit`` (options defined in ``tradingmcp.app.cli``): query the audit database from a shell (a table
with rich, or ``--json``).

Works on a live server's database (WAL readers never block the writer) or a stopped one's; opens it read-only.
``--db`` takes a file or a PostgreSQL URL (``postgresql://user:password@host/db``, the server's
``AuditConfig.postgres_url``); a ``--postgres-url`` option, when the parser defines one, wins over ``--db``.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import orjson

from tradingmcp.server.audit.entries import KIND_ORDER_EVENT, KIND_SAFETY_EVENT
from tradingmcp.server.audit.store import DB_NAME, AuditPage, AuditQuery, is_postgres_url, query_file, safe_url

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_time_ms(text: str, now_ms: int | None = None) -> int:
    """``1723118400000`` (ms since the epoch) or a duration before now: ``90s``, ``15m``, ``2h``, ``1d``.

    Raises:
        ValueError: neither form.
    """
    if text.isdigit():
        return int(text)
    m = _RELATIVE.match(text)
    if m is None:
        raise ValueError(f"{text!r}: use ms since the epoch or a duration like 15m, 2h, 1d")
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    return now - int(m[1]) * _UNIT_MS[m[2]]


def default_db_path() -> Path:
    """``$TRADINGMCP_DATA_DIR/audit.sqlite3`` or ``var/audit.sqlite3``."""
    from tradingmcp.server.audit import default_data_dir

    return default_data_dir() / DB_NAME


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the page ``args`` (the ``tradingmcp audit`` options) selects.

    Returns 0, or 2 on a bad time, or a database that is missing or unreadable (message on stderr).
    """
    out = out if out is not None else sys.stdout
    url: str | None = getattr(args, "postgres_url", None)
    if url is None and args.db and is_postgres_url(args.db):
        url = args.db
    db = Path(args.db) if args.db else default_db_path()
    try:
        since = parse_time_ms(args.since) if args.since else None
        until = parse_time_ms(args.until) if args.until else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    q = AuditQuery(
        since_ms=since,
        until_ms=until,
        tool=args.tool,
        principal=args.principal,
        outcome=args.outcome,
        kind=args.kind,
        exchange=args.exchange,
        client_order_id=args.client_order_id,
        limit=args.limit,
        cursor=args.cursor,
    )
    if url is not None:
        page = _query_postgres(url, q)
        if page is None:
            return 2
    else:
        try:
            page = query_file(db, q)
        except (OSError, sqlite3.Error) as exc:  # a missing file, or not an audit database
            print(f"error: cannot read {db}: {exc}", file=sys.stderr)
            return 2
    if args.json:
        out.write(orjson.dumps({"entries": page.entries, "next_cursor": page.next_cursor}).decode() + "\n")
        return 0
    print_table(page.entries, out)
    if page.next_cursor is not None:
        out.write(f"more: --cursor {page.next_cursor}\n")
    return 0


def _query_postgres(url: str, q: AuditQuery) -> AuditPage | None:
    """One page from PostgreSQL, or None after printing why not (password hidden)."""
    import psycopg

    from tradingmcp.server.audit.pgstore import query_url

    try:
        return query_url(url, q)
    except psycopg.Error as exc:  # unreachable, login refused, or no audit_log table
        reason = safe_url(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        print(f"error: cannot read {safe_url(url)}: {reason}", file=sys.stderr)
        return None


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}"


def _row(e: dict[str, Any]) -> list[str]:
    if e["kind"] == KIND_ORDER_EVENT:
        what = f"{e.get('symbol')} #{e.get('order_id')} {e.get('client_order_id')}"
        fill = e.get("fill")
        detail = f"fill {fill['qty']} @ {fill['price']}" if isinstance(fill, dict) else (e.get("error") or "")
        return [str(e["id"]), _iso(e["time_ms"]), "order", str(e.get("exchange")), "", what,
                f"{e.get('execution_type')} {e.get('status')}", "", detail]  # fmt: skip
    if e["kind"] == KIND_SAFETY_EVENT:
        return [str(e["id"]), _iso(e["time_ms"]), "safety", str(e.get("exchange")), "", str(e.get("tool")),
                str(e.get("status") or ""), "", str(e.get("error") or "")[:80]]  # fmt: skip
    args = orjson.dumps(e.get("arguments", {})).decode()
    detail = f"{e.get('error_code')}: {e.get('error')}" if e.get("outcome") != "ok" else args
    return [str(e["id"]), _iso(e["time_ms"]), "call", str(e.get("exchange")), str(e.get("principal")),
            str(e.get("tool")), str(e.get("outcome")), f"{e.get('latency_us', 0):.0f}", detail[:80]]  # fmt: skip


def print_table(entries: list[dict[str, Any]], out: TextIO) -> None:
    """A rich table of entries (plain columns when ``out`` is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"audit log ({len(entries)} entries, newest first)")
    for name in ("id", "time (UTC)", "kind", "exchange", "principal", "tool / order", "outcome", "µs", "detail"):
        table.add_column(name, overflow="fold")
    for e in entries:
        table.add_row(*_row(e))
    Console(file=out, width=160).print(table)
