"""The bot's order tools answered by the simulator's matching engine in-process: the results and order events have
the server's shapes and the engine's decisions (no data needed: a hand-made book)."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

from tradingmcp.client.bot.actions import Action
from tradingmcp.research.backtest.streams import book_message
from tradingmcp.research.backtest.venue import API_KEY, SimVenue
from tradingmcp.server.exchanges.models import BookLevel, OrderBookSnapshot
from tradingmcp.server.tools.market.shapes import book_json
from tradingmcp.sim.book import SimBook
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.matching import MatchingEngine


def _venue() -> tuple[SimVenue, SimBook]:
    book = SimBook("BTCUSDT")
    book.load_snapshot(10, [["60000.00000000", "1.00000000"], ["59999.99000000", "2.00000000"]],
                       [["60000.01000000", "0.50000000"], ["60000.02000000", "3.00000000"]])  # fmt: skip
    engine = MatchingEngine(ExchangeInfo.builtin(), {"BTCUSDT": book}, clock_ms=lambda: 1_700_000_000_000)
    engine.add_account(API_KEY, {"USDT": Decimal(100_000), "BTC": Decimal(1)})
    return SimVenue(engine), book


def test_place_then_a_trade_through_fills_it_as_maker() -> None:
    venue, _ = _venue()
    result = venue.execute(Action("place", "BTCUSDT", "BUY", "bt0x1", Decimal("60000.00"), Decimal("0.001")))
    assert result["isError"] is False
    order = result["structuredContent"]["order"]
    assert (order["client_order_id"], order["status"], order["type"], order["price"]) == ("bt0x1", "NEW",
                                                                                           "LIMIT_MAKER", "60000")  # fmt: skip
    assert [e["execution_type"] for e in venue.order_events()] == ["NEW"]
    venue.engine.on_trade("BTCUSDT", Decimal("59999.99"), Decimal("0.5"), 1_700_000_000_001, True)
    (event,) = venue.order_events()
    assert event["event"] == "order" and event["execution_type"] == "TRADE"
    fill = event["fill"]
    assert (fill["price"], fill["qty"], fill["is_maker"], fill["commission_asset"]) == ("60000", "0.001", True, "BTC")
    assert event["order"]["status"] == "FILLED"


def test_a_post_only_order_that_would_take_is_refused_like_the_server_says() -> None:
    venue, _ = _venue()
    result = venue.execute(Action("place", "BTCUSDT", "BUY", "bt0x2", Decimal("60000.01"), Decimal("0.001")))
    assert result["isError"] is True
    error = result["structuredContent"]["error"]
    assert error["code"] == "exchange_error" and error["exchange_code"] == -2010
    assert "immediately match" in error["message"]


def test_replace_and_cancel() -> None:
    venue, _ = _venue()
    venue.execute(Action("place", "BTCUSDT", "SELL", "bt0x3", Decimal("60001"), Decimal("0.001")))
    venue.order_events()
    result = venue.execute(
        Action("replace", "BTCUSDT", "SELL", "bt0x4", Decimal("60002"), Decimal("0.001"), old_client_order_id="bt0x3")
    )
    content = result["structuredContent"]
    assert result["isError"] is False
    assert (content["cancelled"]["client_order_id"], content["cancelled"]["status"]) == ("bt0x3", "CANCELED")
    assert (content["order"]["client_order_id"], content["order"]["price"]) == ("bt0x4", "60002")
    assert [e["execution_type"] for e in venue.order_events()] == ["CANCELED", "NEW"]
    result = venue.execute(Action("cancel", "BTCUSDT", "SELL", "bt0x4"))
    assert result["structuredContent"]["order"]["status"] == "CANCELED"
    again = venue.execute(Action("cancel", "BTCUSDT", "SELL", "bt0x4"))
    assert again["isError"] is True and again["structuredContent"]["error"]["exchange_code"] == -2011


def test_book_message_is_the_servers_book_json() -> None:
    _, book = _venue()
    depth = book.depth(10)
    snapshot = OrderBookSnapshot(
        "BTCUSDT",
        depth["lastUpdateId"],
        tuple(BookLevel(Decimal(p), Decimal(q)) for p, q in depth["bids"]),
        tuple(BookLevel(Decimal(p), Decimal(q)) for p, q in depth["asks"]),
    )
    assert book_message("BTCUSDT", book, 10) == book_json(snapshot, 10)


def test_a_taker_action_is_a_limit_ioc_that_takes() -> None:
    venue, _ = _venue()
    args = ("place", "BTCUSDT", "BUY", "bt0x5", Decimal("60000.02"), Decimal("0.6"))
    if "taker" in {f.name for f in fields(Action)}:  # the field the strategy plug-ins add
        action = Action(*args, taker=True)
    else:

        class TakerAction(Action):
            taker = True

        action = TakerAction(*args)
    result = venue.execute(action)
    order = result["structuredContent"]["order"]
    assert (order["type"], order["time_in_force"], order["status"]) == ("LIMIT", "IOC", "FILLED")
    assert [f["price"] for f in order["fills"]] == ["60000.01", "60000.02"]  # walked two ask levels as taker
