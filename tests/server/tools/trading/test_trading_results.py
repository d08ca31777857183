"""Every order tool's result says where it traded: ``exchange`` and ``mode`` at the top level, over the real wire.

The venue is the simulator relabelled ``testnet`` (what a server with Spot Testnet keys reports), so the results
must carry the venue's mode, not a constant.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...support import ToolServer, ok
from .test_trading import resting_buy_price

D = Decimal


async def test_every_order_tool_result_carries_exchange_and_mode(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    tool_server.venues.get().mode = "testnet"
    results: dict[str, dict[str, Any]] = {}
    async with tool_server.client() as c:

        async def run(tool: str, args: dict[str, Any], key: str | None = None) -> dict[str, Any]:
            out = await ok(c, tool, args)
            results[key or tool] = out
            return out

        price = await resting_buy_price(c)
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price}
        await run("preview_order", order)
        await run("place_order", {**order, "dry_run": True}, "place_order dry_run")
        first = (await run("place_order", {**order, "client_order_id": "where-1"}))["order"]
        await run("place_order", {**order, "client_order_id": "where-1"}, "place_order duplicate")
        await run("place_orders_batch", {"orders": [order, order]})
        bid = D((await ok(c, "get_ticker", {"symbol": "BTCUSDT"}))["bid"])
        above, stop = (bid * D("1.02")).quantize(D("0.01")), (bid * D("0.98")).quantize(D("0.01"))
        oco = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001", "price": str(above), "stop_price": str(stop)}
        await run("place_oco", {**oco, "stop_limit_price": str(stop - 5), "list_client_order_id": "where-oco"})
        await run("place_oco", {**oco, "list_client_order_id": "where-oco"}, "place_oco duplicate")
        lower = str(D(price) - 10)
        moved = await run("replace_order", {"symbol": "BTCUSDT", "order_id": first["order_id"], "price": lower})
        await run("get_order", {"symbol": "BTCUSDT", "order_id": moved["order"]["order_id"]})
        await run("get_open_orders", {"symbol": "BTCUSDT"})
        await run("cancel_order", {"symbol": "BTCUSDT", "order_id": moved["order"]["order_id"]})
        await run("cancel_orders_batch", {"orders": [{"symbol": "BTCUSDT", "order_id": 999999}]})
        await run("cancel_all_orders", {"symbol": "BTCUSDT"})
        await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"})
        await run("get_order_history", {"symbol": "BTCUSDT"})
        await run("get_my_trades", {"symbol": "BTCUSDT"})
        await run("get_trading_limits", {})
        await run("kill_switch", {"reason": "end of test"})
    assert {k.split()[0] for k in results} == {
        "preview_order",
        "place_order",
        "place_orders_batch",
        "place_oco",
        "replace_order",
        "get_order",
        "get_open_orders",
        "cancel_order",
        "cancel_orders_batch",
        "cancel_all_orders",
        "get_order_history",
        "get_my_trades",
        "get_trading_limits",
        "kill_switch",
    }
    where = {k: (out.get("exchange"), out.get("mode")) for k, out in results.items()}
    assert {k: v for k, v in where.items() if v != ("binance", "testnet")} == {}
