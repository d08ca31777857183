"""Every MCP tool of the README on ``serve --exchange bybit`` (the simulator's Bybit face behind the Bybit adapter),
through a real client on loopback: market data, trading (idempotent, with the unknown-outcome lookup through a
fault injected in the face), orders, portfolio, push streams and the audit log; OCO is refused as the README's venue
table says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.errors import RpcError
from tradingmcp.server.mcp.streams import STREAM_METHOD
from tradingmcp.sim.bybit import BYBIT_SIM_KEY

from ..support import AUDITOR_TOKEN, ToolServer, stepped_tool_server
from ..support import structured as ok

D = Decimal
pytestmark = pytest.mark.data


@pytest.fixture
async def bybit(data_dir: Path, tmp_path: Path) -> AsyncIterator[ToolServer]:
    async with stepped_tool_server(data_dir, tmp_path, "bybit") as srv:
        assert srv.stack.bybit_face is not None
        yield srv


def bybit_orders(srv: ToolServer) -> list[Any]:
    return list(srv.sim.engine.account_of(BYBIT_SIM_KEY).orders)


async def test_market_tools(bybit: ToolServer) -> None:
    assert [(v.name, v.mode) for v in bybit.venues] == [("bybit", "sim")]
    assert "Bybit V5 spot protocol" in bybit.stack.banner
    book = bybit.sim.markets["BTCUSDT"].book
    best_bid, best_ask = book.best_bid(), book.best_ask()
    assert best_bid is not None and best_ask is not None
    async with asyncio.timeout(20), bybit.client() as c:
        ticker = ok(await c.call_tool("get_ticker", {"symbol": "BTCUSDT"}))
        assert ticker["exchange"] == "bybit" and (D(ticker["bid"]), D(ticker["ask"])) == (best_bid[0], best_ask[0])
        tickers = ok(await c.call_tool("get_ticker", {"symbols": ["BTCUSDT", "ETHUSDT"]}))
        assert len(str(tickers)) > 50
        depth = ok(await c.call_tool("get_order_book", {"symbol": "BTCUSDT", "limit": 3}))
        assert D(depth["bids"][0][0]) == best_bid[0] and len(depth["asks"]) == 3
        rules = ok(await c.call_tool("get_symbol_rules", {"symbol": "BTCUSDT"}))
        assert rules["exchange"] == "bybit" and "0.01" in str(rules)
        for tool, args in (("get_24h_stats", {}), ("get_recent_trades", {"limit": 5}),
                           ("get_klines", {"interval": "1m", "limit": 2})):  # fmt: skip
            assert ok(await c.call_tool(tool, {"symbol": "BTCUSDT", **args}))["exchange"] == "bybit"
        status = ok(await c.call_tool("get_server_status", {}))
        assert status["exchange"] == "bybit" and status["mode"] == "sim"
        assert (await c.call_tool("get_ticker", {"symbol": "DOGEUSDT"}))["isError"]
        with pytest.raises(RpcError, match="-32602"):  # Bybit has no 8h klines
            await c.call_tool("get_klines", {"symbol": "BTCUSDT", "interval": "8h"})
        with pytest.raises(RpcError, match="order_id"):
            await c.call_tool("get_order", {"symbol": "BTCUSDT", "order_id": "1&orderId=2"})


async def test_trading_orders_and_portfolio_tools(bybit: ToolServer) -> None:
    async with asyncio.timeout(30), bybit.client() as c:
        placed = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                      "quote_quantity": "100"}))  # fmt: skip
        order = placed["order"]
        assert placed["exchange"] == "bybit" and order["status"] == "FILLED" and D(order["executed_qty"]) > 0
        again = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                     "quote_quantity": "100",
                                                     "client_order_id": order["client_order_id"]}))  # fmt: skip
        assert again["duplicate"] is True and again["order"]["order_id"] == order["order_id"]
        assert len(bybit_orders(bybit)) == 1
        balances = ok(await c.call_tool("get_balances", {}))
        usdt = next(b for b in balances["balances"] if b["asset"] == "USDT")
        assert D(usdt["free"]) == D(10_000) - D(order["cumulative_quote_qty"])
        for _ in range(100):  # the fill reaches the portfolio through the private stream
            positions = ok(await c.call_tool("get_positions", {"symbol": "BTCUSDT"}))
            if positions["positions"]:
                break
            await asyncio.sleep(0.02)
        (pos,) = positions["positions"]
        assert D(pos["qty"]) == D(order["executed_qty"]) * D("0.999")
        assert ok(await c.call_tool("get_pnl", {"symbol": "BTCUSDT"}))["exchange"] == "bybit"
        assert "BTCUSDT" in str(ok(await c.call_tool("export_trades", {"symbol": "BTCUSDT"})))
        ok(await c.call_tool("get_risk_metrics", {}))
        fills = ok(await c.call_tool("get_my_trades", {"symbol": "BTCUSDT"}))
        assert order["order_id"] in str(fills)
        tick = ok(await c.call_tool("get_ticker", {"symbol": "BTCUSDT"}))
        price = str((D(tick["bid"]) * D("0.995")).quantize(D("0.01")))
        limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": price}
        preview = ok(await c.call_tool("preview_order", limit))
        assert preview["exchange"] == "bybit"
        dry = ok(await c.call_tool("place_order", {**limit, "dry_run": True}))
        assert len(bybit_orders(bybit)) == 1 and dry["exchange"] == "bybit"
        resting = ok(await c.call_tool("place_order", {**limit, "client_order_id": "tool-rest-1"}))["order"]
        assert resting["status"] == "NEW" and resting["is_open"] is True
        got = ok(await c.call_tool("get_order", {"symbol": "BTCUSDT", "client_order_id": "tool-rest-1"}))
        assert got["order"]["order_id"] == resting["order_id"]
        lower = str((D(price) - D("1")).quantize(D("0.01")))
        replaced = ok(await c.call_tool("replace_order", {"symbol": "BTCUSDT", "order_id": resting["order_id"],
                                                          "price": lower}))  # fmt: skip
        assert "SUCCESS" in str(replaced)
        opened = ok(await c.call_tool("get_open_orders", {"symbol": "BTCUSDT"}))["orders"]
        assert [D(o["price"]) for o in opened] == [D(lower)]
        batch = ok(
            await c.call_tool(
                "place_orders_batch",
                {"orders": [{**limit, "client_order_id": "tool-b-1"}, {**limit, "client_order_id": "tool-b-2"}]},
            )
        )
        assert str(batch).count("tool-b-") >= 2
        cancelled = ok(
            await c.call_tool("cancel_orders_batch", {"orders": [{"symbol": "BTCUSDT", "client_order_id": "tool-b-1"}]})
        )
        assert "CANCELED" in str(cancelled)
        ok(await c.call_tool("cancel_order", {"symbol": "BTCUSDT", "client_order_id": "tool-b-2"}))
        ok(await c.call_tool("cancel_all_orders", {}))
        assert ok(await c.call_tool("get_open_orders", {}))["orders"] == []
        history = ok(await c.call_tool("get_order_history", {"symbol": "BTCUSDT"}))
        assert "tool-rest-1" in str(history)
        up, down = (str((D(tick["ask"]) * D(f)).quantize(D("0.01"))) for f in ("1.02", "0.98"))
        oco = await c.call_tool("place_oco", {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001",
                                              "price": up, "stop_price": down})  # fmt: skip
        assert oco["isError"] and "STOP_LOSS is not allowed" in str(oco)  # Bybit spot rules: no stop orders
        assert ok(await c.call_tool("get_trading_limits", {}))["exchange"] == "bybit"
    async with bybit.client(token=AUDITOR_TOKEN) as auditor:
        log = ok(await auditor.call_tool("get_audit_log", {"tool": "place_order"}))
        assert "bybit" in str(log)


async def test_an_unknown_outcome_is_looked_up_not_placed_twice(bybit: ToolServer) -> None:
    face = bybit.stack.bybit_face
    assert face is not None
    face.rest.faults["POST /order/create"] = ["503_after"]
    async with asyncio.timeout(20), bybit.client() as c:
        placed = ok(
            await c.call_tool(
                "place_order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "MARKET",
                    "quote_quantity": "50",
                    "client_order_id": "tool-unknown",
                },
            )
        )
        assert placed["order"]["client_order_id"] == "tool-unknown" and placed["order"]["status"] == "FILLED"
    assert [o.client_order_id for o in bybit_orders(bybit)] == ["tool-unknown"]
    assert len([c for c in face.rest.calls if c[1] == "/order/create"]) == 1


async def test_push_streams(bybit: ToolServer) -> None:
    """Every stream kind of the README on the Bybit venue delivers pushes (an order placed meanwhile feeds
    ``orders:bybit`` and ``balances:bybit``); the book stream is the adapter's local book, equal to the engine's."""
    keys = ["book:bybit:BTCUSDT:5", "trades:bybit:BTCUSDT", "book_ticker:bybit:BTCUSDT", "klines:bybit:BTCUSDT:1m",
            "ticker_24h:bybit:BTCUSDT", "orders:bybit", "balances:bybit"]  # fmt: skip
    async with asyncio.timeout(30), bybit.client() as c:
        for key in keys:
            ok(await c.call_tool("subscribe", {"stream": key}))
        listed = str(ok(await c.call_tool("list_subscriptions", {})))
        assert all(k in listed for k in keys)
        with pytest.raises(RpcError, match="-32602"):  # Bybit has no 8h klines: refused at the tool boundary
            await c.call_tool("subscribe", {"stream": "klines:bybit:BTCUSDT:8h"})
        waited = c.start_tool_call("wait_for_event", {"condition": "price_above", "symbol": "BTCUSDT", "level": "1",
                                                       "timeout_s": 5})  # fmt: skip
        ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                             "quote_quantity": "20"}))  # fmt: skip
        seen: dict[str, list[dict[str, Any]]] = {}
        while not all(seen.get(k) for k in keys):
            bybit.sim.step(200)
            await asyncio.sleep(0.02)
            for note in c.drain_notifications():
                if note.method == STREAM_METHOD:
                    seen.setdefault(note.params["stream"], []).append(note.params)
        assert ok(await waited)["met"] is True
        bybit.sim.step(0)
        await asyncio.sleep(0.1)
        book = ok(await c.call_tool("get_order_book", {"symbol": "BTCUSDT", "limit": 5}))
        best_bid = bybit.sim.markets["BTCUSDT"].book.best_bid()
        assert best_bid is not None and D(book["bids"][0][0]) == best_bid[0]


async def test_resources_on_the_bybit_venue(bybit: ToolServer) -> None:
    """``ticker://``, ``book://``, ``account://…/balances``, ``orders://…/open`` and ``trades://…csv`` for bybit."""
    async with asyncio.timeout(20), bybit.client() as c:
        listed = {r["uri"] for r in (await c.request("resources/list"))["resources"]}
        assert {"account://bybit/balances", "orders://bybit/open"} <= listed
        ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                             "quote_quantity": "30"}))  # fmt: skip
        reads: dict[str, str] = {}
        for uri in ("ticker://bybit/BTCUSDT", "book://bybit/BTCUSDT", "account://bybit/balances",
                    "orders://bybit/open", "trades://bybit/BTCUSDT.csv"):  # fmt: skip
            (content,) = await c.read_resource(uri)
            assert content["uri"] == uri
            reads[uri] = content["text"]
        assert "USDT" in reads["account://bybit/balances"] and "BTCUSDT" in reads["ticker://bybit/BTCUSDT"]
        for _ in range(100):  # the fill reaches the ledger through the private stream
            if reads["trades://bybit/BTCUSDT.csv"].count("\n") >= 2:  # a header and the fill
                break
            await asyncio.sleep(0.02)
            reads["trades://bybit/BTCUSDT.csv"] = (await c.read_resource("trades://bybit/BTCUSDT.csv"))[0]["text"]
        assert reads["trades://bybit/BTCUSDT.csv"].count("\n") >= 2
