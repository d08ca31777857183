"""The bot against the whole stack over wss on the real recording: it places and fills orders, its fills are the
simulator's, its P&L equals the P&L from the balances, the report and plots are written; and it survives a server
restart in the middle of the run (reconnect, resume every stream with no message lost, reconcile, carry on, no
duplicate order)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import orjson

from tradingmcp.client.bot.app import BotSession, run_session
from tradingmcp.client.bot.runner import BotRunner
from tradingmcp.client.bot.view import status_line
from tradingmcp.research.runs import read_run

from .support import TOKEN, BotServer, booked_fills, exchange_records, start_bot_server


def _assert_consistent(srv: BotServer, session: BotSession) -> None:
    assert session.ok, session.problems
    report = session.report
    assert report["orders"]["placed"] > 0 and report["trades"], report["orders"]
    # every fill the bot booked is one the simulator recorded for the bot's orders, and none is missing
    prefix = f"{session.runner.core.tracker.prefix}{session.runner.core.tracker.run_id}x"
    sim_fills, client_ids = exchange_records(srv.sim, prefix)
    assert booked_fills(session.report["trades"]) == sim_fills
    assert len(client_ids) == len(set(client_ids)), "an order was placed twice"
    # P&L from the fills == P&L from the balances (judge() checks it too; assert the figures themselves here)
    assert Decimal(report["pnl"]["check"]["difference"]) == 0
    assert report["pnl"]["check"]["balance_pnl"] == report["pnl"]["net_pnl"]
    for name in ("json", "text", "equity_png", "latency_png"):
        assert session.paths[name].stat().st_size > 0
    assert session.paths["equity_png"].read_bytes()[:4] == b"\x89PNG"
    doc = orjson.loads(session.paths["json"].read_bytes())
    assert doc["latency"]["tick_to_ack_us"]["count"] > 0 and doc["latency"]["tick_to_ack_us"]["p50"] > 0
    assert "P&L" in session.paths["text"].read_text()


async def test_bot_trades_on_the_recording(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0) as srv:
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT", "ETHUSDT"))
        config = replace(config, report=replace(config.report, run_log=True, runs_dir=tmp_path / "runs"))
        async with asyncio.timeout(40):
            session = await run_session(config, duration_s=6.0)
        _assert_consistent(srv, session)
        assert session.report["orders"]["open_at_end"] == 0
        assert not srv.sim.engine.open.get("BTCUSDT") and not srv.sim.engine.open.get("ETHUSDT")
    # the run log holds the params (no token), one step per equity sample, and the report
    run = read_run(session.paths["run_log"])
    assert (run.kind, run.name, run.status) == ("bot", "BTCUSDT-ETHUSDT", "finished")
    assert run.steps == len(session.runner.core.equity) > 0 and "token" not in run.params["connection"]
    assert TOKEN not in session.paths["run_log"].read_text()
    assert run.last_step["net_pnl"] == float(session.runner.core.equity[-1].net_pnl)
    assert run.metrics["pnl.net_pnl"] == float(session.report["pnl"]["net_pnl"])
    assert run.report["orders"]["placed"] == session.report["orders"]["placed"]


async def test_bot_survives_a_server_restart(data_dir: Path, tmp_path: Path) -> None:
    async with start_bot_server(data_dir, tmp_path, speed=20.0) as srv:
        config = srv.bot_config(tmp_path / "report", ("BTCUSDT",))
        runner = BotRunner(config, backoff_initial_s=0.05, backoff_max_s=0.2)
        marks: dict[str, int] = {}

        async def drill() -> None:
            await asyncio.sleep(2.5)
            assert runner.core.tracker.placed > 0
            await srv.restart(down_s=0.5)  # 10 s of market at 20x: the bot's quotes may fill while it is away
            for _ in range(500):  # bounded: up to 10 s
                if any(r.reason == "reconnect" for r in runner.reconciles):
                    break
                await asyncio.sleep(0.02)
            marks["placed_at_reconcile"] = runner.core.tracker.placed

        async with asyncio.timeout(40):
            task = asyncio.create_task(drill())
            session = await run_session(config, duration_s=7.0, runner=runner)
            await task
        assert runner.client is not None and runner.client.reconnects == 1
        assert session.report["run"]["reconnects"] == 1
        # every stream resumed inside the server's window: not one message lost across the restart
        streams = session.report["run"]["streams"]
        subscribed = len(runner.client.streams)
        assert subscribed >= 3 and streams["received"] > 0
        assert (streams["resumes"], streams["refused"], streams["lost"], streams["duplicates"]) == (subscribed, 0, 0, 0)
        assert "0 lost" in session.paths["text"].read_text()
        assert f"stream lost 0 resumes {subscribed}" in status_line(runner)
        rec = next(r for r in runner.reconciles if r.reason == "reconnect")
        assert not rec.errors and not rec.position_diffs, rec
        assert runner.core.tracker.placed > marks["placed_at_reconcile"], "the bot did not carry on after the restart"
        _assert_consistent(srv, session)
