"""The bot's market state of one symbol: a book ticker changes it exactly when its values change, whatever their
spelling, and its sizes read as the Decimals of the wire strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.client.bot.market import MarketState


def _ticker(bid: str, bid_qty: str, ask: str, ask_qty: str) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "bid": bid, "bid_qty": bid_qty, "ask": ask, "ask_qty": ask_qty, "update_id": 1}


def test_a_book_ticker_changes_the_market_when_a_value_changes() -> None:
    market = MarketState("BTCUSDT")
    assert market.bid_qty == 0 and market.ask_qty == 0
    assert market.on_book_ticker(_ticker("100.00", "1.50", "100.01", "2"))
    assert (market.bid, market.bid_qty, market.ask, market.ask_qty) == (
        Decimal("100.00"), Decimal("1.5"), Decimal("100.01"), Decimal(2),
    )  # fmt: skip
    assert not market.on_book_ticker(_ticker("100.0", "1.5", "100.010", "2.0"))  # the same values, spelt otherwise
    assert str(market.bid_qty) == "1.50"  # the values kept are the ones first received
    assert market.on_book_ticker(_ticker("100.00", "1.50", "100.01", "2.5"))  # one size moved
    assert market.ask_qty == Decimal("2.5") and market.ask_qty_f == 2.5 and market.bid_qty == Decimal("1.5")


def test_a_change_below_a_floats_precision_still_counts() -> None:
    market = MarketState("BTCUSDT")
    assert market.on_book_ticker(_ticker("100.00", "0.1", "100.01", "2"))
    assert float("0.10000000000000000001") == market.bid_qty_f  # the same float...
    assert market.on_book_ticker(_ticker("100.00", "0.10000000000000000001", "100.01", "2"))  # ...another value
    assert market.bid_qty == Decimal("0.10000000000000000001")
