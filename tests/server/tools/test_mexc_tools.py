"""The MCP tools with ``exchange="mexc"`` against the simulator's MEXC face (``serve --exchange both``: Binance and MEXC
venues over one replayed market), through a real client on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.toolset import ToolsetConfig

from ..support import ToolServer, stepped_tool_server
from ..support import structured as ok

D = Decimal
pytestmark = pytest.mark.data
MEXC = {"exchange": "mexc"}


@pytest.fixture
async def both(data_dir: Path, tmp_path: Path) -> AsyncIterator[ToolServer]:
    """The whole server with ``exchange="both"`` (manual-step simulator, 2000 events replayed)."""
    async with stepped_tool_server(data_dir, tmp_path, "both") as srv:
        assert srv.stack.mexc_face is not None
        yield srv


async def test_both_venues_and_the_banner(both: ToolServer) -> None:
    assert [(v.name, v.mode) for v in both.venues] == [("binance", "sim"), ("mexc", "sim")]
    assert both.venues.get().name == "binance"  # the default venue
    assert "MEXC Spot v3 protocol" in both.stack.banner and "DERIVED" in both.stack.banner


async def test_market_tools_with_exchange_mexc(both: ToolServer) -> None:
    book = both.sim.markets["BTCUSDT"].book
    best_bid, best_ask = book.best_bid(), book.best_ask()
    assert best_bid is not None and best_ask is not None
    async with asyncio.timeout(20), both.client() as c:
        ticker = ok(await c.call_tool("get_ticker", {"symbol": "BTCUSDT", **MEXC}))
        assert ticker["exchange"] == "mexc" and (D(ticker["bid"]), D(ticker["ask"])) == (best_bid[0], best_ask[0])
        depth = ok(await c.call_tool("get_order_book", {"symbol": "BTCUSDT", "limit": 3, **MEXC}))
        assert depth["last_update_id"] == book.last_update_id and D(depth["bids"][0][0]) == best_bid[0]
        rules = ok(await c.call_tool("get_symbol_rules", {"symbol": "BTCUSDT", **MEXC}))
        assert rules["exchange"] == "mexc"
        assert "0.01" in str(rules) and "0.00001" in str(rules)  # tick and step from MEXC's precisions
        stats = ok(await c.call_tool("get_24h_stats", {"symbol": "BTCUSDT", **MEXC}))
        assert stats["exchange"] == "mexc"
        trades = ok(await c.call_tool("get_recent_trades", {"symbol": "BTCUSDT", "limit": 5, **MEXC}))
        assert trades["exchange"] == "mexc"
        klines = ok(await c.call_tool("get_klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 2, **MEXC}))
        assert klines["exchange"] == "mexc"
        status = ok(await c.call_tool("get_server_status", MEXC))
        assert status["exchange"] == "mexc" and status["mode"] == "sim"
        bad = await c.call_tool("get_ticker", {"symbol": "DOGEUSDT", **MEXC})
        assert bad["isError"]


async def test_market_order_balances_and_positions_on_mexc(both: ToolServer) -> None:
    async with asyncio.timeout(20), both.client() as c:
        placed = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                      "quote_quantity": "100", **MEXC}))  # fmt: skip
        order = placed["order"]
        assert placed["exchange"] == "mexc" and str(order["order_id"]).startswith("C02__")
        assert order["status"] == "FILLED" and D(order["executed_qty"]) > 0
        again = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                     "quote_quantity": "100", "client_order_id": order["client_order_id"],
                                                     **MEXC}))  # fmt: skip
        assert again["duplicate"] is True and again["order"]["order_id"] == order["order_id"]
        balances = ok(await c.call_tool("get_balances", MEXC))
        usdt = next(b for b in balances["balances"] if b["asset"] == "USDT")
        assert D(usdt["free"]) == D(10_000) - D(order["cumulative_quote_qty"])
        binance = ok(await c.call_tool("get_balances", {}))  # the Binance account is another account
        assert next(b for b in binance["balances"] if b["asset"] == "USDT")["free"] in ("10000", "10000.00000000")
        for _ in range(100):  # the fill reaches the portfolio through the user data stream
            positions = ok(await c.call_tool("get_positions", {"symbol": "BTCUSDT", **MEXC}))
            if positions["positions"]:
                break
            await asyncio.sleep(0.02)
        (pos,) = positions["positions"]
        assert positions["exchange"] == "mexc" and D(pos["qty"]) == D(order["executed_qty"]) * D("0.999")
        opened = ok(await c.call_tool("get_open_orders", {"symbol": "BTCUSDT", **MEXC}))
        assert opened == {"exchange": "mexc", "mode": "sim", "orders": []}


async def test_limit_order_rests_lists_and_cancels_on_mexc(both: ToolServer) -> None:
    """A resting LIMIT order on MEXC: the open-order limit check, get_open_orders without a symbol (MEXC lists per
    symbol only: the adapter fans out) and cancel_all_orders across symbols all work."""
    async with asyncio.timeout(20), both.client() as c:
        tick = ok(await c.call_tool("get_ticker", {"symbol": "BTCUSDT", **MEXC}))
        price = str((D(tick["bid"]) * D("0.99")).quantize(D("0.01")))
        placed = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                      "quantity": "0.001", "price": price, **MEXC}))  # fmt: skip
        assert placed["order"]["status"] == "NEW" and placed["order"]["is_open"] is True
        listed = ok(await c.call_tool("get_open_orders", MEXC))
        assert [o["order_id"] for o in listed["orders"]] == [placed["order"]["order_id"]]
        cancelled = ok(await c.call_tool("cancel_all_orders", MEXC))
        assert placed["order"]["order_id"] in str(cancelled)
        assert ok(await c.call_tool("get_open_orders", MEXC))["orders"] == []


async def test_serve_exchange_mexc_alone(data_dir: Path, tmp_path: Path) -> None:
    """``serve --exchange mexc``: one venue, the MEXC face, the default for tools without an exchange argument."""
    config = ToolsetConfig()
    config = replace(config, audit=replace(config.audit, data_dir=tmp_path / "audit"))
    app, hub = McpApp(), StreamHub()
    opts = ExchangeOptions(exchange="mexc", speed=0, loop=False, data_dir=data_dir)
    stack = await ExchangeStack.start(app, hub, opts, config)
    try:
        assert [(v.name, v.mode) for v in stack.venues] == [("mexc", "sim")]
        assert "MEXC Spot v3 protocol" in stack.banner and "Binance" not in stack.banner.split("DERIVED")[0]
        assert stack.sim is not None
        stack.sim.step(2000)
        async with asyncio.timeout(10):
            tick = await stack.adapter.book_ticker("BTCUSDT")
        assert (tick.bid, tick.bid_qty) == stack.sim.markets["BTCUSDT"].book.best_bid()
    finally:
        await stack.close()
    with pytest.raises(ValueError, match="exchange must be one of"):
        await ExchangeStack.start(McpApp(), StreamHub(), replace(opts, exchange="kraken"), config)
