"""Trading tools over the real wire against the simulator: happy paths, filter failures, idempotency, scopes.

The market is the real BTCUSDT/ETHUSDT recording in manual-step mode (BTC ≈ 61 824 USDT after ``step(2000)``).
Limit orders are priced a little below the bid (BUY) so they rest on the book.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.session import McpClient, RpcError
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig
from tradingmcp.server.webhooks.alerts import client_order_id

from ...support import READER_TOKEN, ToolServer, call, ok, start_tool_server


async def err(c: McpClient, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """The ``error`` object of an isError call (fails the test when the call succeeded)."""
    res = await call(c, tool, args)
    assert res["isError"] is True, res["content"][0]["text"]
    error: dict[str, Any] = res["structuredContent"]["error"]
    assert res["content"][0]["text"].startswith("Error: ")
    return error


async def bid(c: McpClient, symbol: str = "BTCUSDT") -> Decimal:
    return Decimal((await ok(c, "get_ticker", {"symbol": symbol}))["bid"])


async def resting_buy_price(c: McpClient, symbol: str = "BTCUSDT", below: str = "0.99") -> str:
    """A BUY limit price 1 % below the bid, on the tick (0.01)."""
    return str((await bid(c, symbol) * Decimal(below)).quantize(Decimal("0.01")))


async def test_limit_order_lifecycle(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        price = await resting_buy_price(c)
        res = await call(c, "place_order", {"symbol": "btcusdt", "side": "BUY", "quantity": "0.001", "price": price})
        assert res["isError"] is False
        placed = res["structuredContent"]
        assert placed["exchange"] == "binance" and placed["mode"] == "sim" and placed["duplicate"] is False
        order = placed["order"]
        assert order["status"] == "NEW" and order["type"] == "LIMIT" and order["time_in_force"] == "GTC"
        assert order["price"] == str(Decimal(price).normalize()) and order["orig_qty"] == "0.001"
        assert order["client_order_id"].startswith("tmcp-") and len(order["client_order_id"]) == 25
        assert placed["quote_asset"] == "USDT" and Decimal(placed["estimated_notional"]) == Decimal(price) / 1000
        text = res["content"][0]["text"]
        assert text.startswith(f"BUY 0.001 BTCUSDT LIMIT @ {order['price']} → NEW (id {order['order_id']})")

        got = await ok(c, "get_order", {"symbol": "BTCUSDT", "client_order_id": order["client_order_id"]})
        assert got["order"]["order_id"] == order["order_id"] and got["order"]["is_open"] is True
        open_orders = await ok(c, "get_open_orders", {"symbol": "BTCUSDT"})
        assert [o["order_id"] for o in open_orders["orders"]] == [order["order_id"]]

        cancelled = await ok(c, "cancel_order", {"symbol": "BTCUSDT", "order_id": order["order_id"]})
        assert cancelled["order"]["status"] == "CANCELED"
        assert (await ok(c, "get_open_orders", {}))["orders"] == []
        again = await err(c, "cancel_order", {"symbol": "BTCUSDT", "order_id": order["order_id"]})
        assert again["code"] == "exchange_error" and again["exchange_error"] in ("CancelRejected", "UnknownOrder")


async def test_market_orders_fill_and_show_in_history_and_trades(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        by_qty = await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"})
        assert by_qty["order"]["status"] == "FILLED" and by_qty["order"]["executed_qty"] == "0.002"
        assert by_qty["order"]["fills"], "a FULL placement response carries the fills"
        by_quote = await ok(
            c, "place_order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quote_quantity": "50"}
        )
        assert by_quote["order"]["status"] == "FILLED" and by_quote["estimated_notional"] == "50"
        assert Decimal(by_quote["order"]["cumulative_quote_qty"]) <= Decimal(50)

        history = await ok(c, "get_order_history", {"symbol": "BTCUSDT", "limit": 10})
        ids = [o["order_id"] for o in history["orders"]]
        assert ids == [by_qty["order"]["order_id"], by_quote["order"]["order_id"]]
        trades = await ok(c, "get_my_trades", {"symbol": "BTCUSDT", "limit": 500})
        assert {t["order_id"] for t in trades["trades"]} == set(ids)
        one = await ok(c, "get_my_trades", {"symbol": "BTCUSDT", "order_id": ids[0]})
        assert sum(Decimal(t["qty"]) for t in one["trades"]) == Decimal("0.002")
        assert all(t["is_buyer"] for t in one["trades"])


async def test_filter_failures_name_the_nearest_valid_value(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        price = await resting_buy_price(c)
        step = await err(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.000015", "price": price})
        assert step["code"] == "filter_failure" and step["symbol"] == "BTCUSDT"
        (lot,) = [v for v in step["violations"] if v["filter"] == "LOT_SIZE"]
        assert lot["field"] == "quantity" and lot["nearest_valid"] in ("0.00001", "0.00002")
        assert "step size 0.00001" in lot["message"]

        tick = await err(
            c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price + "3"}
        )
        (pf,) = tick["violations"]
        assert pf["filter"] == "PRICE_FILTER" and pf["nearest_valid"] == str(
            Decimal(price + "3").quantize(Decimal("0.01")).normalize()
        )

        small = await err(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.00001", "price": price})
        (notional,) = small["violations"]
        assert notional["filter"] == "NOTIONAL" and "minimum 5 USDT" in notional["message"]
        smallest = Decimal(notional["nearest_valid"])
        assert smallest * Decimal(price) >= 5 and (smallest - Decimal("0.00001")) * Decimal(price) < 5

        with pytest.raises(RpcError) as bad:
            await call(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "-1", "price": price})
        assert bad.value.code == -32602 and bad.value.data == {"path": "arguments.quantity", "field": "quantity"}
        both = await err(
            c,
            "place_order",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "quote_quantity": "10"},
        )
        assert both["code"] == "invalid_argument"
        with pytest.raises(RpcError) as cid:  # a malformed client order id is a bad parameter: -32602
            await call(
                c,
                "place_order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "quantity": "0.001",
                    "price": price,
                    "client_order_id": "has space",
                },
            )
        assert cid.value.code == -32602 and "arguments.client_order_id" in cid.value.message
        with pytest.raises(RpcError) as cid_newline:  # a trailing newline is not part of a legal id either
            await call(
                c,
                "place_order",
                {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price, "client_order_id": "abc\n"},
            )
        assert cid_newline.value.code == -32602 and "arguments.client_order_id" in cid_newline.value.message
        unknown = await err(c, "place_order", {"symbol": "NOPEUSDT", "side": "BUY", "quantity": "1", "price": "1"})
        assert unknown["code"] == "exchange_error" and unknown["exchange_error"] == "InvalidSymbol"
        assert (await ok(c, "get_open_orders", {}))["orders"] == []  # nothing reached the exchange


async def test_dry_run_and_preview_place_nothing(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        price = await resting_buy_price(c)
        args = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01", "price": price}
        dry = await call(c, "place_order", {**args, "dry_run": True})
        out = dry["structuredContent"]
        assert dry["isError"] is False and out["dry_run"] is True and out["duplicate"] is False
        assert out["order"]["quantity"] == "0.01" and out["order"]["client_order_id"].startswith("tmcp-")
        assert Decimal(out["estimated_notional"]) == Decimal(price) / 100
        assert Decimal(out["estimated_fee"]) == Decimal(out["estimated_notional"]) * Decimal("0.001")
        assert "nothing placed" in dry["content"][0]["text"]

        preview = await ok(c, "preview_order", args)
        assert preview["needs_confirmation"] is False and preview["confirmation_token"] is None
        assert preview["estimated_notional"] == out["estimated_notional"]
        assert Decimal(preview["reference"]["bid"]) > Decimal(price)

        # the exchange's own order test runs too: an order the local rules pass but the account cannot fund
        # still passes order/test (Binance does not check balances there), so only the rules matter here
        rejected = await err(c, "place_order", {**args, "quantity": "0.0000001", "dry_run": True})
        assert rejected["code"] == "filter_failure"
        assert (await ok(c, "get_order_history", {"symbol": "BTCUSDT"}))["orders"] == []


async def test_retry_with_the_same_client_order_id_places_one_order(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        price = await resting_buy_price(c)
        args = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price, "client_order_id": "bot-42"}
        first = await ok(c, "place_order", args)
        second = await call(c, "place_order", args)
        assert second["isError"] is False
        assert second["structuredContent"]["duplicate"] is True and first["duplicate"] is False
        assert second["structuredContent"]["order"]["order_id"] == first["order"]["order_id"]
        assert second["content"][0]["text"].startswith("duplicate")

        # concurrent retries: the second waits for the first, then gets the existing order
        args2 = {**args, "client_order_id": "bot-43"}
        results = await asyncio.gather(*(call(c, "place_order", args2) for _ in range(4)))
        flags = sorted(r["structuredContent"]["duplicate"] for r in results)
        assert flags == [False, True, True, True]
        assert len({r["structuredContent"]["order"]["order_id"] for r in results}) == 1

        # the same id with other values returns the existing order and says what differs
        other = await ok(c, "place_order", {**args, "quantity": "0.002"})
        assert other["duplicate"] is True and other["differs_from_request"] == ["quantity"]

        history = await ok(c, "get_order_history", {"symbol": "BTCUSDT"})
        assert sorted(o["client_order_id"] for o in history["orders"]) == ["bot-42", "bot-43"]


async def test_a_forgotten_client_order_id_still_places_one_order(tool_server: ToolServer) -> None:
    """An id the server no longer remembers (e.g. placed before a restart) of an OPEN order: the exchange rejects
    the duplicate and the tool answers with the existing order."""
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        price = await resting_buy_price(c)
        args = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price, "client_order_id": "gone-1"}
        first = await ok(c, "place_order", args)
        _desk(tool_server).desk(tool_server.venues.get()).ids.forget_all()  # forget, as a restart would
        again = await ok(c, "place_order", args)
        assert again["duplicate"] is True and again["order"]["order_id"] == first["order"]["order_id"]
        assert len((await ok(c, "get_order_history", {"symbol": "BTCUSDT"}))["orders"]) == 1


async def test_lookup_finds_a_closed_order_id_after_a_restart(data_dir: Path, tmp_path: Path) -> None:
    """With ``lookup_unknown_client_ids`` a forgotten id is looked up on the exchange first (closed orders too)."""
    config = ToolsetConfig(safety=SafetyConfig(lookup_unknown_client_ids=True))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            args = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "client_order_id": "m1"}
            first = await ok(c, "place_order", args)
            assert first["order"]["status"] == "FILLED"
            _desk(srv).desk(srv.venues.get()).ids.forget_all()
            again = await ok(c, "place_order", args)
            assert again["duplicate"] is True and again["order"]["order_id"] == first["order"]["order_id"]
            assert len((await ok(c, "get_order_history", {"symbol": "BTCUSDT"}))["orders"]) == 1


async def test_an_alerts_order_id_is_looked_up_without_the_setting(data_dir: Path, tmp_path: Path) -> None:
    """An id derived from a webhook alert (``tv-…``) is looked up on the exchange whatever ``lookup_unknown_client_ids``
    says (off here): a repeat that reaches a server or trader that never saw it (no memory, no journal of it) finds the
    closed order; an id of the caller's own is not looked up."""
    config = ToolsetConfig(safety=SafetyConfig(intent_journal=False))
    async with start_tool_server(data_dir, tmp_path, config) as srv:
        assert not _desk(srv).config.lookup_unknown_client_ids
        srv.sim.step(2000)
        async with srv.client() as c:
            market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
            alert = {**market, "client_order_id": client_order_id("alert-7")}
            first = await ok(c, "place_order", alert)
            assert first["order"]["status"] == "FILLED"
            _desk(srv).desk(srv.venues.get()).ids.forget_all()  # as a trader that took over knows nothing
            again = await ok(c, "place_order", alert)
            assert again["duplicate"] is True and again["order"]["order_id"] == first["order"]["order_id"]
            own = {**market, "client_order_id": "own-1"}
            await ok(c, "place_order", own)
            _desk(srv).desk(srv.venues.get()).ids.forget_all()
            assert (await ok(c, "place_order", own))["duplicate"] is False  # the closed order's id is not asked
            assert len((await ok(c, "get_order_history", {"symbol": "BTCUSDT"}))["orders"]) == 3


