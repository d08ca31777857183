"""The bot's decision warmer (``bot --busy-poll``): re-running a decision's pure steps on the real recording changes
none of the core's state, is held off while an action is in flight, parses the last book ticker on a scratch copy
equal to the market, and :func:`attach_bot` runs it from a spinning loop."""

from __future__ import annotations

import asyncio
import gc
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.client.bot.recorded import pushed_messages
from tradingmcp.client.bot.config import BotConfig, RiskConfig, SymbolConfig
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.perf import attach_bot
from tradingmcp.perf.decision import DecisionWarmer, rehearse

BTC_RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
MS = 1_000_000


def _core() -> BotCore:
    cfg = BotConfig(symbols=(SymbolConfig("BTCUSDT"),), risk=RiskConfig(max_orders_per_s=1000.0, order_burst=1000))
    core = BotCore(cfg)
    core.rules["BTCUSDT"] = BTC_RULES
    return core


def _ack(action: Action) -> dict[str, Any]:
    order = {"client_order_id": action.client_order_id, "order_id": hash(action.client_order_id) % 10**9,
             "symbol": action.symbol, "side": action.side, "status": "NEW", "price": str(action.price),
             "orig_qty": str(action.qty), "executed_qty": "0"}  # fmt: skip
    return {"structuredContent": {"order": order, "duplicate": False}}


def _state(core: BotCore) -> tuple[Any, ...]:
    return (repr(core.markets), repr(core.slots), repr(core.tracker.__dict__), repr(core.ledger.__dict__),
            repr(core.risk.__dict__), core.decisions, core.ticks, len(core.latencies), len(core.equity))  # fmt: skip


def _quoting(data_dir: Path) -> tuple[BotCore, int]:
    """A core with both quotes acknowledged and nothing in flight, and the time (ns) it got there."""
    core = _core()
    now, in_flight = 0, []
    for key, data in pushed_messages(data_dir, "BTCUSDT", 3000):
        now += MS
        in_flight += core.on_stream(key, data, now)
        if in_flight and not core.busy_actions():
            break
        if len(in_flight) == 2:
            for a in in_flight:
                core.on_result(a, _ack(a), now)
    assert core.tracker.live_orders("BTCUSDT") and not core.busy_actions()
    return core, now


def test_warming_changes_nothing_and_holds_off_while_an_action_is_in_flight(data_dir: Path) -> None:
    core, now = _quoting(data_dir)
    warmer = DecisionWarmer(core)
    market = core.markets["BTCUSDT"]
    assert rehearse(market) == market and rehearse(market) is not market
    before = _state(core)
    for _ in range(100):
        warmer.warm()
    assert warmer.runs == 100 and _state(core) == before
    # an action in flight: no warming until its answer
    for key, data in pushed_messages(data_dir, "BTCUSDT", 20000):
        now += MS
        if core.on_stream(key, data, now):
            break
    assert core.busy_actions()
    warmer.warm()
    assert warmer.runs == 100


def test_no_warming_while_paused_or_stopping(data_dir: Path) -> None:
    core, _ = _quoting(data_dir)
    warmer = DecisionWarmer(core)
    core.paused = True
    warmer.warm()
    core.paused, core.stopping = False, True
    warmer.warm()
    assert warmer.runs == 0
    core.stopping = False
    warmer.warm()
    assert warmer.runs == 1


def test_rehearse_parses_the_wire_strings_again(data_dir: Path) -> None:
    """The scratch copy gets the last book ticker from its wire strings (not the market's parsed values), and a market
    that never had one is copied as it is."""
    core, _ = _quoting(data_dir)
    market = core.markets["BTCUSDT"]
    bid, bid_qty, ask, ask_qty = market.book_ticker_wire
    assert bid and Decimal(bid) == market.bid and Decimal(bid_qty) == market.bid_qty
    assert Decimal(ask) == market.ask and Decimal(ask_qty) == market.ask_qty
    market.bid = None  # the parsed value lost: only a parse of the wire strings brings it back
    scratch = rehearse(market)
    assert scratch.bid == Decimal(bid) and market.bid is None
    fresh = MarketState("ETHUSDT")
    assert fresh.book_ticker_wire == ("", "", "", "") and rehearse(fresh) == fresh


async def test_attach_bot_spins_and_warms(data_dir: Path) -> None:
    core, _ = _quoting(data_dir)
    before = _state(core)
    tuning = attach_bot(core)
    try:
        await asyncio.sleep(0.05)
        assert tuning.poller.running and tuning.spins > 1_000, tuning.spins
        assert tuning.warm_runs >= 10, tuning.warm_runs  # about one per ms
        assert tuning.frozen is not None and gc.get_freeze_count() > 10_000  # the heap set aside
    finally:
        tuning.stop()
    assert not tuning.poller.running and _state(core) == before and gc.get_freeze_count() == 0
