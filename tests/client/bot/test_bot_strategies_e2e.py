"""Each signal strategy through the real bot against the whole stack over wss on the real recording (simulator paced
at 20x): it places orders (LIMIT IOC as a taker, LIMIT_MAKER as a maker) that fill, its fills are the simulator's, its
P&L equals the P&L from the balances, no order is placed twice, and the position never leaves the limit."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.client.bot.app import run_session
from tradingmcp.client.bot.config import BotConfig
from tradingmcp.client.bot.params import MeanReversionParams, MomentumParams

from .support import exchange_records, start_bot_server

STRATEGIES = {
    # one-second bars of exchange time (50 ms of wall time at 20x), short periods: many signals in a few seconds
    "momentum": MomentumParams(bar_interval_s=1.0, fast_period=2, slow_period=4),
    "mean_reversion": MeanReversionParams(bar_interval_s=1.0, period=5, band_k=1.0),
}


def _with_kind(config: BotConfig, kind: str, execution: str) -> BotConfig:
    params = replace(STRATEGIES[kind], execution=execution)
    symbols = tuple(replace(s, strategy=replace(s.strategy, kind=kind, **{kind: params})) for s in config.symbols)
    return replace(config, symbols=symbols)


@pytest.mark.parametrize(
    ("kind", "execution"), [("momentum", "taker"), ("mean_reversion", "taker"), ("momentum", "maker")]
)
async def test_signal_strategy_trades_on_the_recording(
    data_dir: Path, tmp_path: Path, kind: str, execution: str
) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0) as srv:
        config = _with_kind(srv.bot_config(tmp_path / "report", ("BTCUSDT",)), kind, execution)
        async with asyncio.timeout(60):
            session = await run_session(config, duration_s=8.0)
        assert session.ok, session.problems
        report, core = session.report, session.runner.core
        assert report["run"]["strategies"] == {"BTCUSDT": kind} and core.strategies["BTCUSDT"].kind == kind
        assert report["orders"]["placed"] > 0 and report["trades"], report["orders"]
        assert Decimal(report["pnl"]["check"]["difference"]) == 0
        prefix = f"{core.tracker.prefix}{core.tracker.run_id}x"
        sim_fills, client_ids = exchange_records(srv.sim, prefix)
        assert len(client_ids) == len(set(client_ids)), "an order was placed twice"
        assert {(f["symbol"], f["trade_id"]) for f in report["trades"]} == set(sim_fills)
        account = srv.sim.engine.accounts["sim-key"]
        ours = [o for o in account.orders if o.client_order_id.startswith(prefix)]
        if execution == "taker":
            assert ours and all((o.type, o.time_in_force) == ("LIMIT", "IOC") for o in ours)
        else:
            assert ours and all(o.type == "LIMIT_MAKER" for o in ours)
        limit = config.symbol("BTCUSDT").max_position_base
        assert all(abs(p.positions["BTCUSDT"]) <= limit for p in core.equity)
        assert abs(core.ledger.position("BTCUSDT")) <= limit
        assert not srv.sim.engine.open.get("BTCUSDT")
