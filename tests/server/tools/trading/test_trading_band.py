"""The price band covers every price an order could fill at: the limit price of STOP_LOSS_LIMIT and
TAKE_PROFIT_LIMIT orders, the OCO's stop-limit leg and a replacement's price, like LIMIT's. A refusal names the field
and the allowed range (quote asset), and nothing reaches the exchange; prices inside the band still pass, and a stop's
trigger price is not banded.

Real stack: the simulator (manual step, the real recording; BTC ≈ 61 824 USDT after ``step(2000)``) → python-binance
adapter → tools → MCP on loopback. The default band is 5 %; the exchange's own PERCENT_PRICE_BY_SIDE (×0.2..×5)
would let every price used here through.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.client.session import McpClient

from ...support import ToolServer, ok
from .test_trading import err

D = Decimal


async def mid(c: McpClient) -> Decimal:
    ticker = await ok(c, "get_ticker", {"symbol": "BTCUSDT"})
    return (D(ticker["bid"]) + D(ticker["ask"])) / 2


def at(m: Decimal, factor: str) -> str:
    """``m × factor`` on the tick (0.01)."""
    return str((m * D(factor)).quantize(D("0.01")))


def assert_band_refusal(error: dict[str, Any], field: str, price: str, m: Decimal) -> None:
    """``error`` is the price band's refusal of ``field`` = ``price``, naming the range around the mid ``m``."""
    assert error["code"] == "safety_price_band", error
    assert error["field"] == field and error["quote_asset"] == "USDT" and error["limit_pct"] == "5"
    low, high = D(error["low"]), D(error["high"])
    assert abs(low - m * D("0.95")) < 1 and abs(high - m * D("1.05")) < 1  # 5 % either side of the mid
    assert not low <= D(price) <= high
    assert error["message"].startswith(f"{field} {D(price).normalize():f} USDT is ")
    assert f"allowed {field} range {error['low']}–{error['high']} USDT" in error["message"]


async def nothing_placed(c: McpClient) -> None:
    assert (await ok(c, "get_order_history", {"symbol": "BTCUSDT"}))["orders"] == []  # asks the exchange


async def test_stop_limit_and_take_profit_limit_prices_are_banded(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        m = await mid(c)
        base = {"symbol": "BTCUSDT", "quantity": "0.001"}
        stop_buy = {**base, "side": "BUY", "type": "STOP_LOSS_LIMIT", "stop_price": at(m, "1.01")}
        far = at(m, "1.2")
        assert_band_refusal(await err(c, "place_order", {**stop_buy, "price": far}), "price", far, m)
        assert_band_refusal(await err(c, "place_order", {**stop_buy, "price": far, "dry_run": True}), "price", far, m)
        assert_band_refusal(await err(c, "preview_order", {**stop_buy, "price": far}), "price", far, m)

        take_sell = {**base, "side": "SELL", "type": "TAKE_PROFIT_LIMIT", "stop_price": at(m, "1.01")}
        low = at(m, "0.8")
        assert_band_refusal(await err(c, "place_order", {**take_sell, "price": low}), "price", low, m)
        take_buy = {**base, "side": "BUY", "type": "TAKE_PROFIT_LIMIT", "stop_price": at(m, "0.99")}
        assert_band_refusal(await err(c, "place_order", {**take_buy, "price": far}), "price", far, m)
        batch = await ok(c, "place_orders_batch", {"orders": [{**stop_buy, "price": far}]})
        assert batch["results"][0]["error"]["code"] == "safety_price_band"
        await nothing_placed(c)

        inside = await ok(c, "place_order", {**stop_buy, "price": at(m, "1.03")})
        assert inside["order"]["type"] == "STOP_LOSS_LIMIT" and inside["order"]["status"] == "NEW"
        taking = await ok(c, "place_order", {**take_sell, "price": at(m, "0.98")})
        assert taking["order"]["type"] == "TAKE_PROFIT_LIMIT" and taking["order"]["status"] == "NEW"
        far_trigger = await ok(c, "place_order", {**stop_buy, "stop_price": at(m, "1.3"), "price": at(m, "1.04")})
        assert far_trigger["order"]["status"] == "NEW"  # the trigger is not a fill price: not banded
        assert len((await ok(c, "get_open_orders", {"symbol": "BTCUSDT"}))["orders"]) == 3


async def test_the_oco_stop_limit_leg_is_banded(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        m = await mid(c)
        oco = {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.001",
            "price": at(m, "1.02"),
            "stop_price": at(m, "0.98"),
        }
        deep = at(m, "0.8")
        refused = await err(c, "place_oco", {**oco, "stop_limit_price": deep})
        assert_band_refusal(refused, "stop_limit_price", deep, m)
        dry = await err(c, "place_oco", {**oco, "stop_limit_price": deep, "dry_run": True})
        assert_band_refusal(dry, "stop_limit_price", deep, m)
        await nothing_placed(c)

        placed = await ok(c, "place_oco", {**oco, "stop_limit_price": at(m, "0.97")})
        assert {o["type"] for o in placed["orders"]} == {"LIMIT_MAKER", "STOP_LOSS_LIMIT"}


async def test_replace_order_moving_a_stop_limit_price_out_of_the_band_is_refused(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        m = await mid(c)
        args = {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_LOSS_LIMIT", "quantity": "0.001"}
        placed = await ok(c, "place_order", {**args, "stop_price": at(m, "1.01"), "price": at(m, "1.02")})
        old = placed["order"]
        far = at(m, "1.2")
        ref = {"symbol": "BTCUSDT", "order_id": old["order_id"]}
        assert_band_refusal(await err(c, "replace_order", {**ref, "price": far}), "price", far, m)
        assert_band_refusal(await err(c, "replace_order", {**ref, "price": far, "dry_run": True}), "price", far, m)
        (still,) = (await ok(c, "get_open_orders", {"symbol": "BTCUSDT"}))["orders"]
        assert (still["order_id"], still["price"], still["status"]) == (old["order_id"], old["price"], "NEW")

        moved = await ok(c, "replace_order", {**ref, "price": at(m, "1.03")})
        assert moved["cancelled"]["order_id"] == old["order_id"]
        assert D(moved["order"]["price"]) == D(at(m, "1.03")) and moved["order"]["type"] == "STOP_LOSS_LIMIT"
