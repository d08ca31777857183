"""The turn queue and the conflation rule (no event loop): the latest state per book / book-ticker stream, every order
event and trade, in arrival order; the turn's first state decided at once, then once per symbol on its latest tick."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.config import BotConfig, SymbolConfig
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


def test_the_conflator_decides_the_first_state_at_once_then_once_per_symbol(data_dir: Path) -> None:
    core = BotCore(BotConfig(symbols=(SymbolConfig("BTCUSDT"), SymbolConfig("ETHUSDT", Decimal("0.004"), Decimal("0.04")))))
    core.rules.update({"BTCUSDT": BTC_RULES, "ETHUSDT": ETH_RULES})
    clock = itertools.count(1_000_000, 1000)
    turns = Conflator(core, lambda: next(clock))
    sent: list[Action] = []
    btc = list(pushed_messages(data_dir, "BTCUSDT", 200))
    eth = list(pushed_messages(data_dir, "ETHUSDT", 200))
    burst = [m for pair in itertools.zip_longest(btc, eth) for m in pair if m is not None]
    first = next(i for i, (k, _) in enumerate(burst) if k.startswith("book_ticker"))
    event = {"event": "order", "order": {"client_order_id": "nobody", "symbol": "BTCUSDT", "status": "NEW"}}
    burst.insert(first, ("orders:binance", event))  # waiting when the turn's first state comes: booked before it
    for key, data in burst:
        turns.on_message(key, data, next(clock), sent.extend)
    assert (core.decisions, core.events) == (1, 1) and {a.symbol for a in sent} == {burst[first + 1][1]["symbol"]}
    turns.end_turn(sent.extend)
    assert core.decisions == 3 and core.events == 1
    last = {d["symbol"]: d["update_id"] for k, d in burst if k.startswith("book_ticker")}
    eth_sent = [a for a in sent if a.symbol == "ETHUSDT"]
    assert eth_sent and {a.tick.update_id for a in eth_sent if a.tick is not None} == {last["ETHUSDT"]}
    assert turns.conflated == sum(1 for k, _ in burst if k.startswith("book_ticker")) - 3
    turns.end_turn(sent.extend)  # an empty turn decides nothing
    assert core.decisions == 3
