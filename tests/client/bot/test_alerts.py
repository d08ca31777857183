"""The ``signals`` strategy in the sans-I/O core on crafted alerts as the server's TradingView webhook publishes them:
buy → long (LIMIT IOC at the ask, in order_qty steps), sell → flat, the alert's quantity caps the target, flat and
short words, and the alerts it ignores (another symbol, stale, a repeated alert id, another stream, no action); the
conflator gives queued alerts the wall clock; the ``[strategy.signals]`` table and its one-line errors."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from tradingmcp.client.bot.alerts import AlertStrategy, read_signal
from tradingmcp.client.bot.config import (
    BotConfig,
    ConfigError,
    RiskConfig,
    StrategyConfig,
    SymbolConfig,
    config_from_dict,
)
from tradingmcp.client.bot.conflate import Conflator
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.params import SignalsParams
from tradingmcp.client.bot.plugin import make_strategy
from tradingmcp.client.bot.strategy import SymbolRulesLite

RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
MS = 1_000_000
QTY, MAX = Decimal("0.001"), Decimal("0.002")
STREAM = "signals:tradingview"
NOW_MS = 1_796_000_000_000  # the bot's wall clock in these tests (ms since the epoch)
_ids = itertools.count(1)


def _core(**params: Any) -> BotCore:
    strategy = replace(StrategyConfig(kind="signals"), signals=SignalsParams(**params))
    sym = SymbolConfig("BTCUSDT", QTY, MAX, strategy)
    core = BotCore(BotConfig(symbols=(sym,), risk=RiskConfig(max_orders_per_s=1000.0, order_burst=1000)))
    core.rules["BTCUSDT"] = RULES
    return core


def _book(core: BotCore, t_ms: int, bid: str = "60000.00", ask: str = "60000.01") -> list[Action]:
    data = {"symbol": "BTCUSDT", "bid": bid, "bid_qty": "1", "ask": ask, "ask_qty": "1", "update_id": next(_ids),
            "time_ms": t_ms}  # fmt: skip
    return core.on_stream("book_ticker:binance:BTCUSDT", data, t_ms * MS)


def _alert(
    action: str, alert_id: str, symbol: str = "BTCUSDT", qty: str | None = None, age_ms: int = 500
) -> dict[str, Any]:
    """A ``signals:tradingview`` message as :meth:`tradingmcp.server.webhooks.alerts.Alert.signal` makes it."""
    side = {"buy": "BUY", "long": "BUY", "sell": "SELL", "short": "SELL"}.get(action)
    fields = {"id": alert_id, "ticker": f"BINANCE:{symbol}", "action": action}
    if qty is not None:
        fields["contracts"] = qty
    return {"source": "tradingview", "alert_id": alert_id, "symbol": symbol, "side": side, "quantity": qty,
            "price": None, "exchange": "BINANCE", "time": None, "received_ms": NOW_MS - age_ms,
            "alert": fields}  # fmt: skip


def _send(core: BotCore, data: dict[str, Any], t_ms: int, stream: str = STREAM) -> list[Action]:
    return core.on_stream(stream, data, t_ms * MS, NOW_MS)


def _fill(core: BotCore, action: Action, t_ms: int) -> None:
    """The venue fills ``action`` whole: the tool result (FILLED), then the pushed order event with the fill."""
    assert action.qty is not None and action.price is not None
    oid = next(_ids)
    order = {"client_order_id": action.client_order_id, "order_id": oid, "symbol": "BTCUSDT", "side": action.side,
             "status": "FILLED", "price": str(action.price), "orig_qty": str(action.qty),
             "executed_qty": str(action.qty)}  # fmt: skip
    fill = {"symbol": "BTCUSDT", "trade_id": oid, "order_id": oid, "price": str(action.price), "qty": str(action.qty),
            "commission": "0", "commission_asset": "USDT", "is_maker": False, "time_ms": t_ms}  # fmt: skip
    core.on_result(action, {"structuredContent": {"order": order, "duplicate": False}}, t_ms * MS)
    core.on_stream("orders:binance", {"event": "order", "order": order, "fill": fill}, t_ms * MS)


def _trade_to_target(core: BotCore, first: list[Action], t_ms: int) -> int:
    """Fill every order the core wants (one at a time, a book ticker after each fill) until it wants none."""
    actions = first
    while actions:
        assert len(actions) == 1 and actions[0].kind == "place" and actions[0].taker
        t_ms += 1
        _fill(core, actions[0], t_ms)
        t_ms += 1
        actions = _book(core, t_ms, bid=f"60000.{t_ms % 50:02d}", ask=f"60000.{t_ms % 50 + 1:02d}")
    return t_ms


def _strategy(core: BotCore) -> AlertStrategy:
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, AlertStrategy)
    return strat


def test_buy_goes_long_with_ioc_at_the_ask_and_sell_goes_flat() -> None:
    core = _core()
    assert _book(core, 1) == []  # no alert yet: flat, nothing wanted
    buys = _send(core, _alert("buy", "a1"), 2)
    assert [(a.kind, a.side, a.price, a.qty, a.taker) for a in buys] == [
        ("place", "BUY", Decimal("60000.01"), QTY, True)
    ]
    name, args = buys[0].tool_call("binance")
    assert name == "place_order" and (args["type"], args["time_in_force"]) == ("LIMIT", "IOC")
    t = _trade_to_target(core, buys, 2)
    assert core.ledger.position("BTCUSDT") == MAX == _strategy(core).target_position
    sells = _send(core, _alert("sell", "a2"), t + 1)
    assert [(a.side, a.qty, a.taker) for a in sells] == [("SELL", QTY, True)]
    assert sells[0].price == core.markets["BTCUSDT"].bid  # marketable: at the best bid
    _trade_to_target(core, sells, t + 1)
    assert core.ledger.position("BTCUSDT") == 0 and _strategy(core).accepted == 2


def test_the_alerts_quantity_sets_the_size_capped_at_the_limit_and_short_needs_allow_short() -> None:
    core = _core(allow_short=True)
    _book(core, 1)
    _send(core, _alert("buy", "q1", qty="0.0015"), 2)
    assert _strategy(core).target_position == Decimal("0.0015")
    _send(core, _alert("short", "q2", qty="5"), 3)
    assert _strategy(core).target_position == -MAX
    _send(core, _alert("flat", "q3"), 4)
    assert _strategy(core).target_position == 0
    flat_only = _core()
    _book(flat_only, 1)
    assert _send(flat_only, _alert("sell", "s1"), 2) == []  # flat already: nothing to do
    assert _strategy(flat_only).target_position == 0
    whole = _core(use_quantity=False)
    _send(whole, _alert("buy", "w1", qty="0.0001"), 2)
    assert _strategy(whole).target_position == MAX


def test_ignored_alerts_change_nothing() -> None:
    core = _core(max_age_s=30.0)
    _book(core, 1)
    strat = _strategy(core)
    assert _send(core, _alert("buy", "e1", symbol="ETHUSDT"), 2) == []  # a symbol the bot does not trade
    assert core.alerts_ignored == 1
    assert _send(core, _alert("buy", "old", age_ms=31_000), 3) == []  # received 31 s ago: stale
    assert _send(core, _alert("buy", "x1"), 4, stream="signals:other") == []  # not the configured stream
    assert _send(core, _alert("hold", "h1"), 5) == []  # no known action
    assert strat.target_position == 0 and strat.accepted == 0
    assert strat.ignored == {"stale": 1, "stream": 1, "action": 1}
    buys = _send(core, _alert("buy", "b1"), 6)
    assert len(buys) == 1 and strat.target_position == MAX
    t = _trade_to_target(core, buys, 6)
    # the same alert id again (a resumed stream): ignored, although a sell would have changed the target
    repeat = _alert("sell", "b1")
    assert _send(core, repeat, t + 1) == [] and strat.ignored["duplicate"] == 1
    assert strat.target_position == MAX and core.ledger.position("BTCUSDT") == MAX
    assert _book(core, t + 2, bid="60001.00", ask="60001.01") == []


def test_without_a_wall_clock_no_alert_is_too_old() -> None:
    core = _core(max_age_s=1.0)
    _book(core, 1)
    data = _alert("buy", "n1", age_ms=3_600_000)
    assert len(core.on_stream(STREAM, data, 2 * MS)) == 1  # a backtest has no wall clock


def test_the_conflator_applies_a_queued_alert_with_the_wall_clock_and_decides() -> None:
    core = _core(max_age_s=10.0)
    sent: list[Action] = []
    turns = Conflator(core, lambda: 5 * MS, lambda: NOW_MS)
    turns.on_message("book_ticker:binance:BTCUSDT", {"symbol": "BTCUSDT", "bid": "60000.00", "bid_qty": "1",
                     "ask": "60000.01", "ask_qty": "1", "update_id": 1, "time_ms": 1}, 1 * MS, sent.extend)  # fmt: skip
    turns.on_message(STREAM, _alert("buy", "c0", age_ms=11_000), 2 * MS, sent.extend)
    turns.on_message(STREAM, _alert("buy", "c1"), 3 * MS, sent.extend)
    assert sent == []  # alerts wait for the end of the turn
    turns.end_turn(sent.extend)
    assert [(a.side, a.qty) for a in sent] == [("BUY", QTY)]
    assert _strategy(core).ignored == {"stale": 1}


def test_read_signal() -> None:
    sig = read_signal(_alert("long", "r1", qty="0.002"))
    assert sig is not None and (sig.alert_id, sig.symbol, sig.direction, sig.quantity) == ("r1", "BTCUSDT", 1,
                                                                                         Decimal("0.002"))  # fmt: skip
    # no action field in the alert: the server's side
    assert (read_signal({"symbol": "BTCUSDT", "side": "SELL", "alert": {}}) or sig).direction == -1
    assert read_signal({"symbol": "BTCUSDT", "side": None, "alert": {"action": "Close"}}) is not None
    assert read_signal({"symbol": None, "side": "BUY"}) is None
    bad_qty = read_signal({"symbol": "BTCUSDT", "side": "BUY", "quantity": "-1"})
    assert bad_qty is not None and bad_qty.quantity is None


def test_signals_config_table_and_one_line_errors() -> None:
    config = config_from_dict(
        {"strategy": {"kind": "signals", "signals": {"stream": "signals:tv2", "max_age_s": 5, "execution": "maker"}}}
    )
    strat = make_strategy(config.symbols[0])
    assert isinstance(strat, AlertStrategy) and strat.stream == "signals:tv2" and not strat.taker
    assert strat.params == SignalsParams(stream="signals:tv2", max_age_s=5.0, execution="maker")
    bad = {
        "stream": ("trades:binance:BTCUSDT", "bad value for strategy.signals.stream: must be a signals stream key"),
        "max_age_s": (0, "bad value for strategy.signals.max_age_s: must be a positive number of seconds"),
        "execution": ("market", "bad value for strategy.signals.execution: 'market' is not one of taker, maker"),
        "allow_short": ("yes", "bad value for strategy.signals.allow_short: 'yes' (true or false expected)"),
        "size": (1, "unknown key strategy.signals.size"),
    }
    for key, (value, message) in bad.items():
        with pytest.raises(ConfigError) as info:
            config_from_dict({"strategy": {"kind": "signals", "signals": {key: value}}})
        assert str(info.value).startswith(message) and "\n" not in str(info.value)
