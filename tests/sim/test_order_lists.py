"""Order lists (``orderList/oco``) and ``order/cancelReplace`` over a real replayed BTCUSDT book."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    T0,
    Clock,
    D,
    assert_conserved,
    balances,
    book_after,
    levels,
    limit,
    make_engine,
    order,
    rejects,
)

from tradingmcp.sim.book import SimBook
from tradingmcp.sim.matching import MatchingEngine


@pytest.fixture
def book(data_dir: Path) -> SimBook:
    return book_after(300)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(book: SimBook, clock: Clock) -> MatchingEngine:
    return make_engine(book, clock)


# ---- OCO -------------------------------------------------------------------------------------


def _sell_oco(engine: MatchingEngine, last: D) -> dict[str, Any]:
    return engine.new_oco(
        "alice",
        order(
            side="SELL",
            quantity="1",
            aboveType="LIMIT_MAKER",
            abovePrice=str(last + 100),
            belowType="STOP_LOSS_LIMIT",
            belowStopPrice=str(last - 100),
            belowPrice=str(last - 150),
            belowTimeInForce="GTC",
            listClientOrderId="my-oco",
        ),
    )


def test_oco_limit_leg_fills_and_cancels_stop(engine: MatchingEngine, book: SimBook) -> None:
    last = levels(book, "SELL", 1)[0][0]
    engine.on_trade("BTCUSDT", last, D("0.01"), T0, True)
    resp = _sell_oco(engine, last)
    assert (resp["contingencyType"], resp["listStatusType"], resp["listOrderStatus"]) == (
        "OCO",
        "EXEC_STARTED",
        "EXECUTING",
    )
    stop, maker = resp["orderReports"]
    assert (stop["type"], maker["type"], stop["workingTime"], maker["workingTime"]) == (
        "STOP_LOSS_LIMIT",
        "LIMIT_MAKER",
        -1,
        T0,
    )
    assert balances(engine)["BTC"] == (D(2), D(1))  # the quantity is locked once for the list
    engine.drain_events()
    engine.on_trade("BTCUSDT", last + 100, D("0.4"), T0 + 1, False)
    events = [e for _, e in engine.drain_events()]
    assert [(e["e"], e.get("i"), e.get("X") or e.get("L")) for e in events] == [
        ("executionReport", stop["orderId"], "EXPIRED"),
        ("listStatus", None, "ALL_DONE"),
        ("executionReport", maker["orderId"], "PARTIALLY_FILLED"),
        ("outboundAccountPosition", None, None),
    ]
    assert balances(engine)["BTC"] == (D(2), D("0.6"))
    engine.on_trade("BTCUSDT", last + 100, D("1"), T0 + 2, False)
    assert engine.get_order("alice", order(orderId=str(maker["orderId"])))["status"] == "FILLED"
    assert balances(engine)["BTC"] == (D(2), D(0))
    assert_conserved(engine)


def test_oco_stop_leg_triggers_and_list_cancel(engine: MatchingEngine, book: SimBook) -> None:
    last = levels(book, "SELL", 1)[0][0]
    engine.on_trade("BTCUSDT", last, D("0.01"), T0, True)
    rejects(
        lambda: engine.new_oco(
            "alice",
            order(
                side="SELL",
                quantity="1",
                aboveType="LIMIT_MAKER",
                abovePrice=str(last - 1),
                belowType="STOP_LOSS_LIMIT",
                belowStopPrice=str(last - 100),
                belowPrice=str(last - 150),
                belowTimeInForce="GTC",
            ),
        ),
        -2010,
        "The relationship of the prices for the orders is not correct.",
    )
    resp = _sell_oco(engine, last)
    stop, maker = resp["orderReports"]
    engine.on_trade("BTCUSDT", last - 100, D("0.5"), T0 + 1, True)
    assert engine.get_order("alice", order(orderId=str(maker["orderId"])))["status"] == "EXPIRED"
    got = engine.get_order("alice", order(orderId=str(stop["orderId"])))
    assert got["status"] == "FILLED"  # triggered, then sold into the replayed bids as taker
    # a second list, canceled through one leg: the whole list goes
    resp2 = engine.new_oco(
        "alice",
        order(
            side="SELL",
            quantity="1",
            aboveType="LIMIT_MAKER",
            abovePrice=str(last + 100),
            belowType="STOP_LOSS_LIMIT",
            belowStopPrice=str(last - 200),
            belowPrice=str(last - 250),
            belowTimeInForce="GTC",
        ),
    )
    engine.cancel_order("alice", order(orderId=str(resp2["orderReports"][1]["orderId"])))
    statuses = [engine.get_order("alice", order(orderId=str(r["orderId"])))["status"] for r in resp2["orderReports"]]
    assert statuses == ["CANCELED", "CANCELED"]
    assert balances(engine)["BTC"][1] == 0
    assert_conserved(engine)


def test_cancel_replace_modes(engine: MatchingEngine, book: SimBook) -> None:
    bid = levels(book, "SELL", 1)[0][0]
    ask = levels(book, "BUY", 1)[0][0]
    first = engine.new_order("alice", limit("BUY", "0.1", bid - 10, newClientOrderId="cr-1"))
    base = limit("BUY", "0.2", bid - 20)
    ok = engine.cancel_replace(
        "alice",
        {**base, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrigClientOrderId": "cr-1", "newClientOrderId": "cr-1"},
    )
    assert (ok["cancelResult"], ok["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert ok["cancelResponse"]["orderId"] == first["orderId"] and ok["cancelResponse"]["status"] == "CANCELED"
    assert ok["newOrderResponse"]["clientOrderId"] == "cr-1" and ok["newOrderResponse"]["status"] == "NEW"
    # STOP_ON_FAILURE, unknown order: nothing happens, HTTP 400 -2022
    err = rejects(
        lambda: engine.cancel_replace(
            "alice", {**base, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": "999"}
        ),
        -2022,
        "Order cancel-replace failed.",
    )
    assert err.http_status == 400 and err.data == {
        "cancelResult": "FAILURE",
        "newOrderResult": "NOT_ATTEMPTED",
        "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
        "newOrderResponse": None,
    }
    assert err.body()["data"] == err.data
    # cancel succeeds, new order fails: HTTP 409 -2021
    maker = order(side="BUY", type="LIMIT_MAKER", quantity="0.1", price=str(ask))
    err = rejects(
        lambda: engine.cancel_replace(
            "alice", {**maker, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrigClientOrderId": "cr-1"}
        ),
        -2021,
        "Order cancel-replace partially failed.",
    )
    assert err.http_status == 409 and err.data is not None
    assert (err.data["cancelResult"], err.data["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert err.data["newOrderResponse"] == {"code": -2010, "msg": "Order would immediately match and take."}
    # ALLOW_FAILURE, unknown order: the new order is placed anyway (409)
    err = rejects(
        lambda: engine.cancel_replace("alice", {**base, "cancelReplaceMode": "ALLOW_FAILURE", "cancelOrderId": "999"}),
        -2021,
        "Order cancel-replace partially failed.",
    )
    assert err.data is not None and (err.data["cancelResult"], err.data["newOrderResult"]) == ("FAILURE", "SUCCESS")
    assert err.data["newOrderResponse"]["status"] == "NEW"
    # ALLOW_FAILURE, both fail: 400 -2022
    err = rejects(
        lambda: engine.cancel_replace("alice", {**maker, "cancelReplaceMode": "ALLOW_FAILURE", "cancelOrderId": "999"}),
        -2022,
        "Order cancel-replace failed.",
    )
    assert err.data is not None and (err.data["cancelResult"], err.data["newOrderResult"]) == ("FAILURE", "FAILURE")
    assert len(engine.open_orders("alice", order())) == 1
    assert_conserved(engine)


def test_buy_oco_locks_once_and_releases(engine: MatchingEngine, book: SimBook) -> None:
    last = levels(book, "BUY", 1)[0][0]
    engine.on_trade("BTCUSDT", last, D("0.01"), T0, False)
    resp = engine.new_oco(
        "alice",
        order(
            side="BUY",
            quantity="2",
            aboveType="STOP_LOSS_LIMIT",
            aboveStopPrice=str(last + 100),
            abovePrice=str(last + 150),
            aboveTimeInForce="GTC",
            belowType="LIMIT_MAKER",
            belowPrice=str(last - 100),
        ),
    )
    maker, stop = resp["orderReports"]  # the below leg is placed first
    assert (maker["type"], stop["type"]) == ("LIMIT_MAKER", "STOP_LOSS_LIMIT")
    assert balances(engine)["USDT"][1] == (last + 150) * 2  # the larger of the two legs' needs
    engine.on_trade("BTCUSDT", last - 100, D("0.5"), T0 + 1, True)
    assert engine.get_order("alice", order(orderId=str(stop["orderId"])))["status"] == "EXPIRED"
    assert balances(engine)["USDT"][1] == (last - 100) * D("1.5")  # trimmed to the surviving leg's need
    engine.cancel_order("alice", order(orderId=str(maker["orderId"])))
    assert balances(engine)["USDT"][1] == 0
    assert_conserved(engine)


def test_an_order_list_is_found_by_its_list_client_order_id(engine: MatchingEngine, book: SimBook) -> None:
    last = levels(book, "SELL", 1)[0][0]
    engine.on_trade("BTCUSDT", last, D("0.01"), T0, True)
    placed = _sell_oco(engine, last)
    for ref in ({"origClientOrderId": "my-oco"}, {"orderListId": str(placed["orderListId"])}):
        found = engine.get_order_list("alice", ref)  # GET /api/v3/orderList takes no symbol
        assert (found["orderListId"], found["listClientOrderId"], found["listOrderStatus"]) == (
            placed["orderListId"],
            "my-oco",
            "EXECUTING",
        )
        assert [o["orderId"] for o in found["orders"]] == [o["orderId"] for o in placed["orders"]]
        assert "orderReports" not in found
    rejects(lambda: engine.get_order_list("alice", {"origClientOrderId": "no-such-list"}), -2018,
            "Order list does not exist.")  # fmt: skip
    rejects(lambda: engine.get_order_list("alice", {}), -1102,
            "Param 'orderListId' or 'origClientOrderId' must be sent, but both were empty/null!")  # fmt: skip
