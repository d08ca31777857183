"""The audit log over the real wire: every call and order event lands in SQLite (WAL), secrets never do, a clean
shutdown writes everything, and ``get_audit_log`` filters and pages."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from tradingmcp.client.session import RpcError
from tradingmcp.server.audit import DB_NAME, AuditConfig
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side
from tradingmcp.server.mcp.engine import Call
from tradingmcp.server.mcp.registry import McpApp, Tool
from tradingmcp.server.mcp.schema import MAX_ARGUMENT_DEPTH
from tradingmcp.server.tools.toolset import ToolsetConfig

from ..support import AUDITOR_TOKEN, READER_TOKEN, TRADER_TOKEN, ToolServer, start_tool_server

PLANTED = "planted-secret-9f8e7d6c5b4a"
PLANTED_NESTED = "planted-password-0a1b2c3d"
PLANTED_CONFIRM = "planted-confirm-77aa88bb"


def add_trade_probe(app: McpApp) -> None:
    """A trade-scope tool for this test (the forbidden path with a read token)."""

    def probe(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    if "audit_trade_probe" not in app.tools:
        app.add_tool(Tool("audit_trade_probe", "trade-scope probe", probe, {"type": "object"}, scope="trade"))


async def make_every_kind_of_call(srv: ToolServer) -> None:
    add_trade_probe(srv.app)
    async with srv.client() as c:
        ok = await c.call_tool("get_ticker", {"symbol": "BTCUSDT"})
        assert ok["isError"] is False
        secret_args = {"symbol": "BTCUSDT", "api_secret": PLANTED, "nested": {"password": PLANTED_NESTED}}
        echoed = await c.call_tool("echo", {**secret_args, "confirmation_token": PLANTED_CONFIRM})
        assert echoed["structuredContent"]["api_secret"] == PLANTED  # the caller gets its answer unchanged
        bad = await c.call_tool("get_ticker", {"symbol": "NOPEUSDT"})
        assert bad["isError"] is True
        with pytest.raises(RpcError):
            await c.call_tool("no_such_tool", {"signature": PLANTED})
    async with srv.client(token=READER_TOKEN) as reader:
        denied = await reader.call_tool("audit_trade_probe", {"x": 1})
        assert denied["isError"] is True and denied["structuredContent"]["error"]["code"] == "forbidden"


async def test_every_call_is_logged_without_secrets_and_close_flushes(data_dir: Path, tmp_path: Path) -> None:
    # an interval far longer than the test: only close() can have written the rows
    audit = AuditConfig(data_dir=tmp_path / "audit", flush_interval_ms=600_000)
    async with start_tool_server(data_dir, tmp_path, ToolsetConfig(audit=audit)) as srv:
        srv.sim.step(2000)
        await make_every_kind_of_call(srv)
        log = srv.stack.toolset.audit
        assert log.pending >= 5  # still queued: written behind, not on the call path
    db_path = tmp_path / "audit" / DB_NAME
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute(
            "SELECT principal, tool, outcome, error_code, exchange, mode, arguments, latency_us FROM audit_log "
            "WHERE kind = 'tool_call' ORDER BY id"
        ).fetchall()
        outcomes = {(r[1], r[2]) for r in rows}
        assert ("get_ticker", "ok") in outcomes and ("echo", "ok") in outcomes
        assert ("get_ticker", "tool_error") in outcomes
        assert ("no_such_tool", "rpc_error") in outcomes
        forbidden = [r for r in rows if r[1] == "audit_trade_probe"]
        assert forbidden and forbidden[0][0] == "reader" and forbidden[0][3] == "forbidden"
        assert {r[0] for r in rows} == {"trader", "reader"}
        assert all(r[4] == "binance" and r[5] == "sim" and r[7] > 0 for r in rows)
        echo_args = next(r[6] for r in rows if r[1] == "echo")
        assert '"api_secret":"***"' in echo_args and '"password":"***"' in echo_args
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_log SET tool = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_log")
    finally:
        db.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "audit").iterdir())
    for secret in (PLANTED, PLANTED_NESTED, PLANTED_CONFIRM, TRADER_TOKEN, READER_TOKEN):
        assert secret.encode() not in raw, f"{secret} reached the audit database"


async def audit_log(c: Any, **args: Any) -> dict[str, Any]:
    res = await c.call_tool("get_audit_log", args)
    assert res["isError"] is False, res
    out: dict[str, Any] = res["structuredContent"]
    return out


EVERY_CALL = ToolsetConfig(audit=AuditConfig(sample={}))
"""Every ``echo`` call audited (by default 1 in ``ECHO_SAMPLE`` per principal is): tests that page through them."""


async def test_get_audit_log_filters_and_pages(data_dir: Path, tmp_path: Path) -> None:
    started_ms = time.time_ns() // 1_000_000
    async with start_tool_server(data_dir, tmp_path, EVERY_CALL) as tool_server, tool_server.client() as c:
        for i in range(7):
            await c.call_tool("echo", {"i": i})
        page = await audit_log(c, tool="echo", limit=3)
        seen = [e["arguments"]["i"] for e in page["entries"]]
        assert seen == [6, 5, 4]  # newest first
        while page["next_cursor"] is not None:
            page = await audit_log(c, tool="echo", limit=3, cursor=page["next_cursor"])
            seen += [e["arguments"]["i"] for e in page["entries"]]
        assert seen == [6, 5, 4, 3, 2, 1, 0]
        first = (await audit_log(c, tool="echo", limit=1))["entries"][0]
        assert first["principal"] == "trader" and first["outcome"] == "ok" and first["exchange"] == "binance"
        assert first["result"] == {"i": 6} and first["time_ms"] >= started_ms
        assert (await audit_log(c, principal="reader"))["count"] == 0
        assert (await audit_log(c, tool="echo", since_ms=time.time_ns() // 1_000_000 + 60_000))["count"] == 0
        assert (await audit_log(c, tool="echo", until_ms=started_ms - 1))["count"] == 0
        # the audit tool audits itself: the calls above are there too
        assert (await audit_log(c, tool="get_audit_log", outcome="ok"))["count"] >= 5
        bad = await c.call_tool("get_audit_log", {"cursor": "abc"})
        assert bad["isError"] and bad["structuredContent"]["error"]["code"] == "invalid_cursor"
        text = (await c.call_tool("get_audit_log", {"tool": "echo", "limit": 2}))["content"][0]["text"]
        assert "trader echo ok" in text and "more: cursor=" in text


async def test_a_token_sees_only_its_own_calls_unless_it_has_the_audit_scope(tool_server: ToolServer) -> None:
    async with tool_server.client() as trader:
        await trader.call_tool("echo", {"who": "trader"})
    async with tool_server.client(token=READER_TOKEN) as reader:
        await reader.call_tool("echo", {"who": "reader"})
        mine = await audit_log(reader, tool="echo")
        assert [e["principal"] for e in mine["entries"]] == ["reader"]
        assert (await audit_log(reader, principal="trader"))["count"] == 0  # asking by name does not widen it
    async with tool_server.client(token=AUDITOR_TOKEN) as auditor:
        everyone = await audit_log(auditor, tool="echo")
        assert [e["principal"] for e in everyone["entries"]] == ["reader", "trader"]
        assert (await audit_log(auditor, principal="trader"))["entries"][0]["arguments"] == {"who": "trader"}


async def test_order_events_land_in_the_log(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    adapter = tool_server.venues.get().adapter
    request = OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal("0.001"), client_order_id="audit-1")
    order = await adapter.place_order(request)
    assert order.client_order_id == "audit-1"
    async with tool_server.client() as c:
        entries: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not any(e["execution_type"] == "TRADE" for e in entries):
                await asyncio.sleep(0.02)
                entries = (await audit_log(c, kind="order_event", client_order_id="audit-1"))["entries"]
    trade = next(e for e in entries if e["execution_type"] == "TRADE")
    assert trade["order_id"] == str(order.order_id) and trade["symbol"] == "BTCUSDT"
    assert trade["exchange"] == "binance" and trade["mode"] == "sim"
    assert trade["status"] in ("PARTIALLY_FILLED", "FILLED")
    assert Decimal(trade["fill"]["qty"]) > 0 and trade["result"]["order"]["client_order_id"] == "audit-1"
    assert any(e["execution_type"] == "NEW" for e in entries)


async def test_one_client_order_id_finds_the_call_and_its_events(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        placed = await c.call_tool(
            "place_order",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "client_order_id": "audit-2"},
        )
        assert placed["isError"] is False, placed
        entries: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not any(e.get("execution_type") == "TRADE" for e in entries):
                await asyncio.sleep(0.02)
                entries = (await audit_log(c, client_order_id="audit-2"))["entries"]
    call = next(e for e in entries if e["kind"] == "tool_call")
    assert call["tool"] == "place_order" and call["principal"] == "trader" and call["symbol"] == "BTCUSDT"
    assert call["order_id"] == str(placed["structuredContent"]["order"]["order_id"])
    assert {e["kind"] for e in entries} == {"tool_call", "order_event"}


async def test_deeply_nested_arguments_are_refused_and_the_refusal_is_logged(tool_server: ToolServer) -> None:
    """Arguments 1,000 levels deep (beyond what our client or orjson can even encode): -32602, no tool runs, the
    refusal is an audit row whose arguments are cut at the depth limit, and the connection keeps being served."""
    deep = b'{"x":' * 999 + b"1" + b"}" * 999
    headers = {"Authorization": f"Bearer {TRADER_TOKEN}"}
    async with (
        asyncio.timeout(10),
        ws_connect(tool_server.url, subprotocols=[Subprotocol("mcp")], additional_headers=headers) as raw,
    ):
        init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw"}}
        await raw.send(orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init}).decode())
        assert "result" in orjson.loads(await raw.recv())
        await raw.send('{"jsonrpc":"2.0","method":"notifications/initialized"}')
        for rid, tool in ((1, b"echo"), (2, b"get_ticker")):
            args = b'{"symbol":"BTCUSDT","nested":' + deep + b"}"
            call = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}'
            await raw.send((call % (rid, tool, args)).decode())
            answer = orjson.loads(await raw.recv())
            assert answer["id"] == rid and answer["error"]["code"] == -32602, answer
            assert f"nested deeper than {MAX_ARGUMENT_DEPTH} levels" in answer["error"]["message"]
        await raw.send('{"jsonrpc":"2.0","id":3,"method":"ping"}')
        assert orjson.loads(await raw.recv()) == {"jsonrpc": "2.0", "id": 3, "result": {}}
    async with tool_server.client() as c:
        await tool_server.stack.toolset.audit.flush()
        refused = (await audit_log(c, outcome="rpc_error"))["entries"]
        assert sorted(e["tool"] for e in refused) == ["echo", "get_ticker"]
        for entry in refused:
            assert entry["error_code"] == "-32602" and "nested deeper" in entry["error"]
            args = entry["arguments"]
            assert args["symbol"] == "BTCUSDT"
            level, node = 1, args
            while isinstance(node, dict):
                node, level = node.get("nested", node.get("x")), level + 1
            assert isinstance(node, str) and "nested deeper than" in node and level <= MAX_ARGUMENT_DEPTH + 1
        assert (await audit_log(c, tool="echo", outcome="ok"))["count"] == 0  # the echo tool never ran
