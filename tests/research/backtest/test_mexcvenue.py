"""A MEXC venue of a backtest answered in-process by the simulator's MEXC face over a matching engine: MEXC's rules
and error codes, its string order ids, an IOC read back with its execution, a replace as cancel then place, and the
fills as MEXC's order + deal pushes merged into one order event each (no data needed: a hand-made book)."""

from __future__ import annotations

from decimal import Decimal

from tradingmcp.client.bot.actions import Action
from tradingmcp.research.backtest.mexcvenue import MexcSimVenue
from tradingmcp.research.backtest.venue import API_KEY
from tradingmcp.sim.book import SimBook
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.matching import MatchingEngine


def _venue() -> MexcSimVenue:
    book = SimBook("BTCUSDT")
    book.load_snapshot(10, [["60000.00000000", "1.00000000"], ["59999.99000000", "2.00000000"]],
                       [["60000.01000000", "0.50000000"], ["60000.02000000", "3.00000000"]])  # fmt: skip
    info = ExchangeInfo.builtin()
    engine = MatchingEngine(info, {"BTCUSDT": book}, clock_ms=lambda: 1_700_000_000_000)
    engine.add_account(API_KEY, {"USDT": Decimal(100_000), "BTC": Decimal(1)})
    return MexcSimVenue(engine, info, ("BTCUSDT",))


def test_an_ioc_leg_fills_and_its_pushes_merge_into_one_event() -> None:
    venue = _venue()
    action = Action("place", "BTCUSDT", "BUY", "bt0x1", Decimal("60000.01"), Decimal("0.001"), taker=True)
    result = venue.execute(action)
    assert result["isError"] is False and result["structuredContent"]["exchange"] == "mexc"
    order = result["structuredContent"]["order"]
    assert str(order["order_id"]).startswith("C02__")  # MEXC's string ids
    assert (order["status"], order["executed_qty"]) == ("FILLED", "0.001")  # read back: the answer shows the fill
    events = venue.order_events()
    trades = [e for e in events if e["execution_type"] == "TRADE"]
    (trade,) = trades
    fill = trade["fill"]  # the deal push merged into the order push
    assert (fill["price"], fill["qty"], fill["is_maker"]) == ("60000.01", "0.001", False)
    assert trade["order"]["client_order_id"] == "bt0x1" and trade["order"]["order_id"] == order["order_id"]


def test_mexc_rules_and_codes_refuse_an_order() -> None:
    venue = _venue()
    small = venue.execute(Action("place", "BTCUSDT", "BUY", "bt0x2", Decimal("60000.00"), Decimal("0.00001")))
    assert small["isError"] is True
    error = small["structuredContent"]["error"]
    assert error["exchange_code"] == 30002 and "Minimum transaction volume" in error["message"]  # MEXC's, not -1013
    taking = venue.execute(Action("place", "BTCUSDT", "BUY", "bt0x3", Decimal("60000.01"), Decimal("0.001")))
    assert taking["isError"] is True  # LIMIT_MAKER that would take
    assert venue.order_events() == []


def test_replace_is_cancel_then_place() -> None:
    venue = _venue()
    venue.execute(Action("place", "BTCUSDT", "SELL", "bt0x4", Decimal("60001"), Decimal("0.001")))
    venue.order_events()
    ok = venue.execute(
        Action("replace", "BTCUSDT", "SELL", "bt0x5", Decimal("60002"), Decimal("0.001"), old_client_order_id="bt0x4")
    )
    content = ok["structuredContent"]
    assert (content["cancelled"]["status"], content["order"]["client_order_id"]) == ("CANCELED", "bt0x5")
    venue.order_events()
    failed = venue.execute(  # the place would take: the cancel stands, as the server's emulated replace answers
        Action("replace", "BTCUSDT", "SELL", "bt0x6", Decimal("60000"), Decimal("0.001"), old_client_order_id="bt0x5")
    )
    error = failed["structuredContent"]["error"]
    assert failed["isError"] is True and error["code"] == "replace_failed"
    assert error["cancelled"]["client_order_id"] == "bt0x5" and error["cancelled"]["status"] == "CANCELED"
    gone = venue.execute(Action("cancel", "BTCUSDT", "SELL", "bt0x5"))
    assert gone["isError"] is True  # already cancelled
