"""The ``signals`` strategy end to end: the whole server over wss on the simulator (the recording replayed at 20x) with
its TradingView webhook on, the real bot subscribed to ``signals:tradingview``, alerts posted over HTTPS with aiohttp
as TradingView posts them: ``buy`` takes the bot's position to its limit with LIMIT IOC orders the simulator fills,
``sell`` takes it back to flat; the bot's fills are the simulator's, no order is placed twice, and its P&L equals the
P&L from the balances."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tradingmcp.client.bot.alerts import AlertStrategy
from tradingmcp.client.bot.app import run_session
from tradingmcp.client.bot.errors import BotError
from tradingmcp.client.bot.params import SignalsParams
from tradingmcp.client.bot.report import text_report
from tradingmcp.client.bot.runner import BotRunner
from tradingmcp.server.webhooks.config import TradingViewConfig

from .support import exchange_records, start_bot_server

SECRET = "tv-bot-webhook-secret-0a1b2c3d4e5f"


def _alert(alert_id: str, action: str) -> dict[str, Any]:
    """A strategy alert as TradingView posts it (placeholders substituted); ``contracts`` above the bot's limit."""
    return {"secret": SECRET, "id": alert_id, "ticker": "BINANCE:BTCUSDT", "exchange": "BINANCE", "action": action,
            "contracts": "1", "price": "97213.57", "time": "2026-12-05T07:31:00Z"}  # fmt: skip


async def _until(check: Callable[[], bool], what: str, state: Callable[[], object], timeout_s: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not check():  # noqa: ASYNC110 - the bot's state, no event to wait on; bounded by the timeout
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}: {state()}") from None


async def test_buy_then_sell_alerts_take_the_bots_position_long_then_flat(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0, tradingview=TradingViewConfig(secret=SECRET)) as srv:
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT",))
        sym = config.symbols[0]
        strategy = replace(sym.strategy, kind="signals", signals=SignalsParams(max_age_s=30.0))
        config = replace(config, symbols=(replace(sym, strategy=strategy),))
        limit = sym.max_position_base
        runner = BotRunner(config)
        core = runner.core
        done = asyncio.Event()

        def state() -> dict[str, Any]:
            strat = core.strategies["BTCUSDT"]
            assert isinstance(strat, AlertStrategy)
            return {
                "position": core.ledger.position("BTCUSDT"),
                "target": strat.target_position,
                "ignored": strat.ignored,
                "not_routed": core.alerts_ignored,
                "placed": core.tracker.placed,
                "errors": core.errors,
                "refusals": core.risk.refusals,
            }

        session_task = asyncio.create_task(run_session(config, duration_s=90.0, until=done.is_set, runner=runner))
        base = srv.url.replace("wss://", "https://").removesuffix("/mcp")
        tls = ssl.create_default_context(cafile=str(srv.cafile))
        try:
            # the bot has its market (so it subscribed to everything, the alerts stream included)
            await _until(lambda: core.markets["BTCUSDT"].ready, "the bot's first book ticker", state)
            step = core.rules["BTCUSDT"].step_size
            assert core.ledger.position("BTCUSDT") == 0
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:

                async def post(body: dict[str, Any]) -> dict[str, Any]:
                    async with http.post(f"{base}/webhooks/tradingview", data=orjson.dumps(body)) as resp:
                        answer: dict[str, Any] = orjson.loads(await resp.read())
                        assert resp.status == 200, answer
                        return answer

                answer = await post(_alert("tv-long-1", "buy"))
                assert (answer["status"], answer["stream"], answer["delivered"]) == ("ok", "signals:tradingview", 1)
                # long: within one step of the limit (the simulator takes a BUY's commission in BTC, so the bought
                # 0.002 leaves 0.001998 and the rest is below the smallest order)
                await _until(
                    lambda: limit - core.ledger.position("BTCUSDT") < step, "the position to reach the limit", state
                )
                strat = core.strategies["BTCUSDT"]
                assert isinstance(strat, AlertStrategy) and strat.target_position == limit
                answer = await post(_alert("tv-flat-2", "sell"))
                assert answer["status"] == "ok"
                await _until(lambda: abs(core.ledger.position("BTCUSDT")) < step, "the position to go flat", state)
                assert strat.accepted == 2 and strat.ignored == {}
        finally:
            done.set()
            async with asyncio.timeout(60):
                session = await session_task
    assert session.ok, session.problems
    report = session.report
    assert report["run"]["strategies"] == {"BTCUSDT": "signals"}
    assert report["run"]["alerts"] == {
        "symbols": {"BTCUSDT": {"accepted": 2, "ignored": {}, "target": "0", "last_alert_id": "tv-flat-2"}},
        "not_routed": 0,
    }
    assert "alerts BTCUSDT: 2 taken (target 0), ignored: none" in text_report(report)
    prefix = f"{core.tracker.prefix}{core.tracker.run_id}x"
    sim_fills, client_ids = exchange_records(srv.sim, prefix)
    assert len(client_ids) == len(set(client_ids)), "an order was placed twice"
    assert {(f["symbol"], f["trade_id"]) for f in report["trades"]} == set(sim_fills)
    bought = sum(Decimal(f["qty"]) for f in sim_fills.values() if f["side"] == "BUY")
    sold = sum(Decimal(f["qty"]) for f in sim_fills.values() if f["side"] == "SELL")
    fees = sum(Decimal(f["commission"]) for f in sim_fills.values() if f["commission_asset"] == "BTC")
    assert limit - step < bought - fees <= limit and sold > 0  # long to the limit, then flat: the simulator's books
    assert abs(bought - fees - sold) < step
    account = srv.sim.engine.accounts["sim-key"]
    ours = [o for o in account.orders if o.client_order_id.startswith(prefix)]
    assert ours and all((o.type, o.time_in_force) == ("LIMIT", "IOC") for o in ours)
    assert all(abs(p.positions["BTCUSDT"]) <= limit for p in core.equity)
    assert Decimal(report["pnl"]["check"]["difference"]) == 0


async def test_without_the_webhook_the_bot_refuses_to_start_with_one_line(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0) as srv:
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT",))
        sym = config.symbols[0]
        config = replace(config, symbols=(replace(sym, strategy=replace(sym.strategy, kind="signals")),))
        runner = BotRunner(config)
        match = r"start-up failed: cannot subscribe to signals:tradingview \(is the server's TradingView webhook on\?\)"
        with pytest.raises(BotError, match=match) as info:
            async with asyncio.timeout(30):
                await runner.start()
        assert "\n" not in str(info.value)
        if runner.client is not None:
            await runner.client.close()
