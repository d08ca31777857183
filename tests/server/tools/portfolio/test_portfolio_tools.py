"""Portfolio tools over the real wire against the simulator on the real recording: balances valued in USDT,
positions and P&L equal a hand computation from ``myTrades``, P&L reconciles with the change in balances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.session import McpClient
from tradingmcp.server.exchanges.models import Fill, OrderRequest, OrderType, Side

from ...support import READER_TOKEN, ToolServer, start_tool_server

TOL = D("1e-7")


@pytest.fixture
async def srv(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ToolServer]:
    monkeypatch.setenv("TRADINGMCP_EXPORT_DIR", str(tmp_path / "exports"))
    async with start_tool_server(data_dir, tmp_path) as server:
        server.sim.step(2000)
        yield server


async def call(c: McpClient, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    async with asyncio.timeout(10):
        res = await c.call_tool(name, args or {})
    assert res["isError"] is False, res
    out: dict[str, Any] = res["structuredContent"]
    return out


async def market(srv: ToolServer, side: Side, qty: str, symbol: str = "BTCUSDT") -> None:
    async with asyncio.timeout(10):
        order = await srv.venues.get().adapter.place_order(OrderRequest(symbol, side, OrderType.MARKET, D(qty)))
    assert order.executed_qty == D(qty)


async def balances(srv: ToolServer) -> dict[str, D]:
    return {b.asset: b.total for b in await srv.venues.get().adapter.balances()}


async def mid(srv: ToolServer, symbol: str) -> D:
    t = await srv.venues.get().adapter.book_ticker(symbol)
    return (t.bid + t.ask) / 2


def hand_average_cost(fills: list[Fill]) -> tuple[D, D, D, D]:
    """(qty, cost, realized, fees) for a long-only fill sequence, fees (base on buys, quote on sells) included."""
    qty = cost = realized = fees = D(0)
    for f in fills:
        if f.is_buyer:
            assert f.commission_asset == "BTC"
            qty += f.qty - f.commission
            cost += f.price * f.qty
            fees += f.commission * f.price
        else:
            assert f.commission_asset == "USDT"
            basis = cost * f.qty / qty
            realized += f.price * f.qty - f.commission - basis
            cost -= basis
            qty -= f.qty
            fees += f.commission
    return qty, cost, realized, fees


async def test_get_balances_values_each_asset_and_sums(srv: ToolServer) -> None:
    adapter = srv.venues.get().adapter
    async with srv.client(token=READER_TOKEN) as c:
        out = await call(c, "get_balances")
    assert out["exchange"] == "binance"
    rows = {r["asset"]: r for r in out["balances"]}
    assert set(rows) >= {"USDT", "BTC", "ETH"}
    assert rows["USDT"]["value_usdt"] == rows["USDT"]["total"] and rows["USDT"]["price_usdt"] == "1"
    for asset in ("BTC", "ETH"):
        price = await adapter.price(f"{asset}USDT")
        assert D(rows[asset]["price_usdt"]) == price
        assert abs(D(rows[asset]["value_usdt"]) - D(rows[asset]["total"]) * price) < TOL
    total = sum(D(r["value_usdt"]) for r in rows.values() if r["value_usdt"] is not None)
    assert abs(D(out["total_value_usdt"]) - total) < TOL


async def test_positions_and_pnl_match_fills_and_reconcile_with_balances(srv: ToolServer) -> None:
    adapter = srv.venues.get().adapter
    before = await balances(srv)
    await market(srv, Side.BUY, "0.02")
    srv.sim.step(300)
    await market(srv, Side.BUY, "0.01")
    srv.sim.step(300)
    await market(srv, Side.SELL, "0.015")
    async with srv.client() as c:
        pos = await call(c, "get_positions", {"symbol": "btcusdt"})
        fills = await adapter.my_trades("BTCUSDT")
        assert len(fills) >= 3
        qty, cost, realized, fees = hand_average_cost(fills)
        [p] = pos["positions"]
        assert p["symbol"] == "BTCUSDT" and p["base_asset"] == "BTC" and p["trade_count"] == len(fills)
        assert D(p["qty"]) == qty
        assert abs(D(p["avg_entry_price"]) - cost / qty) < TOL
        assert abs(D(p["realized_pnl"]) - realized) < TOL
        assert abs(D(p["fees"]) - fees) < TOL
        mark = await mid(srv, "BTCUSDT")
        assert D(p["mark_price"]) == mark
        assert abs(D(p["unrealized_pnl"]) - (qty * mark - cost)) < TOL
        # reconciliation: the P&L is the change in quote + base × mark, fees included
        after = await balances(srv)
        change = (after["USDT"] - before["USDT"]) + (after["BTC"] - before["BTC"]) * mark
        assert abs(D(p["realized_pnl"]) + D(p["unrealized_pnl"]) - change) < TOL
        assert pos["totals"]["realized_pnl"] == p["realized_pnl"] and pos["quote_asset"] == "USDT"

        # live fills (user data stream) keep the ledger current after the backfill
        await market(srv, Side.SELL, "0.01")
        n = len(await adapter.my_trades("BTCUSDT"))
        for _ in range(500):  # the fill arrives on the user data stream (~ms)
            pnl = await call(c, "get_pnl", {"symbol": "BTCUSDT"})
            if pnl["totals"]["trade_count"] >= n:
                break
            await asyncio.sleep(0.01)
        fills = await adapter.my_trades("BTCUSDT")
        _, _, realized, fees = hand_average_cost(fills)
        [s] = pnl["symbols"]
        assert abs(D(s["realized_pnl"]) - realized) < TOL and abs(D(s["fees"]) - fees) < TOL
        assert D(s["buy_qty"]) == D("0.03") and D(s["sell_qty"]) == D("0.025")

        # time range: only fills inside count
        last = fills[-1].time_ms
        later = await call(c, "get_pnl", {"symbol": "BTCUSDT", "start_ms": last + 1})
        assert later["totals"]["trade_count"] == 0 and D(later["totals"]["realized_pnl"]) == 0
        first_only = await call(c, "get_pnl", {"end_ms": fills[0].time_ms})
        assert first_only["totals"]["trade_count"] == sum(1 for f in fills if f.time_ms <= fills[0].time_ms)

        # without a symbol: symbols with fills and of held assets (ETH has none)
        every = await call(c, "get_positions")
        assert [x["symbol"] for x in every["positions"]] == ["BTCUSDT"]


async def test_export_trades_rows_equal_fills_and_paths_stay_inside(srv: ToolServer, tmp_path: Path) -> None:
    adapter = srv.venues.get().adapter
    await market(srv, Side.BUY, "0.01")
    await market(srv, Side.SELL, "0.005")
    await market(srv, Side.BUY, "0.1", "ETHUSDT")
    fills = await adapter.my_trades("BTCUSDT")
    async with srv.client(token=READER_TOKEN) as c:
        res = await c.call_tool("export_trades", {"symbol": "BTCUSDT"})
        out = res["structuredContent"]
        lines = out["csv"].strip().split("\r\n")
        header = lines[0].split(",")
        assert header == out["columns"] and out["rows"] == len(fills) == out["total_rows"]
        rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
        for row, f in zip(rows, fills, strict=True):
            assert int(row["trade_id"]) == f.trade_id and int(row["order_id"]) == f.order_id
            assert D(row["price"]) == f.price and D(row["qty"]) == f.qty and D(row["commission"]) == f.commission
            assert row["side"] == ("BUY" if f.is_buyer else "SELL") and int(row["time_ms"]) == f.time_ms
        embedded = [b for b in res["content"] if b["type"] == "resource"]
        assert embedded[0]["resource"]["mimeType"] == "text/csv" and embedded[0]["resource"]["text"] == out["csv"]

        # paging with a cursor
        page1 = await call(c, "export_trades", {"symbol": "BTCUSDT", "max_rows": 1})
        assert page1["rows"] == 1 and page1["next_cursor"] == "1"
        page2 = await call(c, "export_trades", {"symbol": "BTCUSDT", "max_rows": 1, "cursor": page1["next_cursor"]})
        assert page2["csv"].split("\r\n")[1] == lines[2] and page2["next_cursor"] is None

        # every symbol, written to a file inside the export directory
        written = await call(c, "export_trades", {"path": "runs/all.csv"})
        target = tmp_path / "exports" / "runs" / "all.csv"
        assert Path(written["path"]) == target.resolve() and written["rows"] == len(fills) + 1
        assert target.read_text().count("ETHUSDT") == 1

        # the resource template serves the same rows
        [content] = await c.read_resource("trades://binance/BTCUSDT.csv")
        assert content["text"] == out["csv"]

        # path traversal and other escapes are refused
        (tmp_path / "exports" / "link").symlink_to(tmp_path)
        for bad in ("../evil.csv", "runs/../../evil.csv", str(tmp_path / "evil.csv"), "link/evil.csv", "x.txt", "."):
            res = await c.call_tool("export_trades", {"path": bad})
            assert res["isError"] is True and res["structuredContent"]["error"]["code"] == "path_refused", bad
        assert not (tmp_path / "evil.csv").exists()


async def test_risk_metrics_exposure_concentration_drawdown(srv: ToolServer) -> None:
    async with srv.client() as c:
        first = await call(c, "get_risk_metrics")
        await market(srv, Side.BUY, "0.05")
        srv.sim.step(500)
        bal = await call(c, "get_balances")
        risk = await call(c, "get_risk_metrics")
    exposures = {e["asset"]: e for e in risk["exposures"]}
    assert set(exposures) == {"BTC", "ETH"}
    for e in exposures.values():
        assert abs(D(e["value_usdt"]) - D(e["qty"]) * D(e["mark_price"])) < TOL
    values = [D(e["value_usdt"]) for e in exposures.values()]
    assert abs(D(risk["net_exposure_usdt"]) - sum(values)) < TOL
    assert D(risk["gross_exposure_usdt"]) >= D(risk["net_exposure_usdt"]) > 0
    assert abs(D(risk["equity_usdt"]) - (sum(values) + D(risk["cash_usdt"]))) < TOL
    top = max(exposures.values(), key=lambda e: D(e["value_usdt"]))
    conc = risk["concentration"]
    assert conc["symbol"] == top["symbol"]
    assert abs(D(conc["share_of_exposure"]) - D(top["value_usdt"]) / sum(values)) < TOL
    assert 0 < D(conc["share_of_equity"]) < 1
    # equity curve: sampled at each call (and fill); equity stays close to the valued balances
    assert len(risk["equity_samples"]) >= 3 and risk["volatility"]["returns"] >= 2
    assert risk["volatility"]["per_sample_stdev"] is not None
    assert D(0) <= D(risk["drawdown"]["current"]) <= D(risk["drawdown"]["max"]) < D("0.05")
    assert abs(D(risk["equity_usdt"]) / D(bal["total_value_usdt"]) - 1) < D("0.01")
    assert first["drawdown"]["max"] == "0" and first["volatility"]["per_sample_stdev"] is None


async def test_unknown_symbol_is_a_tool_error(srv: ToolServer) -> None:
    async with srv.client() as c:
        res = await c.call_tool("get_positions", {"symbol": "NOPEUSDT"})
    assert res["isError"] is True and res["structuredContent"]["error"]["code"] == "unknown_symbol"


async def test_trades_resource_backfills_in_the_background(srv: ToolServer) -> None:
    from tradingmcp.client.session import RpcError

    await market(srv, Side.BUY, "0.01", "ETHUSDT")
    async with srv.client(token=READER_TOKEN) as c:
        templates = await c.request("resources/templates/list", {})
        assert "trades://{exchange}/{symbol}.csv" in [t["uriTemplate"] for t in templates["resourceTemplates"]]
        for _ in range(500):  # the first read starts the backfill; the rows appear once it is done
            async with asyncio.timeout(10):
                text = (await c.read_resource("trades://binance/ETHUSDT.csv"))[0]["text"]
            if text.count("\r\n") >= 2:
                break
            await asyncio.sleep(0.01)
        [row] = text.strip().split("\r\n")[1:]
        assert ",ETHUSDT,BUY," in row
        with pytest.raises(RpcError):
            await c.read_resource("trades://kraken/ETHUSDT.csv")


async def test_official_sdk_client_reads_the_embedded_csv(srv: ToolServer) -> None:
    from mcp.client import Client
    from mcp.types import EmbeddedResource, TextResourceContents

    from tradingmcp.client.sdk_transport import websocket_transport

    await market(srv, Side.BUY, "0.01")
    async with asyncio.timeout(10), Client(websocket_transport(srv.url, token=READER_TOKEN)) as client:
        res = await client.call_tool("export_trades", {"symbol": "BTCUSDT"})
        pos = await client.call_tool("get_positions", {"symbol": "BTCUSDT"})
    [embedded] = [b for b in res.content if isinstance(b, EmbeddedResource)]
    assert isinstance(embedded.resource, TextResourceContents) and embedded.resource.mime_type == "text/csv"
    assert embedded.resource.text.count("\r\n") == 2 and res.structured_content is not None
    assert pos.structured_content is not None and pos.structured_content["positions"][0]["qty"] == "0.00999"
