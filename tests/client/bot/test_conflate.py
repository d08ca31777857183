"""The turn queue and the conflation rule (no event loop): the latest state per book / book-ticker stream, every order
event and trade, in arrival order; a symbol's first book ticker of a turn decided at once, then once more at the end
of the turn on its newest market."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.config import BotConfig, RiskConfig, SymbolConfig
from tradingmcp.client.bot.conflate import Conflator, TurnQueue, conflates
from tradingmcp.client.bot.core import BotCore
from tradingmcp.client.bot.strategy import SymbolRulesLite

from .recorded import pushed_messages

BTC_RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
ETH_RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001"), Decimal("5"))


def test_latest_state_per_stream_and_every_lossless_message_in_order() -> None:
    q = TurnQueue()
    pushed = [
        ("book_ticker:binance:BTCUSDT", 1),
        ("orders:binance", 2),
        ("book_ticker:binance:ETHUSDT", 3),
        ("trades:binance:BTCUSDT", 4),
        ("book_ticker:binance:BTCUSDT", 5),
        ("book:binance:BTCUSDT:10", 6),
        ("orders:binance", 7),
        ("book_ticker:binance:BTCUSDT", 8),
        ("book:binance:BTCUSDT:10", 9),
        ("trades:binance:BTCUSDT", 10),
    ]
    for i, (key, n) in enumerate(pushed):
        q.push(key, {"n": n}, i)
    assert len(q) == len(pushed)
    kept = q.drain()
    assert [(i.key, i.data["n"]) for i in kept] == [
        ("orders:binance", 2),
        ("book_ticker:binance:ETHUSDT", 3),
        ("trades:binance:BTCUSDT", 4),
        ("orders:binance", 7),
        ("book_ticker:binance:BTCUSDT", 8),  # the latest of its stream, where it arrived
        ("book:binance:BTCUSDT:10", 9),
        ("trades:binance:BTCUSDT", 10),
    ]
    assert [i.arrival_ns for i in kept] == [1, 2, 3, 6, 7, 8, 9]
    assert q.conflated == 3 and len(q) == 0 and q.drain() == []
    q.push("book_ticker:binance:BTCUSDT", {"n": 11}, 11)  # a new turn starts empty: nothing superseded
    assert [i.data["n"] for i in q.drain()] == [11] and q.conflated == 3


def test_which_streams_conflate() -> None:
    assert conflates("book_ticker:binance:BTCUSDT") and conflates("book:mexc:ETHUSDT:20")
    assert not conflates("orders:binance") and not conflates("trades:binance:BTCUSDT")
    assert not conflates("klines:binance:BTCUSDT:1m") and not conflates("signals:tradingview")


def _accepted(action: Action) -> dict[str, Any]:
    order = {"client_order_id": action.client_order_id, "order_id": 1, "symbol": action.symbol, "side": action.side,
             "status": "NEW", "price": str(action.price), "orig_qty": str(action.qty), "executed_qty": "0"}  # fmt: skip
    return {"structuredContent": {"order": order, "duplicate": False}}


def _moved(tickers: list[dict[str, Any]], first: dict[str, Any], ticks: Decimal) -> dict[str, Any]:
    """The first ticker whose bid is at least ``ticks`` away from ``first``'s."""
    return next(t for t in tickers if abs(Decimal(t["bid"]) - Decimal(first["bid"])) >= ticks)


def test_a_symbol_is_decided_at_once_then_once_more_at_the_end_of_the_turn(data_dir: Path) -> None:
    symbols = (SymbolConfig("BTCUSDT", Decimal("0.0002"), Decimal("0.002")),
               SymbolConfig("ETHUSDT", Decimal("0.004"), Decimal("0.04")))  # fmt: skip
    core = BotCore(BotConfig(symbols=symbols, risk=RiskConfig(max_orders_per_s=1000.0, order_burst=1000)))
    core.rules.update({"BTCUSDT": BTC_RULES, "ETHUSDT": ETH_RULES})
    ms = itertools.count(1_000, 100)  # 100 ms between messages: the requote interval never holds a quote
    turns = Conflator(core, lambda: next(ms) * 1_000_000)
    recorded = {s: list(pushed_messages(data_dir, s, 4000)) for s in ("BTCUSDT", "ETHUSDT")}
    bt = [d for k, d in recorded["BTCUSDT"] if k.startswith("book_ticker")]
    et = [d for k, d in recorded["ETHUSDT"] if k.startswith("book_ticker")]
    b4, e3 = _moved(bt, bt[0], Decimal("1")), _moved(et, et[0], Decimal("0.5"))  # the newest: quotes must move
    trade = next(d for k, d in recorded["BTCUSDT"] if k.startswith("trades"))

    def event(n: int) -> tuple[str, dict[str, Any]]:
        order = {"client_order_id": f"someone-else-{n}", "symbol": "BTCUSDT", "status": "NEW"}
        return "orders:binance", {"event": "order", "order": order}

    b, e = "book_ticker:binance:BTCUSDT", "book_ticker:binance:ETHUSDT"
    burst = [event(1), (b, bt[0]), (b, bt[1]), (e, et[0]), event(2), (b, bt[2]), (e, et[1]), (e, e3),
             ("trades:binance:BTCUSDT", trade), (b, b4)]  # fmt: skip
    sent: list[Action] = []
    for key, data in burst:  # one loop turn
        turns.on_message(key, data, next(ms) * 1_000_000, sent.extend)
    # each symbol's first book ticker at once, after what was queued before it (the first order event)
    assert (core.decisions, core.events) == (2, 1)
    placed = sorted((a.kind, a.side, a.symbol, a.tick.update_id if a.tick else None) for a in sent)
    assert placed == [
        ("place", "BUY", "BTCUSDT", bt[0]["update_id"]),
        ("place", "BUY", "ETHUSDT", et[0]["update_id"]),
        ("place", "SELL", "BTCUSDT", bt[0]["update_id"]),
        ("place", "SELL", "ETHUSDT", et[0]["update_id"]),
    ]
    for action in sent:  # the exchange accepted the quotes
        core.on_result(action, _accepted(action), next(ms) * 1_000_000)
    sent.clear()
    turns.end_turn(sent.extend)
    # the rest of the turn: every order event, the newest state of each symbol, one more decision each
    assert (core.decisions, core.events, turns.conflated) == (4, 2, 2)
    assert core.ticks == 6  # bt[0], bt[1], et[0], e3, the trade, b4: bt[2] and et[1] were superseded
    assert {(a.kind, a.symbol, a.tick.update_id if a.tick else None) for a in sent} >= {
        ("replace", "BTCUSDT", b4["update_id"]),
        ("replace", "ETHUSDT", e3["update_id"]),
    }
    turns.end_turn(sent.extend)  # an empty turn decides nothing
    assert core.decisions == 4
