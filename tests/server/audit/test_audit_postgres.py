"""The audit log on a REAL PostgreSQL: a throwaway cluster (initdb + pg_ctl) in a temp dir, listening on 127.0.0.1 on
a free port and on a unix socket in that dir, one fresh database per test, stopped at the end of the module.

Skipped (the PostgreSQL store is an optional backend) when the server binaries (``initdb``, ``pg_ctl``) are
missing, or when running as root without a ``postgres`` user to run them as.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from tradingmcp.app.cli import main
from tradingmcp.server.audit import DB_NAME, AuditConfig
from tradingmcp.server.audit.entries import COLUMNS
from tradingmcp.server.audit.pgstore import PostgresStore, query_url
from tradingmcp.server.audit.store import AuditQuery, safe_url
from tradingmcp.server.audit.writer import WriteBehind
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side
from tradingmcp.server.tools.toolset import ToolsetConfig

from ..support import READER_TOKEN, TRADER_TOKEN, start_tool_server
from .test_audit import PLANTED, PLANTED_CONFIRM, PLANTED_NESTED, audit_log, make_every_kind_of_call

URL_PASSWORD = "pg-password-must-not-show"  # trust auth ignores it; it must never be shown
BIN_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql*/bin",
)


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: on PATH, else the newest of the usual install places."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = [Path(d) for pattern in BIN_GLOBS for d in glob.glob(pattern)]
    found = [d for d in found if (d / "initdb").is_file() and (d / "pg_ctl").is_file()]

    def version(d: Path) -> tuple[int, ...]:
        digits = "".join(c if c.isdigit() else " " for c in str(d)).split()
        return tuple(int(x) for x in digits)

    return max(found, key=version) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PgCluster:
    """A running throwaway cluster: superuser ``tmcp`` (trust auth), ``port`` on 127.0.0.1, socket in ``socket_dir``."""

    port: int
    socket_dir: Path
    made: int = 0

    def admin(self) -> Any:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="tmcp", dbname="postgres", autocommit=True
        )

    def new_database(self) -> str:
        """A fresh empty database; its URL (TCP, with a password that trust auth ignores)."""
        self.made += 1
        name = f"audit_{self.made}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://tmcp:{URL_PASSWORD}@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCluster]:
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: the optional PostgreSQL store is untested")
    runner: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres OS user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' OS user to run initdb/pg_ctl as")
        runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
        if runuser is None:
            pytest.skip("running as root and no runuser to run initdb/pg_ctl as the postgres user")
        runner = [runuser, "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="tmcp-pg-"))  # short: unix socket paths are limited to ~100 bytes
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=40"
    )

    def run(*cmd: str) -> None:
        done = subprocess.run([*runner, *cmd], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}\n{server_log}")

    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "tmcp", "-A", "trust", "-E", "UTF8", "--no-locale",
            "--no-sync", "--no-instructions")  # fmt: skip
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
        started = True
        yield PgCluster(port, root)
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop")
        shutil.rmtree(root, ignore_errors=True)


def scalar(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def blank_row(time_ms: int, tool: str, **cols: Any) -> tuple[Any, ...]:
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values.update(time_ms=time_ms, kind="tool_call", tool=tool, **cols)
    return tuple(values[c] for c in COLUMNS)


async def test_calls_land_redacted_append_only_and_close_flushes(data_dir: Path, tmp_path: Path, pg: PgCluster) -> None:
    url = pg.new_database()
    # an interval far longer than the test: only close() can have written the rows
    audit = AuditConfig(postgres_url=url, flush_interval_ms=600_000)
    async with start_tool_server(data_dir, tmp_path, ToolsetConfig(audit=audit)) as srv:
        srv.sim.step(2000)
        await make_every_kind_of_call(srv)
        log = srv.stack.toolset.audit
        assert log.pending >= 5  # still queued: written behind, not on the call path
        with psycopg.connect(url) as conn:
            assert scalar(conn, "SELECT count(*) FROM audit_log") == 0
        stats = log.stats()
        assert URL_PASSWORD not in str(stats) and stats["path"].startswith("postgresql://tmcp:***@127.0.0.1")
    assert not (tmp_path / "audit" / DB_NAME).exists()  # nothing went to SQLite

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT principal, tool, outcome, error_code, exchange, mode, arguments, latency_us, id FROM audit_log "
            "WHERE kind = 'tool_call' ORDER BY id"
        ).fetchall()
        outcomes = {(r[1], r[2]) for r in rows}
        assert ("get_ticker", "ok") in outcomes and ("echo", "ok") in outcomes
        assert ("get_ticker", "tool_error") in outcomes and ("no_such_tool", "rpc_error") in outcomes
        forbidden = [r for r in rows if r[1] == "audit_trade_probe"]
        assert forbidden and forbidden[0][0] == "reader" and forbidden[0][3] == "forbidden"
        assert {r[0] for r in rows} == {"trader", "reader"}
        assert all(r[4] == "binance" and r[5] == "sim" and r[7] > 0 for r in rows)
        assert [r[8] for r in rows] == sorted({r[8] for r in rows})  # ids unique and increasing
        echo_args = next(r[6] for r in rows if r[1] == "echo")
        assert '"api_secret":"***"' in echo_args and '"password":"***"' in echo_args
        everything = scalar(conn, "SELECT string_agg(t::text, '|') FROM audit_log t")
        for secret in (PLANTED, PLANTED_NESTED, PLANTED_CONFIRM, TRADER_TOKEN, READER_TOKEN):
            assert secret not in everything, f"{secret} reached the audit table"
        for statement in ("UPDATE audit_log SET tool = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert scalar(conn, "SELECT count(*) FROM audit_log") == len(rows)


async def test_tool_and_cli_filter_page_and_find_order_events(
    data_dir: Path, tmp_path: Path, pg: PgCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.new_database()
    started_ms = time.time_ns() // 1_000_000
    every_call = ToolsetConfig(audit=AuditConfig(postgres_url=url, sample={}))  # every echo call, to page through
    async with start_tool_server(data_dir, tmp_path, every_call) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            for i in range(7):
                await c.call_tool("echo", {"i": i, "password": "pw-should-not-show"})
            page = await audit_log(c, tool="echo", limit=3)
            seen = [e["arguments"]["i"] for e in page["entries"]]
            while page["next_cursor"] is not None:
                page = await audit_log(c, tool="echo", limit=3, cursor=page["next_cursor"])
                seen += [e["arguments"]["i"] for e in page["entries"]]
            assert seen == [6, 5, 4, 3, 2, 1, 0]  # newest first, every page
            first = (await audit_log(c, tool="echo", limit=1))["entries"][0]
            assert first["principal"] == "trader" and first["result"]["i"] == 6 and first["time_ms"] >= started_ms
            assert first["arguments"]["password"] == "***"
            assert (await audit_log(c, principal="reader"))["count"] == 0
            assert (await audit_log(c, tool="echo", since_ms=time.time_ns() // 1_000_000 + 60_000))["count"] == 0
            assert (await audit_log(c, tool="echo", until_ms=started_ms - 1))["count"] == 0

            request = OrderRequest(
                "BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal("0.001"), client_order_id="pg-1"
            )
            order = await srv.venues.get().adapter.place_order(request)
            entries: list[dict[str, Any]] = []
            async with asyncio.timeout(5):
                while not any(e["execution_type"] == "TRADE" for e in entries):
                    await asyncio.sleep(0.02)
                    entries = (await audit_log(c, kind="order_event", client_order_id="pg-1"))["entries"]
        trade = next(e for e in entries if e["execution_type"] == "TRADE")
        assert trade["order_id"] == str(order.order_id) and trade["exchange"] == "binance"
        assert Decimal(trade["fill"]["qty"]) > 0 and trade["result"]["order"]["client_order_id"] == "pg-1"

        # the CLI reads the live server's table
        assert main(["audit", "--db", url, "--json", "--tool", "echo", "--limit", "2"]) == 0
        cli_page = orjson.loads(capsys.readouterr().out)
        assert [e["arguments"]["i"] for e in cli_page["entries"]] == [6, 5]
        assert main(["audit", "--db", url, "--json", "--tool", "echo", "--cursor", str(cli_page["next_cursor"])]) == 0
        assert [e["arguments"]["i"] for e in orjson.loads(capsys.readouterr().out)["entries"]] == [4, 3, 2, 1, 0]
        assert main(["audit", "--db", url, "--kind", "order_event", "--since", "1h"]) == 0
        table = capsys.readouterr().out
        assert "pg-1" in table and "TRADE" in table and "pw-should-not-show" not in table


def test_cli_errors_hide_the_password(pg: PgCluster, capsys: pytest.CaptureFixture[str]) -> None:
    dead = f"postgresql://tmcp:{URL_PASSWORD}@127.0.0.1:{free_port()}/nope?connect_timeout=3"
    assert main(["audit", "--db", dead]) == 2
    err = capsys.readouterr().err
    assert "cannot read postgresql://tmcp:***@127.0.0.1" in err and URL_PASSWORD not in err
    empty = pg.new_database()  # reachable, but no audit_log table
    assert main(["audit", "--db", empty]) == 2
    err = capsys.readouterr().err
    assert "audit_log" in err and URL_PASSWORD not in err


def test_store_batches_reconnects_and_schema_is_idempotent(pg: PgCluster) -> None:
    url = pg.new_database()
    store = PostgresStore(url)
    writer: WriteBehind[int, tuple[Any, ...]] = WriteBehind(
        lambda i: blank_row(1000 + i, f"t{i % 2}", client_order_id=f"c{i}"), store.insert_many, batch_max=1000
    )
    for i in range(2500):
        writer.submit(i)
    assert writer.drain() == 2500 and writer.batches == 3
    page = store.query(AuditQuery(tool="t0", limit=2))
    assert [e["time_ms"] for e in page.entries] == [3498, 3496] and page.next_cursor is not None
    rest = store.query(AuditQuery(tool="t0", limit=2, cursor=page.next_cursor))
    assert [e["time_ms"] for e in rest.entries] == [3494, 3492]
    assert [e["tool"] for e in store.query(AuditQuery(since_ms=1003, until_ms=1003)).entries] == ["t1"]
    assert store.query(AuditQuery(client_order_id="c7")).entries[0]["time_ms"] == 1007
    assert len(store.query(AuditQuery(limit=10_000)).entries) == 200  # capped

    again = PostgresStore(url)  # a second server on the same database: schema creation is idempotent
    with psycopg.connect(url, autocommit=True) as conn:
        assert scalar(conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass") == 2
        # the database restarts under the store: every session of this database is killed
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(psycopg.OperationalError):
        store.insert_many([blank_row(5000, "after")])  # the batch is refused (the write-behind keeps it) ...
    store.insert_many([blank_row(5000, "after")])  # ... and the retry reconnects
    assert [e["time_ms"] for e in store.query(AuditQuery(tool="after")).entries] == [5000]  # reader reconnected too
    retried: WriteBehind[int, tuple[Any, ...]] = WriteBehind(lambda t: blank_row(t, "after"), again.insert_many)
    retried.submit(5001)
    assert retried.drain() == 0 and len(retried) == 1 and retried.failures == 1  # its session was killed too: kept
    assert retried.drain() == 1 and len(retried) == 0  # written on the next round, nothing lost
    assert [e["time_ms"] for e in query_url(url, AuditQuery(tool="after")).entries] == [5001, 5000]
    store.close()
    again.close()


def test_retention_by_age_and_rows_deletes_only_behind_a_forward_only_horizon(pg: PgCluster) -> None:
    url = pg.new_database()
    store = PostgresStore(url)
    day, now = 86_400_000, 1_750_000_000_000
    store.insert_many([blank_row(now - 40 * day, "old"), blank_row(now - 31 * day, "old")])
    store.insert_many([blank_row(now - 29 * day + i, "new") for i in range(5)])
    assert store.apply_retention(now - 30 * day, None) == 2
    assert [e["tool"] for e in store.query(AuditQuery(limit=200)).entries] == ["new"] * 5
    assert store.apply_retention(now - 30 * day, 3) == 2  # only the newest 3 rows stay
    assert store.apply_retention(None, None) == 0
    again = PostgresStore(url)  # schema creation on a database with a horizon is idempotent
    again.close()
    with psycopg.connect(url, autocommit=True) as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM audit_log ORDER BY id").fetchall()] == [5, 6, 7]
        for statement in (
            "DELETE FROM audit_log WHERE id = 5",
            "UPDATE audit_log SET tool = 'x'",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        for statement in (
            "UPDATE audit_retention SET before_ms = 0",
            "UPDATE audit_retention SET before_id = 1",
            "DELETE FROM audit_retention",
            "TRUNCATE audit_retention",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="only moves forward"):
                conn.execute(statement)
        assert conn.execute("SELECT before_ms, before_id FROM audit_retention").fetchone() == (now - 30 * day, 5)
        assert scalar(conn, "SELECT count(*) FROM audit_log") == 3
    store.close()


def test_safe_url_hides_passwords() -> None:
    assert safe_url("postgresql://u:s3cret@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    assert (
        safe_url("postgresql://h/db?password=s3cret&sslmode=require")
        == "postgresql://h/db?password=***&sslmode=require"
    )
    assert safe_url("host=h password='a b' dbname=x") == "host=h password=*** dbname=x"
    assert safe_url("postgresql://u@h/db") == "postgresql://u@h/db"
