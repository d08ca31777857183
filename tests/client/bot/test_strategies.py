"""The strategy plug-ins in the sans-I/O core on crafted markets: bars, the momentum EMA cross, mean reversion on the
Bollinger bands and RSI, orders toward the target position (taker IOC or maker), the position limit, and a taker slot
that waits for its fills before the next order; the strategies' indicators on bars of the recording equal TA-Lib's."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from tradingmcp.client.bot.bars import Bar, BarBuilder
from tradingmcp.client.bot.config import BotConfig, RiskConfig, StrategyConfig, SymbolConfig
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.mean_reversion import MeanReversion
from tradingmcp.client.bot.momentum import Momentum
from tradingmcp.client.bot.params import STRATEGY_KINDS, MeanReversionParams, MomentumParams
from tradingmcp.client.bot.plugin import STRATEGIES, MarketMaking, make_strategy
from tradingmcp.client.bot.strategy import SymbolRulesLite

from .recorded import pushed_messages

RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
MS = 1_000_000
QTY, MAX = Decimal("0.001"), Decimal("0.002")
_ids = itertools.count(1)


def _sym(kind: str, **params: Any) -> SymbolConfig:
    strategy = StrategyConfig(kind=kind)
    if kind == "momentum":
        strategy = replace(strategy, momentum=MomentumParams(**{"bar_interval_s": 1.0, **params}))
    elif kind == "mean_reversion":
        strategy = replace(strategy, mean_reversion=MeanReversionParams(**{"bar_interval_s": 1.0, **params}))
    return SymbolConfig("BTCUSDT", QTY, MAX, strategy)


def _core(sym: SymbolConfig) -> BotCore:
    core = BotCore(BotConfig(symbols=(sym,), risk=RiskConfig(max_orders_per_s=1000.0, order_burst=1000)))
    core.rules["BTCUSDT"] = RULES
    return core


def _book(core: BotCore, bid: str, ask: str, t_ms: int) -> list[Action]:
    data = {"symbol": "BTCUSDT", "bid": bid, "bid_qty": "1", "ask": ask, "ask_qty": "1", "update_id": next(_ids),
            "time_ms": t_ms}  # fmt: skip
    return core.on_stream("book_ticker:binance:BTCUSDT", data, t_ms * MS)


def _trade(core: BotCore, price: float, t_ms: int) -> list[Action]:
    data = {"symbol": "BTCUSDT", "id": next(_ids), "price": f"{price:.2f}", "qty": "0.01", "time_ms": t_ms,
            "taker_side": "BUY"}  # fmt: skip
    return core.on_stream("trades:binance:BTCUSDT", data, t_ms * MS)


def _fill(core: BotCore, action: Action, t_ms: int, ack_first: bool = True) -> None:
    """The venue fills ``action`` whole: the tool result (FILLED), then the pushed order event with the fill."""
    assert action.qty is not None and action.price is not None
    oid = next(_ids)
    order = {"client_order_id": action.client_order_id, "order_id": oid, "symbol": "BTCUSDT", "side": action.side,
             "status": "FILLED", "price": str(action.price), "orig_qty": str(action.qty),
             "executed_qty": str(action.qty)}  # fmt: skip
    fill = {"symbol": "BTCUSDT", "trade_id": oid, "order_id": oid, "price": str(action.price), "qty": str(action.qty),
            "commission": "0", "commission_asset": "USDT", "is_maker": False, "time_ms": t_ms}  # fmt: skip
    if ack_first:
        core.on_result(action, {"structuredContent": {"order": order, "duplicate": False}}, t_ms * MS)
    core.on_stream("orders:binance", {"event": "order", "order": order, "fill": fill}, t_ms * MS)
    if not ack_first:
        core.on_result(action, {"structuredContent": {"order": order, "duplicate": False}}, t_ms * MS)


def test_bars_close_on_the_next_interval_and_fill_gaps() -> None:
    bars = BarBuilder(1000)
    assert bars.update(10.0, 1.0, 500) == [] and bars.update(12.0, 2.0, 900) == [] and bars.update(9.0, 1.0, 999) == []
    assert bars.update(11.0, 1.0, 1000) == [Bar(0, 10.0, 12.0, 9.0, 9.0, 4.0, 3)]
    out = bars.update(13.0, 1.0, 3500)  # 2000..2999 had no price: a flat bar at the last close
    assert out == [Bar(1000, 11.0, 11.0, 11.0, 11.0, 1.0, 1), Bar(2000, 11.0, 11.0, 11.0, 11.0, 0.0, 0)]
    assert bars.update(14.0, 1.0, 3000) == []  # late: counted in the open bar
    assert bars.update(1.0, 0.0, 4000)[0] == Bar(3000, 13.0, 14.0, 13.0, 14.0, 2.0, 2)
    with pytest.raises(ValueError, match="interval_ms"):
        BarBuilder(0)


def test_registry_has_every_kind() -> None:
    assert tuple(STRATEGIES) == STRATEGY_KINDS
    assert isinstance(make_strategy(_sym("market_making")), MarketMaking)
    assert isinstance(make_strategy(_sym("momentum")), Momentum)
    assert isinstance(make_strategy(_sym("mean_reversion")), MeanReversion)
    with pytest.raises(ValueError, match="unknown strategy kind 'grid'"):
        make_strategy(SymbolConfig("BTCUSDT", strategy=StrategyConfig(kind="grid")))


def test_momentum_buys_on_the_up_cross_with_ioc_and_sells_on_the_down_cross() -> None:
    core = _core(_sym("momentum", fast_period=2, slow_period=4))
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Momentum)
    assert _book(core, "60000.00", "60000.01", 1) == []  # no signal yet: nothing wanted
    t = 0
    for price in (60000.0, 59990.0, 59980.0, 59970.0, 59960.0):  # falling: the EMAs get ready, fast < slow: flat
        t += 1000
        assert _trade(core, price, t) == []
    assert strat.slow.value is not None and strat.signal == 0
    actions: list[Action] = []
    for price in (60010.0, 60050.0, 60100.0):
        t += 1000
        actions += _trade(core, price, t)
        if actions:
            break
    assert strat.signal == 1 and len(actions) == 1
    buy = actions[0]
    assert buy.kind == "place" and buy.side == "BUY" and buy.taker and buy.qty == QTY
    assert buy.price == Decimal("60000.01")  # marketable: at the best ask
    name, args = buy.tool_call("binance")
    assert name == "place_order" and args["type"] == "LIMIT" and args["time_in_force"] == "IOC"
    # the IOC filled; until its fill is booked the slot waits (the position would miss it)
    order = {"client_order_id": buy.client_order_id, "order_id": 42, "symbol": "BTCUSDT", "side": "BUY",
             "status": "FILLED", "price": "60000.01", "orig_qty": "0.001", "executed_qty": "0.001"}  # fmt: skip
    core.on_result(buy, {"structuredContent": {"order": order, "duplicate": False}}, t * MS)
    assert _book(core, "60000.01", "60000.02", t + 1) == []
    fill = {"symbol": "BTCUSDT", "trade_id": 9, "order_id": 42, "price": "60000.01", "qty": "0.001",
            "commission": "0", "commission_asset": "USDT", "is_maker": False, "time_ms": t}  # fmt: skip
    core.on_stream("orders:binance", {"event": "order", "order": order, "fill": fill}, t * MS)
    assert core.ledger.position("BTCUSDT") == QTY
    second = _book(core, "60000.00", "60000.02", t + 2)
    assert [(a.kind, a.side, a.price, a.qty) for a in second] == [("place", "BUY", Decimal("60000.02"), QTY)]
    _fill(core, second[0], t + 3, ack_first=False)
    assert core.ledger.position("BTCUSDT") == MAX
    assert _book(core, "60000.01", "60000.03", t + 4) == []  # at the target (= max_position_base): nothing more
    # the trend turns: down cross → flat, sold at the best bid in order_qty steps
    sells: list[Action] = []
    for price in (59900.0, 59800.0, 59700.0, 59600.0):
        t += 1000
        sells += _trade(core, price, t)
        if sells:
            break
    assert strat.signal == 0 and [(a.side, a.price, a.taker) for a in sells] == [("SELL", Decimal("60000.01"), True)]
    _fill(core, sells[0], t)
    last = _book(core, "59990.00", "59990.05", t + 1)
    assert [(a.side, a.price, a.qty) for a in last] == [("SELL", Decimal("59990.00"), QTY)]
    _fill(core, last[0], t + 2)
    assert core.ledger.position("BTCUSDT") == 0 and _book(core, "59990.01", "59990.05", t + 3) == []


def test_momentum_short_and_maker_execution() -> None:
    core = _core(_sym("momentum", fast_period=2, slow_period=3, allow_short=True, execution="maker"))
    _book(core, "60000.00", "60000.10", 1)
    t, actions = 0, []
    for price in (60000.0, 60010.0, 60020.0, 60030.0, 59900.0, 59800.0):
        t += 1000
        actions += _trade(core, price, t)
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Momentum) and strat.signal == -1
    sells = [a for a in actions if a.side == "SELL"]
    assert sells and all(not a.taker for a in sells) and sells[0].price == Decimal("60000.10")  # own touch
    _, args = sells[0].tool_call("binance")
    assert args["type"] == "LIMIT_MAKER" and "time_in_force" not in args
    ack = {"client_order_id": sells[0].client_order_id, "order_id": 5, "symbol": "BTCUSDT", "side": "SELL",
           "status": "NEW", "price": "60000.10", "orig_qty": "0.001", "executed_qty": "0"}  # fmt: skip
    for a in actions:
        core.on_result(a, {"structuredContent": {"order": ack if a is sells[0] else {}}}, t * MS)
    moved = _book(core, "59999.00", "59999.50", t + 100)  # the touch moved: the resting maker order follows it
    assert [(a.kind, a.side, a.price) for a in moved] == [("replace", "SELL", Decimal("59999.50"))]


def test_momentum_on_mids() -> None:
    core = _core(_sym("momentum", fast_period=2, slow_period=3, bar_source="mid"))
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Momentum)
    for i, mid in enumerate((100.0, 99.0, 98.0, 97.0, 99.0, 101.0, 103.0)):
        _trade(core, 50.0, i * 1000 + 10)  # trades do not make bars here
        _book(core, f"{60000 + mid - 0.01:.2f}", f"{60000 + mid + 0.01:.2f}", i * 1000 + 500)
    assert strat.bars.closed == 6 and strat.last_bar is not None and strat.last_bar.close == 60101.0
    assert strat.signal == 1


def _mean_reversion_run(core: BotCore, closes: list[float]) -> list[tuple[int, int, list[Action]]]:
    """One trade per bar; ``(bar index, signal after it, actions)`` per bar (actions filled at once)."""
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, MeanReversion)
    out = []
    for i, price in enumerate(closes):
        t = (i + 1) * 1000
        acts = _book(core, f"{price - 0.01:.2f}", f"{price + 0.01:.2f}", t)
        acts += _trade(core, price, t + 1)
        acts += _book(core, f"{price - 0.02:.2f}", f"{price + 0.01:.2f}", t + 2)
        for a in acts:
            _fill(core, a, t + 3)
        out.append((i, strat.signal, acts))
    return out


def test_mean_reversion_bollinger_buys_below_the_band_and_exits_at_the_middle() -> None:
    core = _core(_sym("mean_reversion", period=5, band_k=1.5))
    calm = [60000.0, 60002.0, 59998.0, 60001.0, 59999.0, 60000.0, 60002.0]
    run = _mean_reversion_run(core, [*calm, 59950.0, 59940.0, 59945.0, 59990.0, 60030.0, 60040.0, 60010.0])
    signals = [s for _, s, _ in run]
    # a bar closes when the next one opens: the 59950 close is seen one bar later
    assert signals[:8] == [0] * 8 and signals[8] == 1
    buys = [a for _, _, acts in run for a in acts if a.side == "BUY"]
    sells = [a for _, _, acts in run for a in acts if a.side == "SELL"]
    assert buys and all(a.taker for a in buys)
    assert sum((a.qty or 0 for a in buys), Decimal(0)) == MAX  # up to the limit, not beyond
    assert signals[-1] == 0 and sum((a.qty or 0 for a in sells), Decimal(0)) == MAX
    assert core.ledger.position("BTCUSDT") == 0
    assert max(p.positions["BTCUSDT"] for p in core.equity) <= MAX


def test_mean_reversion_rsi_with_short() -> None:
    core = _core(_sym("mean_reversion", signal="rsi", rsi_period=3, rsi_overbought=80.0, allow_short=True))
    run = _mean_reversion_run(
        core, [60000.0, 60010.0, 60020.0, 60030.0, 60040.0, 60050.0, 60000.0, 59900.0, 59800.0, 59795.0, 59790.0]
    )
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, MeanReversion) and strat.rsi.value is not None
    assert -1 in [s for _, s, _ in run]  # overbought after the rally: short
    assert min(p.positions["BTCUSDT"] for p in core.equity) >= -MAX
    assert run[-1][1] == 1 and core.ledger.position("BTCUSDT") == MAX  # oversold after the drop: long


def test_market_making_ignores_trades() -> None:
    core = _core(SymbolConfig("BTCUSDT", QTY, MAX))
    assert _book(core, "60000.00", "60000.10", 1) != []
    assert all(_trade(core, 60000.0 + i, i * 1000) == [] for i in range(1, 30))


def test_signal_indicators_on_recorded_bars_equal_talib(data_dir: Path) -> None:
    """The strategies' bars from the recorded trades, and their EMAs / bands / RSI on those bars, are TA-Lib's."""
    momentum = Momentum(_sym("momentum", fast_period=3, slow_period=8))
    meanrev = MeanReversion(_sym("mean_reversion", period=6, rsi_period=5))
    closes: list[float] = []
    flips = 0
    for key, data in pushed_messages(data_dir, "BTCUSDT", 30_000):
        if key.startswith("trades"):
            flips += momentum.on_trade(float(data["price"]), float(data["qty"]), data["time_ms"])
            meanrev.on_trade(float(data["price"]), float(data["qty"]), data["time_ms"])
            if momentum.last_bar is not None and momentum.bars.closed > len(closes):
                closes.append(momentum.last_bar.close)
    assert len(closes) == momentum.bars.closed == meanrev.bars.closed > 100 and flips > 5
    arr = np.asarray(closes, dtype=float)
    assert momentum.fast.value == pytest.approx(talib.EMA(arr, 3)[-1], rel=1e-9)
    assert momentum.slow.value == pytest.approx(talib.EMA(arr, 8)[-1], rel=1e-9)
    upper, middle, lower = talib.BBANDS(arr, 6, 2.0, 2.0, 0)
    assert meanrev.bands.value is not None and meanrev.rsi.value is not None
    assert (meanrev.bands.value.upper, meanrev.bands.value.middle, meanrev.bands.value.lower) == pytest.approx(
        (upper[-1], middle[-1], lower[-1]), rel=1e-9
    )
    assert meanrev.rsi.value == pytest.approx(talib.RSI(arr, 5)[-1], rel=1e-9)


def test_mean_reversion_both_needs_the_bands_and_the_rsi() -> None:
    calm = [60000.0, 60002.0, 59998.0, 60001.0, 59999.0, 60000.0, 60002.0]
    closes = [*calm, 59950.0, 59940.0, 59945.0, 59990.0]
    signals = {}
    for name, params in {
        "bands only": {"signal": "bollinger"},
        "both, RSI far": {"signal": "both", "rsi_oversold": 1.0},
        "both, RSI near": {"signal": "both", "rsi_oversold": 45.0},
    }.items():
        strat = MeanReversion(_sym("mean_reversion", period=5, band_k=1.5, rsi_period=3, **params))
        seen = []
        for i, price in enumerate(closes):
            strat.on_trade(price, 0.01, (i + 1) * 1000)
            seen.append(strat.signal)
        signals[name] = seen
    assert 1 in signals["bands only"] and 1 in signals["both, RSI near"]
    assert set(signals["both, RSI far"]) == {0}  # below the band, but the RSI does not confirm
