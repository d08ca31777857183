"""MatchingEngine over a real replayed BTCUSDT book and the real exchangeInfo (pure: no event loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    FEE,
    START,
    T0,
    Clock,
    D,
    Replayer,
    assert_conserved,
    balances,
    book_after,
    events_of,
    exchange_info,
    levels,
    limit,
    make_engine,
    order,
    recording,
    rejects,
)

from tradingmcp.sim.book import SimBook
from tradingmcp.sim.errors import BinanceError
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


# ---- taking liquidity -------------------------------------------------------------------------------------------


def test_market_buy_walks_levels(engine: MatchingEngine, book: SimBook) -> None:
    top = levels(book, "BUY", 10)
    want = top[0][1] + top[1][1] + D("0.00001")  # through two levels, into the third
    expected = [top[0], top[1], (top[2][0], D("0.00001"))]
    resp = engine.new_order("alice", order(side="BUY", type="MARKET", quantity=str(want)))
    assert resp["status"] == "FILLED" and resp["type"] == "MARKET" and resp["orderListId"] == -1
    fills = [(D(f["price"]), D(f["qty"])) for f in resp["fills"]]
    assert fills == expected
    quote = sum(p * q for p, q in expected)
    assert D(resp["cummulativeQuoteQty"]) == quote
    assert D(resp["executedQty"]) == want == D(resp["origQty"])
    vwap = quote / want
    assert top[0][0] <= vwap <= top[2][0]
    for f, (_, qty) in zip(resp["fills"], expected, strict=True):
        assert f["commissionAsset"] == "BTC" and D(f["commission"]) == (qty * FEE).quantize(D("1e-8"))
    fees = sum(D(f["commission"]) for f in resp["fills"])
    assert balances(engine)["BTC"] == (START["BTC"] + want - fees, 0)
    assert balances(engine)["USDT"] == (START["USDT"] - quote, 0)
    # the replayed book is not depleted by simulated orders
    assert levels(book, "BUY", 10) == top
    assert_conserved(engine)


def test_market_sell_and_quote_order_qty(engine: MatchingEngine, book: SimBook) -> None:
    bids = levels(book, "SELL", 20)
    want = bids[0][1] + D("0.001")
    expected, left = [], want
    for price, qty in bids:  # walk the bids by hand
        take = min(qty, left)
        expected.append((price, take))
        left -= take
        if not left:
            break
    resp = engine.new_order("alice", order(side="SELL", type="MARKET", quantity=str(want)))
    assert [(D(f["price"]), D(f["qty"])) for f in resp["fills"]] == expected and len(expected) > 1
    assert D(resp["cummulativeQuoteQty"]) == sum(p * q for p, q in expected)
    assert all(f["commissionAsset"] == "USDT" for f in resp["fills"])
    asks = levels(book, "BUY", 5)
    resp = engine.new_order("alice", order(side="BUY", type="MARKET", quoteOrderQty="1000"))
    assert resp["origQuoteOrderQty"] == "1000.00000000" and resp["status"] == "FILLED"
    qty = D(resp["executedQty"])
    assert qty == (D(1000) / asks[0][0]).quantize(D("0.00001"), rounding="ROUND_DOWN")
    assert D(resp["cummulativeQuoteQty"]) == qty * asks[0][0] <= 1000
    assert balances(engine)["USDT"][1] == 0  # the unspent quote is unlocked
    assert_conserved(engine)


def test_limit_ioc_fok_and_gtc_marketable(engine: MatchingEngine, book: SimBook) -> None:
    asks = levels(book, "BUY", 3)
    price = asks[1][0]
    qty = asks[0][1] + asks[1][1] + D("0.5")
    ioc = engine.new_order("alice", limit("BUY", str(qty), price, tif="IOC"))
    assert ioc["status"] == "EXPIRED" and D(ioc["executedQty"]) == asks[0][1] + asks[1][1]
    fok = engine.new_order("alice", limit("BUY", str(qty), price, tif="FOK"))
    assert fok["status"] == "EXPIRED" and fok["executedQty"] == "0.00000000" and fok["fills"] == []
    fok_ok = engine.new_order("alice", limit("BUY", str(asks[0][1]), price, tif="FOK"))
    assert fok_ok["status"] == "FILLED"
    gtc = engine.new_order("alice", limit("BUY", str(qty), price))
    assert gtc["status"] == "PARTIALLY_FILLED" and gtc["workingTime"] == T0
    rest = qty - D(gtc["executedQty"])
    assert balances(engine)["USDT"][1] == price * rest  # the resting part locks price × qty
    # price improvement on the first level was refunded, not left locked
    assert [o["orderId"] for o in engine.open_orders("alice", {})] == [gtc["orderId"]]
    assert_conserved(engine)


def test_limit_maker_and_insufficient_balance(engine: MatchingEngine, book: SimBook) -> None:
    best_ask = levels(book, "BUY", 1)[0][0]
    params = order(side="BUY", type="LIMIT_MAKER", quantity="0.01", price=str(best_ask))
    rejects(lambda: engine.new_order("alice", params), -2010, "Order would immediately match and take.")
    msg = "Account has insufficient balance for requested action."
    rejects(lambda: engine.new_order("alice", limit("SELL", "3.00001", best_ask + 100)), -2010, msg)
    rejects(lambda: engine.new_order("alice", limit("BUY", "17", best_ask - 10)), -2010, msg)  # 17 × ~61.8k > 1M
    rejects(lambda: engine.new_order("alice", order(side="BUY", type="MARKET", quoteOrderQty="1000000.01")), -2010, msg)
    assert balances(engine) == {a: (v, D(0)) for a, v in START.items()}
    assert engine.drain_events() == []
    ok = engine.new_order("alice", order(side="SELL", type="LIMIT_MAKER", quantity="3", price=str(best_ask + 1)))
    assert ok == {k: ok[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")}  # ACK
    assert balances(engine)["BTC"] == (D(0), D(3))


def test_duplicate_client_order_id(engine: MatchingEngine, book: SimBook) -> None:
    bid = levels(book, "SELL", 1)[0][0]
    first = engine.new_order("alice", limit("BUY", "0.01", bid - 50, newClientOrderId="bot-1"))
    assert first["clientOrderId"] == "bot-1"
    rejects(
        lambda: engine.new_order("alice", limit("BUY", "0.01", bid - 50, newClientOrderId="bot-1")),
        -2010,
        "Duplicate order sent.",
    )
    assert len(engine.open_orders("alice", order())) == 1
    engine.cancel_order("alice", order(origClientOrderId="bot-1"))
    again = engine.new_order("alice", limit("BUY", "0.01", bid - 50, newClientOrderId="bot-1"))
    assert again["orderId"] == first["orderId"] + 1
    assert engine.get_order("alice", order(origClientOrderId="bot-1"))["orderId"] == again["orderId"]


# ---- resting orders and the replayed market ---------------------------------------------------------------------


def test_resting_limit_filled_by_trades(engine: MatchingEngine, book: SimBook, clock: Clock) -> None:
    bid = levels(book, "SELL", 1)[0][0]
    price = bid - 20
    resp = engine.new_order("alice", limit("BUY", "0.05", price, newOrderRespType="RESULT"))
    assert "fills" not in resp and resp["status"] == "NEW"
    engine.drain_events()
    engine.on_trade("BTCUSDT", price + D("0.01"), D("1"), T0 + 1, True)  # above the limit: no fill
    assert engine.drain_events() == []
    clock.now = T0 + 10
    engine.on_trade("BTCUSDT", price, D("0.02"), T0 + 10, True)  # at the limit: partial
    reports = events_of(engine, "executionReport")
    assert [(r["x"], r["X"], r["l"], r["L"], r["m"]) for r in reports] == [
        ("TRADE", "PARTIALLY_FILLED", "0.02000000", f"{price:.8f}", True)
    ]
    assert reports[0]["n"] == "0.00002000" and reports[0]["N"] == "BTC" and reports[0]["T"] == T0 + 10
    engine.on_trade("BTCUSDT", price - 5, D("10"), T0 + 20, False)  # through the limit: rest, at the limit price
    got = engine.get_order("alice", order(orderId=str(resp["orderId"])))
    assert got["status"] == "FILLED" and D(got["cummulativeQuoteQty"]) == price * D("0.05")
    trades = engine.my_trades("alice", order())
    assert [(t["qty"], t["isMaker"], t["isBuyer"]) for t in trades] == [
        ("0.02000000", True, True),
        ("0.03000000", True, True),
    ]
    assert balances(engine)["USDT"] == (START["USDT"] - price * D("0.05"), 0)
    assert_conserved(engine)


def test_resting_limit_filled_when_book_moves_through(engine: MatchingEngine, book: SimBook) -> None:
    bid = levels(book, "SELL", 1)[0][0]
    resp = engine.new_order("alice", limit("BUY", "0.5", bid))
    assert resp["status"] == "NEW"
    engine.on_book_update("BTCUSDT")  # nothing crosses yet
    assert engine.get_order("alice", order(orderId=str(resp["orderId"])))["status"] == "NEW"
    last = book.last_update_id
    book.apply_diff(last + 1, last + 1, [], [[f"{bid - D('0.01'):.8f}", "0.20000000"], [f"{bid:.8f}", "0.10000000"]])
    engine.on_book_update("BTCUSDT")
    got = engine.get_order("alice", order(orderId=str(resp["orderId"])))
    assert got["status"] == "PARTIALLY_FILLED" and got["executedQty"] == "0.30000000"
    assert D(got["cummulativeQuoteQty"]) == bid * D("0.3")  # maker at the limit price
    assert_conserved(engine)


def test_stop_loss_limit_triggers_on_trade(engine: MatchingEngine, book: SimBook) -> None:
    engine.on_trade("BTCUSDT", levels(book, "SELL", 1)[0][0], D("0.001"), T0, True)
    last = levels(book, "SELL", 1)[0][0]
    params = order(side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.2")
    rejects(
        lambda: engine.new_order("alice", {**params, "stopPrice": str(last + 1), "price": str(last)}),
        -2010,
        "Order would trigger immediately.",
    )
    resp = engine.new_order("alice", {**params, "stopPrice": str(last - 10), "price": str(last - 1000)})
    assert resp == {k: resp[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")}
    got = engine.get_order("alice", order(orderId=str(resp["orderId"])))
    assert (got["isWorking"], got["workingTime"], got["stopPrice"]) == (False, -1, f"{last - 10:.8f}")
    engine.drain_events()
    engine.on_trade("BTCUSDT", last - 5, D("1"), T0 + 1, True)
    assert engine.drain_events() == []
    engine.on_trade("BTCUSDT", last - 10, D("1"), T0 + 2, True)  # triggers; sells into the (unchanged) bids
    got = engine.get_order("alice", order(orderId=str(resp["orderId"])))
    assert got["status"] == "FILLED" and got["isWorking"] is True and got["workingTime"] == T0
    fills = engine.my_trades("alice", order(orderId=str(resp["orderId"])))
    assert fills and all(not f["isMaker"] for f in fills) and D(fills[0]["price"]) == last
    assert_conserved(engine)


# ---- events -------------------------------------------------------------------------------------------------


def test_execution_report_sequence(engine: MatchingEngine, book: SimBook, clock: Clock) -> None:
    asks = levels(book, "BUY", 1)
    qty = asks[0][1] + D("0.1")
    resp = engine.new_order("alice", limit("BUY", str(qty), asks[0][0], newClientOrderId="seq-1"))
    clock.now = T0 + 5
    engine.cancel_order("alice", order(orderId=str(resp["orderId"]), newClientOrderId="cxl-1"))
    events = engine.drain_events()
    assert {key for key, _ in events} == {"alice"}
    kinds = [(e["e"], e.get("x"), e.get("X")) for _, e in events]
    assert kinds == [
        ("executionReport", "NEW", "NEW"),
        ("executionReport", "TRADE", "PARTIALLY_FILLED"),
        ("outboundAccountPosition", None, None),
        ("executionReport", "CANCELED", "CANCELED"),
        ("outboundAccountPosition", None, None),
    ]
    new, trade, pos, cancel, pos2 = (e for _, e in events)
    fields = [
        "e",
        "E",
        "s",
        "c",
        "S",
        "o",
        "f",
        "q",
        "p",
        "P",
        "F",
        "g",
        "C",
        "x",
        "X",
        "r",
        "i",
        "l",
        "z",
        "L",
        "n",
        "N",
        "T",
        "t",
        "I",
        "w",
        "m",
        "M",
        "O",
        "Z",
        "Y",
        "Q",
        "W",
        "V",
    ]
    for report in (new, trade, cancel):
        assert list(report) == fields
    assert (new["c"], new["C"], new["t"], new["N"], new["w"]) == ("seq-1", "", -1, None, True)
    assert (trade["t"], trade["l"], trade["L"], trade["m"]) == (1, f"{asks[0][1]:.8f}", f"{asks[0][0]:.8f}", False)
    assert (cancel["c"], cancel["C"], cancel["E"], cancel["w"]) == ("cxl-1", "seq-1", T0 + 5, False)
    assert {b["a"] for b in pos["B"]} == {"BTC", "USDT"}
    assert pos2["B"] == [{"a": "USDT", "f": balances(engine)["USDT"][0].__format__(".8f"), "l": "0.00000000"}]


def test_cancel_errors_and_cancel_open_orders(engine: MatchingEngine, book: SimBook) -> None:
    rejects(lambda: engine.cancel_order("alice", order(orderId="99")), -2011, "Unknown order sent.")
    rejects(
        lambda: engine.cancel_order("alice", order()),
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    )
    rejects(lambda: engine.get_order("alice", order(orderId="99")), -2013, "Order does not exist.")
    rejects(lambda: engine.cancel_open_orders("alice", order()), -2011, "Unknown order sent.")
    bid = levels(book, "SELL", 1)[0][0]
    ids = [engine.new_order("alice", limit("BUY", "0.01", bid - i))["orderId"] for i in range(1, 4)]
    canceled = engine.cancel_open_orders("alice", order())
    assert [c["orderId"] for c in canceled] == ids and {c["status"] for c in canceled} == {"CANCELED"}
    rejects(lambda: engine.cancel_order("alice", order(orderId=str(ids[0]))), -2011, "Unknown order sent.")
    assert balances(engine)["USDT"] == (START["USDT"], 0)


# ---- queries -------------------------------------------------------------------------------------------------


def test_queries(engine: MatchingEngine, book: SimBook, clock: Clock) -> None:
    ask = levels(book, "BUY", 1)[0]
    for i in range(5):
        clock.now = T0 + i * 1000
        engine.new_order("alice", order(side="BUY", type="MARKET", quantity="0.001"))
    trades = engine.my_trades("alice", order())
    assert [t["id"] for t in trades] == [1, 2, 3, 4, 5] and trades[0]["price"] == f"{ask[0]:.8f}"
    assert [t["id"] for t in engine.my_trades("alice", order(limit="2"))] == [4, 5]
    assert [t["id"] for t in engine.my_trades("alice", order(fromId="2", limit="2"))] == [2, 3]
    window = order(startTime=str(T0 + 1000), endTime=str(T0 + 3000))
    assert [t["id"] for t in engine.my_trades("alice", window)] == [2, 3, 4]
    assert [t["orderId"] for t in engine.my_trades("alice", order(orderId="3"))] == [3]
    rejects(
        lambda: engine.my_trades("alice", order(startTime=str(T0), endTime=str(T0 + 86_400_001))),
        -1127,
        "More than 24 hours between startTime and endTime.",
    )
    rejects(
        lambda: engine.my_trades("alice", order(limit="1001")), -1130, "Data sent for parameter 'limit' is not valid."
    )
    assert [o["orderId"] for o in engine.all_orders("alice", order(orderId="4"))] == [4, 5]
    assert [o["orderId"] for o in engine.all_orders("alice", order(limit="1"))] == [5]
    row = engine.all_orders("alice", order())[0]
    assert list(row) == [
        "symbol", "orderId", "orderListId", "clientOrderId", "price", "origQty", "executedQty", "cummulativeQuoteQty",
        "status", "timeInForce", "type", "side", "stopPrice", "icebergQty", "time", "updateTime", "isWorking",
        "workingTime", "origQuoteOrderQty", "selfTradePreventionMode",
    ]  # fmt: skip
    acct = engine.account("alice", {"omitZeroBalances": "true"})
    assert (acct["makerCommission"], acct["accountType"], acct["permissions"], acct["canTrade"]) == (
        10,
        "SPOT",
        ["SPOT"],
        True,
    )
    assert acct["commissionRates"]["taker"] == "0.00100000"
    assert [b["asset"] for b in acct["balances"]] == ["USDT", "BTC"]
    assert engine.new_order("alice", order(side="BUY", type="MARKET", quantity="0.001"), test=True) == {}
    rates = engine.new_order(
        "alice", order(side="BUY", type="MARKET", quantity="0.001", computeCommissionRates="true"), test=True
    )
    assert rates["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    assert len(engine.my_trades("alice", order())) == 5  # test orders change nothing
    assert_conserved(engine)


# ---- determinism and a long replay -------------------------------------------------------------------------------


def _scripted_run(data_dir: Path) -> list[Any]:
    """Replay 3,000 real events with a scripted bot; return every response and event."""
    rp = Replayer(recording("BTCUSDT"))
    rp.until_applied(100)
    clock = Clock()
    engine = MatchingEngine(exchange_info(), {"BTCUSDT": rp.book}, clock_ms=clock)
    engine.add_account("alice", START)
    out: list[Any] = []
    for step in range(3000):
        event = rp.step()
        assert event is not None
        kind, data = event
        if kind == "depth":
            clock.now = data["E"]
            engine.on_book_update("BTCUSDT")
        elif kind == "trade":
            clock.now = data["T"]
            engine.on_trade("BTCUSDT", D(data["p"]), D(data["q"]), data["T"], data["m"])
        if step % 150 == 0:
            bid, ask = rp.book.best_bid(), rp.book.best_ask()
            assert bid is not None and ask is not None
            for params in (
                limit("BUY", "0.01", bid[0] - 1),
                limit("SELL", "0.01", ask[0] + 1),
                order(side="BUY" if step % 300 else "SELL", type="MARKET", quantity="0.002"),
            ):
                try:
                    out.append(engine.new_order("alice", params))
                except BinanceError as exc:
                    out.append(exc.body())
        out.extend(engine.drain_events())
    assert_conserved(engine)
    out.append(engine.account("alice", {}))
    out.append(engine.all_orders("alice", order(limit="1000")))
    return out


def test_determinism_and_conservation_over_replay(data_dir: Path) -> None:
    first = _scripted_run(data_dir)
    second = _scripted_run(data_dir)
    assert first == second
    fills = [e for e in first if isinstance(e, tuple) and e[1].get("x") == "TRADE"]
    assert len(fills) > 20 and any(e[1]["m"] for e in fills)  # resting orders got maker fills from the replay


def test_deposit_emits_balance_update(engine: MatchingEngine) -> None:
    engine.deposit("alice", "ETH", D("1.5"))
    events = [e for _, e in engine.drain_events()]
    assert events == [
        {"e": "balanceUpdate", "E": T0, "a": "ETH", "d": "1.50000000", "T": T0},
        {"e": "outboundAccountPosition", "E": T0, "u": T0, "B": [{"a": "ETH", "f": "1.50000000", "l": "0.00000000"}]},
    ]
    assert balances(engine)["ETH"] == (D("1.5"), D(0))