def _desk(srv: ToolServer) -> Any:
    """The server's TradingDesk, found through a registered trading tool (bound method of PlaceTools)."""
    return srv.app.tools["place_order"].fn.__self__.desk  # type: ignore[attr-defined]


async def test_a_read_token_cannot_trade(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client(token=READER_TOKEN) as c:
        denied = await err(
            c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        )
        assert denied["code"] == "forbidden"
        assert (await err(c, "kill_switch", {}))["code"] == "forbidden"
        assert (await ok(c, "get_open_orders", {}))["orders"] == []  # reads are allowed
    tools = {t.name: t for t in tool_server.app.tools.values()}
    assert tools["place_order"].scope == "trade" and tools["place_order"].destructive
    assert tools["get_order"].scope == "read" and tools["get_order"].read_only
    assert all("exchange" in t.input_schema["properties"] for n, t in tools.items() if n in _TRADING_TOOLS)


_TRADING_TOOLS = {
    "place_order",
    "preview_order",
    "place_oco",
    "cancel_order",
    "cancel_all_orders",
    "replace_order",
    "get_order",
    "get_open_orders",
    "get_order_history",
    "get_my_trades",
    "place_orders_batch",
    "cancel_orders_batch",
    "kill_switch",
    "get_trading_limits",
}


async def test_replace_cancel_all_and_batches(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        btc, eth = await resting_buy_price(c), await resting_buy_price(c, "ETHUSDT")
        first = await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": btc})
        lower = str(Decimal(btc) - 10)
        replaced = await call(
            c,
            "replace_order",
            {
                "symbol": "BTCUSDT",
                "order_id": first["order"]["order_id"],
                "price": lower,
                "new_client_order_id": "moved-1",
            },
        )
        assert replaced["isError"] is False, replaced["content"][0]["text"]
        rep = replaced["structuredContent"]
        assert rep["cancelled"]["order_id"] == first["order"]["order_id"] and rep["cancelled"]["status"] == "CANCELED"
        assert rep["order"]["client_order_id"] == "moved-1" and rep["order"]["orig_qty"] == "0.001"
        assert Decimal(rep["order"]["price"]) == Decimal(lower) and rep["order"]["status"] == "NEW"

        batch = await call(
            c,
            "place_orders_batch",
            {
                "orders": [
                    {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.01", "price": eth},
                    {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.01234567", "price": eth},
                    {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": btc},
                ]
            },
        )
        results = batch["structuredContent"]["results"]
        assert [r["ok"] for r in results] == [True, False, True] and batch["structuredContent"]["failed"] == 1
        assert results[1]["error"]["code"] == "filter_failure" and results[1]["error"]["violations"]
        assert "2 of 3 orders placed" in batch["content"][0]["text"]

        open_now = (await ok(c, "get_open_orders", {}))["orders"]
        assert len(open_now) == 3 and {o["symbol"] for o in open_now} == {"BTCUSDT", "ETHUSDT"}
        cancel_batch = await ok(
            c,
            "cancel_orders_batch",
            {
                "orders": [
                    {"symbol": "BTCUSDT", "client_order_id": "moved-1"},
                    {"symbol": "BTCUSDT", "order_id": 999999},
                ]
            },
        )
        assert [r["ok"] for r in cancel_batch["results"]] == [True, False]
        assert cancel_batch["results"][1]["error"]["code"] == "exchange_error"

        everything = await ok(c, "cancel_all_orders", {})
        assert everything["count"] == 2 and everything["symbols"] == ["BTCUSDT", "ETHUSDT"]
        assert (await ok(c, "get_open_orders", {}))["orders"] == []


async def test_oco_places_two_legs(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        b = await bid(c)
        above, stop = (b * Decimal("1.02")).quantize(Decimal("0.01")), (b * Decimal("0.98")).quantize(Decimal("0.01"))
        args = {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.001",
            "price": str(above),
            "stop_price": str(stop),
            "stop_limit_price": str(stop - 5),
            "list_client_order_id": "oco-1",
        }
        res = await call(c, "place_oco", args)
        assert res["isError"] is False, res["content"][0]["text"]
        oco = res["structuredContent"]
        assert oco["list_client_order_id"] == "oco-1" and len(oco["orders"]) == 2
        assert oco["duplicate"] is False and res["content"][0]["text"].startswith("OCO")
        open_now = (await ok(c, "get_open_orders", {"symbol": "BTCUSDT"}))["orders"]
        assert {o["type"] for o in open_now} == {"LIMIT_MAKER", "STOP_LOSS_LIMIT"}
        again = await ok(c, "place_oco", args)
        assert again["duplicate"] is True and len(again["orders"]) == 2
        assert len((await ok(c, "get_open_orders", {"symbol": "BTCUSDT"}))["orders"]) == 2


async def test_kill_switch_cancels_everything_and_blocks_new_orders(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        btc, eth = await resting_buy_price(c), await resting_buy_price(c, "ETHUSDT")
        await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": btc})
        await ok(c, "place_order", {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.01", "price": eth})
        killed = await call(c, "kill_switch", {"reason": "test"})
        out = killed["structuredContent"]
        assert out["kill_switch"] == "on" and out["count"] == 2 and out["open_orders_after"] == 0
        assert (
            all(o["status"] == "CANCELED" for o in out["cancelled"])
            and "KILL SWITCH ON" in killed["content"][0]["text"]
        )
        refused = await err(
            c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        )
        assert refused["code"] == "safety_kill_switch" and "test" in refused["message"]
        assert (await err(c, "preview_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": btc}))[
            "code"
        ] == "safety_kill_switch"
        limits = await ok(c, "get_trading_limits", {})
        assert limits["kill_switch_active"] is True and limits["trading_allowed"] is False
        assert (await ok(c, "get_open_orders", {}))["orders"] == []
