"""Every safety rule refuses over the real wire, and the two-step confirmation of large orders.

BTC ≈ 61 824 USDT after ``step(2000)``: 0.001 BTC ≈ 62 USDT of notional.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig

from ...support import start_tool_server
from .test_trading import bid, call, err, ok, resting_buy_price


async def test_limits_refuse_with_the_limit_and_the_value(data_dir: Path, tmp_path: Path) -> None:
    config = SafetyConfig(
        allowed_symbols=frozenset({"btcusdt"}),
        max_order_notional=Decimal(150),
        max_daily_notional=Decimal(400),
        max_open_orders=2,
        confirm_above_notional=None,
        max_batch=3,
    )
    async with start_tool_server(data_dir, tmp_path, ToolsetConfig(safety=config)) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            price = await resting_buy_price(c)
            order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price}

            eth = await err(c, "place_order", {**order, "symbol": "ETHUSDT"})
            assert eth["code"] == "safety_symbol_not_allowed" and eth["allowed_symbols"] == ["BTCUSDT"]

            big = await err(c, "place_order", {**order, "quantity": "0.003"})
            assert big["code"] == "safety_max_order_notional" and big["limit"] == "150"
            assert Decimal(big["value"]) == Decimal("0.003") * Decimal(price) and "150 USDT" in big["message"]
            ticker = await ok(c, "get_ticker", {"symbol": "BTCUSDT"})
            market = await err(
                c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.003"}
            )
            assert Decimal(market["value"]) == Decimal("0.003") * Decimal(ticker["ask"])  # priced at the best ask

            far = str((await bid(c) * Decimal("0.9")).quantize(Decimal("0.01")))
            band = await err(c, "place_order", {**order, "price": far})
            assert band["code"] == "safety_price_band" and band["limit_pct"] == "5"
            assert Decimal(band["low"]) <= Decimal(price) <= Decimal(band["high"])
            assert (await err(c, "preview_order", {**order, "price": far}))["code"] == "safety_price_band"

            batch = await err(c, "place_orders_batch", {"orders": [order] * 4})
            assert batch["code"] == "safety_max_batch" and batch["limit"] == 3

            first = await ok(c, "place_order", order)
            await ok(c, "place_order", order)
            third = await err(c, "place_order", order)
            assert third["code"] == "safety_max_open_orders" and third["limit"] == 2 and third["value"] == 2
            await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"})

            await ok(c, "cancel_order", {"symbol": "BTCUSDT", "order_id": first["order"]["order_id"]})
            await ok(c, "place_order", {**order, "quantity": "0.002"})  # a freed slot; ~124 USDT more today
            limits = await ok(c, "get_trading_limits", {})
            used = Decimal(limits["today_notional"])
            assert 300 < used < 400 and limits["trading_allowed"] is True
            daily = await err(
                c, "place_order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"}
            )
            assert daily["code"] == "safety_max_daily_notional" and daily["limit"] == "400"
            assert Decimal(daily["remaining"]) == 400 - used
            assert Decimal((await ok(c, "get_trading_limits", {}))["today_notional"]) == used  # refusal not counted


async def test_kill_switch_in_config_and_live_mode_refuse(data_dir: Path, tmp_path: Path) -> None:
    async with start_tool_server(data_dir, tmp_path, ToolsetConfig(safety=SafetyConfig(kill_switch=True))) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            args = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
            killed = await err(c, "place_order", args)
            assert killed["code"] == "safety_kill_switch" and killed["source"] == "config"
            assert (await err(c, "place_order", {**args, "dry_run": True}))["code"] == "safety_kill_switch"
            srv.venues.get().mode = "live"  # what a server with mainnet keys reports
            limits = await ok(c, "get_trading_limits", {})
            assert limits["mode"] == "live" and limits["trading_allowed"] is False
    async with start_tool_server(data_dir, tmp_path) as srv:
        srv.sim.step(2000)
        srv.venues.get().mode = "live"
        async with srv.client() as c:
            live = await err(c, "place_order", args)
            assert live["code"] == "safety_live_not_allowed" and "allow_live" in live["message"]
            assert (await ok(c, "get_open_orders", {}))["orders"] == []


async def test_large_orders_need_a_fresh_matching_single_use_token(data_dir: Path, tmp_path: Path) -> None:
    config = SafetyConfig(confirm_above_notional=Decimal(100), confirm_ttl_s=0.3)
    async with start_tool_server(data_dir, tmp_path, ToolsetConfig(safety=config)) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            price = await resting_buy_price(c)
            order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.002", "price": price}  # ~122 USDT

            small = await ok(c, "place_order", {**order, "quantity": "0.001"})  # below the threshold: one step
            assert small["order"]["status"] == "NEW"

            missing = await err(c, "place_order", order)
            assert missing["code"] == "confirmation_required" and missing["reason"] == "missing"
            assert "preview_order" in missing["message"] and "100 USDT" in missing["message"]

            preview = await call(c, "preview_order", order)
            token = preview["structuredContent"]["confirmation_token"]
            assert preview["structuredContent"]["needs_confirmation"] is True and token.startswith("conf-")
            assert preview["structuredContent"]["expires_in_s"] == 0.3 and token in preview["content"][0]["text"]

            other = await err(c, "place_order", {**order, "quantity": "0.0021", "confirmation_token": token})
            assert other["code"] == "confirmation_required" and other["reason"] == "mismatch"
            unknown = await err(c, "place_order", {**order, "confirmation_token": "conf-made-up"})
            assert unknown["reason"] == "unknown"

            placed = await ok(c, "place_order", {**order, "quantity": "0.0020", "confirmation_token": token})
            assert placed["order"]["orig_qty"] == "0.002" and placed["duplicate"] is False
            used = await err(c, "place_order", {**order, "confirmation_token": token})
            assert used["reason"] == "used"

            late = (await ok(c, "preview_order", order))["confirmation_token"]
            await asyncio.sleep(0.35)
            expired = await err(c, "place_order", {**order, "confirmation_token": late})
            assert expired["code"] == "confirmation_required" and expired["reason"] in ("expired", "unknown")

            dry = await ok(c, "place_order", {**order, "dry_run": True})  # a dry run needs no token
            assert dry["needs_confirmation"] is True
            history = await ok(c, "get_order_history", {"symbol": "BTCUSDT"})
            assert [o["orig_qty"] for o in history["orders"]] == ["0.001", "0.002"]
