"""The arbitrage bot end to end: the server bridges the simulator's Binance face and its MEXC face (its own simulator
on the same recording at prices 40 bps higher) over wss on loopback; the bot buys on Binance and sells on MEXC as
LIMIT IOC pairs, and both simulators record the fills of both legs, equal to the bot's own books."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.client.bot.app import run_session
from tradingmcp.client.bot.arbitrage import Arbitrage
from tradingmcp.client.bot.config import StrategyConfig
from tradingmcp.client.bot.params import ArbitrageParams
from tradingmcp.sim.mexc import MEXC_SIM_KEY

from .support import exchange_records, start_bot_server

pytestmark = pytest.mark.data
OFFSET_BPS = 40.0


async def test_arbitrage_fills_both_legs_on_the_two_venues(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0, exchange="both", mexc_offset_bps=OFFSET_BPS) as srv:
        mexc_sim = srv.stack.mexc_sim
        assert mexc_sim is not None and mexc_sim is not srv.sim
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT",))
        strategy = StrategyConfig(kind="arbitrage", arbitrage=ArbitrageParams(min_edge_bps=5.0))
        config = replace(config, symbols=(replace(config.symbols[0], strategy=strategy),))
        async with asyncio.timeout(60):
            session = await run_session(config, duration_s=5.0)
        assert session.ok, session.problems
        core = session.runner.core
        strat = core.strategies["BTCUSDT"]
        assert isinstance(strat, Arbitrage)
        prefix = config.client_id_prefix + core.tracker.run_id
        binance_fills, binance_ids = exchange_records(srv.sim, prefix)
        mexc_fills, mexc_ids = exchange_records(mexc_sim, prefix, MEXC_SIM_KEY)
    assert binance_fills and mexc_fills, core.errors
    # Binance is 40 bps cheaper: every leg bought there and sold on MEXC
    assert {f["side"] for f in binance_fills.values()} == {"BUY"}
    assert {f["side"] for f in mexc_fills.values()} == {"SELL"}
    bought = sum(Decimal(f["qty"]) for f in binance_fills.values())
    sold = sum(Decimal(f["qty"]) for f in mexc_fills.values())
    assert strat.inventory == {"binance": bought, "mexc": -sold}  # the bot's books are the venues'
    assert bought <= config.symbols[0].max_position_base and sold <= config.symbols[0].max_position_base
    # every order went once, to one venue
    assert not set(binance_ids) & set(mexc_ids)
    assert len(binance_ids) == len(set(binance_ids)) and len(mexc_ids) == len(set(mexc_ids))
    sell_px = min(Decimal(f["price"]) for f in mexc_fills.values())
    buy_px = max(Decimal(f["price"]) for f in binance_fills.values())
    assert sell_px > buy_px  # bought low on one venue, sold high on the other
