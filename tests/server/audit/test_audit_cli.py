"""``tradingmcp audit`` reads a running server's audit database: a table, JSON, filters, paging, clear errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tradingmcp.app.cli import main
from tradingmcp.server.audit.cli import parse_time_ms

from ..support import start_tool_server
from .test_audit import EVERY_CALL


async def test_cli_prints_rows_of_a_live_database(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with start_tool_server(data_dir, tmp_path, EVERY_CALL) as tool_server:
        async with tool_server.client() as c:
            for i in range(3):
                await c.call_tool("echo", {"i": i, "password": "pw-should-not-show"})
            bad = await c.call_tool("get_ticker", {"symbol": "NOPEUSDT"})
            assert bad["isError"]
        audit = tool_server.stack.toolset.audit
        await audit.flush()
        db = str(audit.path)

        assert main(["audit", "--db", db, "--tool", "echo", "--since", "1h"]) == 0
        table = capsys.readouterr().out
        assert table.count("trader") == 3 and "echo" in table and '"i":2' in table
        assert "pw-should-not-show" not in table and '"password":"***"' in table

        assert main(["audit", "--db", db, "--json", "--tool", "echo", "--limit", "2"]) == 0
        page = orjson.loads(capsys.readouterr().out)
        assert [e["arguments"]["i"] for e in page["entries"]] == [2, 1] and page["next_cursor"] is not None
        assert main(["audit", "--db", db, "--json", "--tool", "echo", "--cursor", str(page["next_cursor"])]) == 0
        assert [e["arguments"]["i"] for e in orjson.loads(capsys.readouterr().out)["entries"]] == [0]

        assert main(["audit", "--db", db, "--json", "--outcome", "tool_error"]) == 0
        errors = orjson.loads(capsys.readouterr().out)["entries"]
        assert [e["tool"] for e in errors] == ["get_ticker"]


def test_cli_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--db", str(tmp_path / "missing.sqlite3")]) == 2
    assert "no audit database" in capsys.readouterr().err
    assert main(["audit", "--db", str(tmp_path / "missing.sqlite3"), "--since", "yesterday"]) == 2
    assert "15m" in capsys.readouterr().err


def test_parse_time_ms() -> None:
    assert parse_time_ms("1723118400000") == 1723118400000
    assert parse_time_ms("15m", now_ms=1_000_000) == 100_000
    assert parse_time_ms("2h", now_ms=10_000_000) == 2_800_000
    with pytest.raises(ValueError):
        parse_time_ms("-5m")


async def test_cli_shows_safety_events(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with start_tool_server(data_dir, tmp_path) as tool_server:
        venue = tool_server.venues.get()
        desk = tool_server.stack.toolset.desk
        assert desk is not None
        desk.rail_event(  # as a loss limit tripping tells it
            venue,
            {
                "event": "safety",
                "kind": "limit_breach",
                "code": "safety_max_daily_loss",
                "state": "tripped",
                "message": "max_daily_loss 8 tripped on binance: loss 8.03",
            },
        )
        audit = tool_server.stack.toolset.audit
        await audit.flush()
        db = str(audit.path)
        assert main(["audit", "--db", db, "--kind", "safety_event"]) == 0
        table = capsys.readouterr().out
        assert "safety" in table and "limit_breach" in table and "tripped" in table and "loss 8.03" in table
        assert main(["audit", "--db", db, "--json", "--kind", "safety_event"]) == 0
        (entry,) = orjson.loads(capsys.readouterr().out)["entries"]
        assert (entry["tool"], entry["error_code"], entry["status"]) == (
            "limit_breach",
            "safety_max_daily_loss",
            "tripped",
        )
        assert entry["result"]["message"].startswith("max_daily_loss 8") and entry["mode"] == "sim"
