"""Market-data tools over the real wire: McpClient → server → python-binance adapter → simulator on the recording."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tradingmcp.client.session import McpClient, RpcError

from ...support import READER_TOKEN, ToolServer

MARKET_TOOLS = (
    "get_ticker",
    "get_order_book",
    "get_symbol_rules",
    "get_24h_stats",
    "get_recent_trades",
    "get_klines",
    "get_server_status",
)


async def call_ok(c: McpClient, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    res = await c.call_tool(name, args)
    assert res["isError"] is False, res
    return res["structuredContent"], res["content"][0]["text"]


async def call_error(c: McpClient, name: str, args: dict[str, Any]) -> dict[str, Any]:
    res = await c.call_tool(name, args)
    assert res["isError"] is True, res
    err: dict[str, Any] = res["structuredContent"]["error"]
    return err


async def invalid_params(c: McpClient, name: str, args: dict[str, Any]) -> str:
    with pytest.raises(RpcError) as exc:
        await c.call_tool(name, args)
    assert exc.value.code == -32602
    return exc.value.message


async def test_tools_are_listed_read_only_idempotent_with_bounded_schemas(tool_server: ToolServer) -> None:
    async with tool_server.client() as c:
        tools = {t["name"]: t for t in await c.list_tools()}
    for name in MARKET_TOOLS:
        tool = tools[name]
        assert tool["annotations"]["readOnlyHint"] is True and tool["annotations"]["idempotentHint"] is True
        props = tool["inputSchema"]["properties"]
        assert props["exchange"]["enum"] == ["binance"]
        if "symbol" in props:
            assert props["symbol"]["pattern"].startswith("^")
    assert tools["get_recent_trades"]["inputSchema"]["properties"]["limit"]["maximum"] == 100
    assert tools["get_klines"]["inputSchema"]["properties"]["limit"]["maximum"] == 500
    assert "1M" in tools["get_klines"]["inputSchema"]["properties"]["interval"]["enum"]
    assert tools["get_ticker"]["inputSchema"]["properties"]["symbols"]["maxItems"] == 20


async def test_get_ticker_one_and_many(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client(token=READER_TOKEN) as c:
        one, text = await call_ok(c, "get_ticker", {"symbol": "btcusdt"})
        assert one["symbol"] == "BTCUSDT" and one["exchange"] == "binance"
        assert Decimal(one["bid"]) < Decimal(one["ask"])
        assert Decimal(one["spread"]) == Decimal(one["ask"]) - Decimal(one["bid"])
        assert Decimal("61000") < Decimal(one["price"]) < Decimal("62000")
        assert text.startswith("BTCUSDT last ") and one["bid"] in text

        many, text = await call_ok(c, "get_ticker", {"symbols": ["BTCUSDT", "ethusdt", "NOPEUSDT"]})
        assert [t["symbol"] for t in many["tickers"]] == ["BTCUSDT", "ETHUSDT"]
        assert Decimal("2600") < Decimal(many["tickers"][1]["price"]) < Decimal("2700")
        assert [e["symbol"] for e in many["errors"]] == ["NOPEUSDT"]
        assert "ETHUSDT last" in text and "NOPEUSDT" in text

        err = await call_error(c, "get_ticker", {"symbols": ["NOPEUSDT", "FOOUSDT"]})
        assert err["code"] == "exchange_error" and len(err["errors"]) == 2
        err = await call_error(c, "get_ticker", {"symbol": "NOPEUSDT"})
        assert err["code"] == "exchange_error" and err["exchange_code"] == -1121

        await invalid_params(c, "get_ticker", {"symbol": "BTCUSDT", "symbols": ["ETHUSDT"]})
        await invalid_params(c, "get_ticker", {})
        assert "symbol" in await invalid_params(c, "get_ticker", {"symbol": "BTC/USDT"})
        await invalid_params(c, "get_ticker", {"symbols": [f"S{i:02d}USDT" for i in range(21)]})


async def test_get_24h_stats(tool_server: ToolServer) -> None:
    tool_server.sim.step(20_000)
    trades = tool_server.sim.markets["BTCUSDT"].trades
    async with tool_server.client() as c:
        s, text = await call_ok(c, "get_24h_stats", {"symbol": "BTCUSDT"})
        assert s["count"] == len(trades) > 0
        assert Decimal(s["low_price"]) <= Decimal(s["weighted_avg_price"]) <= Decimal(s["high_price"])
        assert Decimal(s["last_price"]) == Decimal(trades[-1]["price"])
        volume = sum(Decimal(t["qty"]) for t in trades)
        assert Decimal(s["volume"]) == volume
        assert Decimal(s["price_change"]) == Decimal(s["last_price"]) - Decimal(s["open_price"])
        assert (s["base_asset"], s["quote_asset"]) == ("BTC", "USDT")
        assert text.startswith(f"BTCUSDT 24h: last {s['last_price']} (") and "BTC /" in text and "USDT" in text

        many, _ = await call_ok(c, "get_24h_stats", {"symbols": ["BTCUSDT", "ETHUSDT"]})
        assert [x["symbol"] for x in many["stats"]] == ["BTCUSDT", "ETHUSDT"] and many["errors"] == []
        err = await call_error(c, "get_24h_stats", {"symbol": "NOPEUSDT"})
        assert err["code"] == "exchange_error" and "NOPEUSDT" in err["message"].upper()


async def test_get_recent_trades(tool_server: ToolServer) -> None:
    tool_server.sim.step(5000)
    last_id = tool_server.sim.markets["ETHUSDT"].trades[-1]["id"]
    async with tool_server.client() as c:
        out, text = await call_ok(c, "get_recent_trades", {"symbol": "ETHUSDT"})
        ids = [t["id"] for t in out["trades"]]
        assert out["count"] == 20 and ids == list(range(last_id - 19, last_id + 1))
        assert {t["taker_side"] for t in out["trades"]} <= {"BUY", "SELL"}
        summary = out["summary"]
        assert Decimal(summary["low"]) <= Decimal(summary["vwap"]) <= Decimal(summary["high"])
        total = Decimal(summary["taker_buy_qty"]) + Decimal(summary["taker_sell_qty"])
        assert total == sum(Decimal(t["qty"]) for t in out["trades"])
        assert text.startswith("ETHUSDT last 20 trades")

        out, _ = await call_ok(c, "get_recent_trades", {"symbol": "ETHUSDT", "limit": 100})
        assert out["count"] == 100 and out["trades"][-1]["id"] == last_id
        for limit in (0, 101, 1000):
            assert "limit" in await invalid_params(c, "get_recent_trades", {"symbol": "ETHUSDT", "limit": limit})
        err = await call_error(c, "get_recent_trades", {"symbol": "NOPEUSDT"})
        assert err["code"] == "exchange_error"


async def test_get_klines(tool_server: ToolServer) -> None:
    tool_server.sim.step(30_000)
    async with tool_server.client() as c:
        out, text = await call_ok(c, "get_klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 3})
        assert out["columns"][:5] == ["open_time_ms", "open", "high", "low", "close"]
        rows = out["rows"]
        assert out["count"] == len(rows) == 3 and all(len(r) == len(out["columns"]) for r in rows)
        assert [r[0] for r in rows] == [rows[0][0] + i * 60_000 for i in range(3)]
        for r in rows:
            assert (
                Decimal(r[3]) <= min(Decimal(r[1]), Decimal(r[4])) <= max(Decimal(r[1]), Decimal(r[4])) <= Decimal(r[2])
            )
        assert rows[-1][8] is False and rows[0][8] is True  # the latest bar is still open
        assert text.startswith("BTCUSDT 1m: 3 klines")

        all_1m, _ = await call_ok(c, "get_klines", {"symbol": "BTCUSDT", "interval": "1m"})
        start = all_1m["rows"][1][0]
        since, _ = await call_ok(
            c, "get_klines", {"symbol": "BTCUSDT", "interval": "1m", "start_ms": start, "limit": 2}
        )
        assert [r[0] for r in since["rows"]] == [start, start + 60_000]
        hourly, _ = await call_ok(c, "get_klines", {"symbol": "BTCUSDT", "interval": "1h"})
        total = sum(Decimal(r[5]) for r in all_1m["rows"])
        assert sum(Decimal(r[5]) for r in hourly["rows"]) == total  # the same trades, bucketed differently

        await invalid_params(c, "get_klines", {"symbol": "BTCUSDT", "interval": "7m"})
        await invalid_params(c, "get_klines", {"symbol": "BTCUSDT"})
        await invalid_params(c, "get_klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 501})
        msg = await invalid_params(c, "get_klines", {"symbol": "BTCUSDT", "interval": "1m", "start_ms": 2, "end_ms": 1})
        assert "start_ms" in msg
        err = await call_error(c, "get_klines", {"symbol": "NOPEUSDT", "interval": "1m"})
        assert err["code"] == "exchange_error"


async def test_get_server_status(tool_server: ToolServer) -> None:
    async with tool_server.client() as c:
        await c.subscribe("trades:binance:BTCUSDT")
        out, text = await call_ok(c, "get_server_status", {})
        assert (out["exchange"], out["mode"], out["reachable"]) == ("binance", "sim", True)
        assert abs(out["clock_offset_ms"]) < 5_000
        weight = next(r for r in out["rate_limits"] if r["kind"] == "REQUEST_WEIGHT")
        assert 0 < weight["used"] <= weight["limit"] and weight["remaining"] == weight["limit"] - weight["used"]
        assert "btcusdt@trade" in out["streams"] and out["mcp_streams"] == ["trades:binance:BTCUSDT"]
        assert text.startswith("binance (sim): reachable, clock offset")


async def test_get_symbol_rules_full(tool_server: ToolServer) -> None:
    async with tool_server.client() as c:
        r, text = await call_ok(c, "get_symbol_rules", {"symbol": "btcusdt"})
        assert (r["symbol"], r["tick_size"], r["base_asset"], r["quote_asset"]) == ("BTCUSDT", "0.01", "BTC", "USDT")
        assert {"LIMIT", "MARKET", "LIMIT_MAKER"} <= set(r["order_types"])
        assert Decimal(r["max_notional"]) > Decimal(r["min_notional"]) > 0
        assert Decimal(r["max_price"]) > Decimal(r["min_price"])
        assert r["is_trading"] is True and "tick 0.01 USDT" in text
        err = await call_error(c, "get_symbol_rules", {"symbol": "NOPEUSDT"})
        assert err["code"] == "exchange_error" and "NOPEUSDT" in err["message"]


async def test_order_book_rest_cache_then_local_book(tool_server: ToolServer) -> None:
    sim = tool_server.sim
    sim.step(2000)
    adapter = tool_server.venues.get().adapter
    async with tool_server.client() as c:
        first, _ = await call_ok(c, "get_order_book", {"symbol": "BTCUSDT", "limit": 5})
        assert (first["source"], first["cached"]) == ("rest", False)
        assert len(first["bids"]) == len(first["asks"]) == 5
        sim.step(500)  # the market moved, but a second read within the TTL is served from the cache
        second, text = await call_ok(c, "get_order_book", {"symbol": "btcusdt", "limit": 20})
        assert (second["source"], second["cached"]) == ("rest", True) and 0 <= second["age_ms"] < 1000
        assert second["last_update_id"] == first["last_update_id"] and second["bids"][:5] == first["bids"]
        assert len(second["bids"]) == 20 and "cached" in text
        await invalid_params(c, "get_order_book", {"symbol": "BTCUSDT", "limit": 101})
        err = await call_error(c, "get_order_book", {"symbol": "NOPEUSDT"})
        assert err["code"] == "exchange_error"

        await c.subscribe("book:binance:BTCUSDT")
        async with asyncio.timeout(10):
            while adapter.local_book("BTCUSDT") is None:
                sim.step(50)
                await asyncio.sleep(0.01)
        local, text = await call_ok(c, "get_order_book", {"symbol": "BTCUSDT", "limit": 5})
        assert local["source"] == "local" and local["last_update_id"] > first["last_update_id"]
        assert text.startswith("BTCUSDT book (local)")


ONE_OR_MANY_CASES: list[dict[str, Any]] = [
    {"symbol": "BTCUSDT"},
    {"symbols": ["BTCUSDT", "ETHUSDT"]},
    {"symbol": "BTCUSDT", "symbols": ["ETHUSDT"]},
    {"symbol": "BTCUSDT", "symbols": ["BTCUSDT"], "exchange": "binance"},
    {},
    {"exchange": "binance"},
]


@pytest.mark.parametrize("tool", ["get_ticker", "get_24h_stats"])
async def test_symbol_or_symbols_schema_says_what_the_server_does(tool_server: ToolServer, tool: str) -> None:
    """The advertised inputSchema, checked by a real JSON Schema 2020-12 validator, accepts exactly the symbol/symbols
    combinations the server serves (the server refuses both together and neither, with -32602)."""
    tool_server.sim.step(500)
    async with tool_server.client() as c:
        schema = next(t for t in await c.list_tools() if t["name"] == tool)["inputSchema"]
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        verdicts = []
        for args in ONE_OR_MANY_CASES:
            try:
                await c.call_tool(tool, args)  # a result (even an isError one) means the arguments were accepted
                served = True
            except RpcError as exc:
                assert exc.code == -32602, exc
                served = False
            verdicts.append((args, validator.is_valid(args), served))
        assert [v[1] for v in verdicts] == [v[2] for v in verdicts], verdicts
        assert [v[2] for v in verdicts] == [True, True, False, False, False, False]
