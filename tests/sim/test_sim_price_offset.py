"""A simulator with ``price_offset_bps`` replays the same recording at prices moved by that many basis points: its
book, its trades and the fills of its matching engine are the plain replay's, moved and rounded to the tick."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY
from tradingmcp.sim.replay import EventKind, PriceOffset

pytestmark = pytest.mark.data
TICK = Decimal("0.01")


def moved(price: Decimal, bps: int) -> Decimal:
    return (price * (1 + Decimal(bps) / 10_000) / TICK).to_integral_value(ROUND_HALF_EVEN) * TICK


def test_price_offset_moves_prices_to_the_tick_and_keeps_quantities() -> None:
    off = PriceOffset(25, {"BTCUSDT": TICK})
    book = {"b": "100000.00000000", "B": "0.5", "a": "100000.01000000", "A": "1.25", "u": 7}
    out = off.apply(EventKind.BOOK_TICKER, "BTCUSDT", dict(book))
    assert out == {**book, "b": "100250.00000000", "a": "100250.01000000"}  # distinct levels stay distinct
    depth = off.apply(EventKind.DEPTH, "BTCUSDT", {"b": [["4000.00000000", "0.00000000"]], "a": []})
    assert depth["b"] == [["4010.00000000", "0.00000000"]]  # a removed level is removed at its moved price
    assert off.apply(EventKind.TRADE, "BTCUSDT", {"p": "4000.03"})["p"] == "4010.03"
    assert PriceOffset(-25, {"BTCUSDT": TICK}).price("4000.00", "BTCUSDT") == "3990.00"


async def test_an_offset_simulator_replays_the_same_market_moved(data_dir: Path) -> None:
    bps = 20
    plain, shifted = (
        Simulator(SimConfig(speed=0, data_dir=data_dir, symbols=("BTCUSDT",), price_offset_bps=b)) for b in (0, bps)
    )
    assert plain.step(3000) == shifted.step(3000) == 3000
    a, b = plain.markets["BTCUSDT"], shifted.markets["BTCUSDT"]
    bid_a, ask_a, bid_b, ask_b = a.book.best_bid(), a.book.best_ask(), b.book.best_bid(), b.book.best_ask()
    assert bid_a is not None and ask_a is not None and bid_b is not None and ask_b is not None
    assert bid_b == (moved(bid_a[0], bps), bid_a[1]) and ask_b == (moved(ask_a[0], bps), ask_a[1])
    assert bid_b[0] > ask_a[0]  # 20 bps is more than the spread: buy on one, sell on the other
    assert a.trades and len(a.trades) == len(b.trades)
    for ta, tb in zip(a.trades, b.trades, strict=True):
        assert Decimal(str(tb["price"])) == moved(Decimal(str(ta["price"])), bps)
        assert tb["qty"] == ta["qty"]
    # the offset simulator's engine matches against its own (moved) book: a buy at the plain ask takes nothing there,
    # a buy at the moved ask fills at it
    ask = ask_a
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "quantity": "0.0001"}
    miss = shifted.engine.new_order(BINANCE_SIM_KEY, {**order, "price": str(ask[0]), "newOrderRespType": "FULL"})
    assert miss["status"] == "EXPIRED" and Decimal(miss["executedQty"]) == 0
    hit = shifted.engine.new_order(
        BINANCE_SIM_KEY, {**order, "price": str(moved(ask[0], bps)), "newOrderRespType": "FULL"}
    )
    assert hit["status"] == "FILLED" and Decimal(hit["fills"][0]["price"]) == moved(ask[0], bps)
