"""The arbitrage strategy in the sans-I/O core on crafted book tickers of two venues: the edge after both taker fees
against ``min_edge_bps``, both legs as LIMIT IOC on their own venues, the size bounds (top of book, order size,
inventory per venue), each venue's own symbol rules, no pair on a stale quote, one pair at a time, a failed leg never
sent again, and its config with one-line errors."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from tradingmcp.client.bot.arbitrage import Arbitrage
from tradingmcp.client.bot.config import (
    BotConfig,
    ConfigError,
    ConnectionConfig,
    RiskConfig,
    StrategyConfig,
    SymbolConfig,
    config_from_dict,
)
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.params import ArbitrageParams
from tradingmcp.client.bot.strategy import SymbolRulesLite

RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
MS = 1_000_000
QTY, MAX = Decimal("0.001"), Decimal("0.002")
_ids = itertools.count(1)


def _core(
    max_position: Decimal = MAX,
    fees: dict[str, float] | None = None,
    mexc_rules: SymbolRulesLite | None = RULES,
    max_quote_age_ms: float = 1000.0,
    **risk: Any,
) -> BotCore:
    params = ArbitrageParams(
        min_edge_bps=5.0, taker_fee_bps=fees or {"binance": 10.0, "mexc": 10.0}, max_quote_age_ms=max_quote_age_ms
    )
    sym = SymbolConfig("BTCUSDT", QTY, max_position, StrategyConfig(kind="arbitrage", arbitrage=params))
    risk = {"max_orders_per_s": 1000.0, "order_burst": 1000, "reject_cooldown_ms": 0, **risk}
    core = BotCore(BotConfig(symbols=(sym,), risk=RiskConfig(**risk)))
    core.set_rules("BTCUSDT", RULES)
    if mexc_rules is not None:
        core.set_rules("BTCUSDT", mexc_rules, "mexc")
    return core


def _tick(core: BotCore, venue: str, bid: str, ask: str, qty: str = "1", ask_qty: str | None = None) -> list[Action]:
    data = {"symbol": "BTCUSDT", "bid": bid, "bid_qty": qty, "ask": ask, "ask_qty": ask_qty or qty,
            "update_id": next(_ids), "time_ms": 1000}  # fmt: skip
    return core.on_stream(f"book_ticker:{venue}:BTCUSDT", data, next(_ids) * MS)


def _order(action: Action, oid: int | str, status: str, executed: Decimal) -> dict[str, Any]:
    return {"client_order_id": action.client_order_id, "order_id": oid, "symbol": "BTCUSDT", "side": action.side,
            "status": status, "price": str(action.price), "orig_qty": str(action.qty),
            "executed_qty": str(executed)}  # fmt: skip


def _fill(core: BotCore, action: Action, book: bool = True) -> None:
    """The venue fills the IOC leg whole: the tool result (FILLED), then (``book``) the pushed order event."""
    assert action.qty is not None and action.exchange is not None
    oid = next(_ids)
    order = _order(action, oid, "FILLED", action.qty)
    core.on_result(action, {"structuredContent": {"order": order, "duplicate": False}}, next(_ids) * MS)
    if book:
        _book(core, action, oid)


def _book(core: BotCore, action: Action, oid: int | None = None) -> None:
    assert action.qty is not None and action.exchange is not None
    order = core.tracker.get(action.client_order_id)
    assert order is not None
    oid = oid if oid is not None else order.order_id  # type: ignore[assignment]
    fill = {"symbol": "BTCUSDT", "trade_id": f"{action.exchange}-{oid}", "order_id": oid, "price": str(action.price),
            "qty": str(action.qty), "commission": "0", "commission_asset": "USDT", "is_maker": False,
            "time_ms": 1000}  # fmt: skip
    event = {"event": "order", "order": _order(action, oid or 0, "FILLED", action.qty), "fill": fill}
    core.on_stream(f"orders:{action.exchange}", event, next(_ids) * MS)


def _legs(actions: list[Action]) -> tuple[Action, Action]:
    assert [a.side for a in actions] == ["BUY", "SELL"], actions
    return actions[0], actions[1]


def test_edge_after_both_fees_against_the_threshold() -> None:
    core = _core()
    assert _tick(core, "binance", "100000.00", "100000.01") == []  # one venue only: nothing to compare
    # sell 100250 × (1 − 0.001) − buy 100000.01 × (1 + 0.001) = 49.74 quote: 4.97 bps, not above 5
    assert _tick(core, "mexc", "100250.00", "100250.01") == []
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Arbitrage)
    edge = strat.edge_bps("binance", "mexc")
    assert edge is not None and Decimal("4.97") < edge < Decimal("4.98")
    assert core.markets["BTCUSDT"].bid == Decimal("100000.00")  # the market state is the connection venue's
    buy, sell = _legs(_tick(core, "mexc", "100260.00", "100260.01"))  # 5.97 bps: above
    assert (buy.exchange, buy.price, buy.qty, buy.taker) == ("binance", Decimal("100000.01"), QTY, True)
    assert (sell.exchange, sell.price, sell.qty, sell.taker) == ("mexc", Decimal("100260.00"), QTY, True)
    for leg, venue in ((buy, "binance"), (sell, "mexc")):
        name, args = leg.tool_call("binance")
        assert name == "place_order" and args["exchange"] == venue
        assert (args["type"], args["time_in_force"]) == ("LIMIT", "IOC")
    # without fees the first tops were already 24.97 bps apart
    free = _core(fees={"binance": 0.0, "mexc": 0.0})
    _tick(free, "binance", "100000.00", "100000.01")
    assert len(_tick(free, "mexc", "100250.00", "100250.01")) == 2


def test_the_other_direction_buys_on_the_second_venue() -> None:
    core = _core()
    _tick(core, "binance", "100000.00", "100000.01")
    buy, sell = _legs(_tick(core, "mexc", "99700.00", "99700.01"))
    assert (buy.exchange, buy.price) == ("mexc", Decimal("99700.01"))
    assert (sell.exchange, sell.price) == ("binance", Decimal("100000.00"))


def test_size_is_bounded_by_the_top_of_book_and_the_inventory_per_venue() -> None:
    core = _core()
    _tick(core, "binance", "100000.00", "100000.01", qty="5", ask_qty="0.00042")
    buy, sell = _legs(_tick(core, "mexc", "100500.00", "100500.01", qty="0.3"))
    assert buy.qty == sell.qty == Decimal("0.00042")  # the ask size on the buy venue
    _fill(core, buy)
    _fill(core, sell)
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Arbitrage)
    assert strat.inventory == {"binance": Decimal("0.00042"), "mexc": Decimal("-0.00042")}
    assert core.ledger.position("BTCUSDT") == 0
    buy, sell = _legs(_tick(core, "binance", "100000.00", "100000.01", qty="5"))
    assert buy.qty == QTY  # order_qty_base
    _fill(core, buy)
    _fill(core, sell)
    buy, sell = _legs(_tick(core, "binance", "100000.00", "100000.02", qty="5"))
    assert buy.qty == MAX - Decimal("0.00142")  # the room left under max_position_base on each venue
    _fill(core, buy)
    _fill(core, sell)
    assert strat.inventory == {"binance": MAX, "mexc": -MAX}
    assert _tick(core, "binance", "100000.00", "100000.03", qty="5") == []  # binance can only sell now
    back = _tick(core, "mexc", "99000.00", "99000.01")
    buy, sell = _legs(back)  # the way back is open: buy on mexc, sell on binance
    assert (buy.exchange, sell.exchange, buy.qty) == ("mexc", "binance", QTY)


def test_each_leg_is_sized_by_its_own_venues_rules() -> None:
    unknown = _core(mexc_rules=None)  # the other venue's rules were never loaded: it is not traded
    _tick(unknown, "binance", "100000.00", "100000.01")
    assert _tick(unknown, "mexc", "100500.00", "100500.01") == []
    coarse = SymbolRulesLite(Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001"), Decimal("5"))
    core = _core(mexc_rules=coarse)
    _tick(core, "binance", "100000.00", "100000.01", ask_qty="0.00042")
    buy, sell = _legs(_tick(core, "mexc", "100500.00", "100500.01"))
    assert buy.qty == sell.qty == Decimal("0.0004")  # floored to MEXC's coarser step, not Binance's 0.00001
    big_min = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("200"))
    core = _core(mexc_rules=big_min)  # 0.001 × 100500 = 100.5 quote: below MEXC's minimum notional of 200
    _tick(core, "binance", "100000.00", "100000.01")
    assert _tick(core, "mexc", "100500.00", "100500.01") == []
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Arbitrage) and strat.venue_rules("mexc") == big_min and strat.home == "binance"


def test_no_pair_on_a_stale_quote() -> None:
    core = _core(max_quote_age_ms=50.0)
    quote = {"symbol": "BTCUSDT", "bid_qty": "1", "ask_qty": "1", "time_ms": 1000}
    core.on_stream("book_ticker:mexc:BTCUSDT", {**quote, "bid": "100500.00", "ask": "100500.01"}, 1_000 * MS)
    # binance's quote 60 ms later: mexc's is 60 ms old, above the 50 ms limit
    stale = core.on_stream("book_ticker:binance:BTCUSDT", {**quote, "bid": "100000.00", "ask": "100000.01"}, 1_060 * MS)
    assert stale == [] and not core.tracker.orders
    # mexc repeats the same top: fresh again, and the pair goes out on binance's next change
    assert (
        core.on_stream("book_ticker:mexc:BTCUSDT", {**quote, "bid": "100500.00", "ask": "100500.01"}, 1_070 * MS) == []
    )
    buy, sell = _legs(
        core.on_stream("book_ticker:binance:BTCUSDT", {**quote, "bid": "100000.00", "ask": "100000.02"}, 1_080 * MS)
    )
    assert (buy.exchange, sell.exchange) == ("binance", "mexc")


def test_one_pair_at_a_time_until_both_legs_are_booked() -> None:
    core = _core()
    _tick(core, "binance", "100000.00", "100000.01")
    buy, sell = _legs(_tick(core, "mexc", "100500.00", "100500.01"))
    assert _tick(core, "mexc", "100600.00", "100600.01") == []  # both legs in flight
    _fill(core, buy)
    assert _tick(core, "mexc", "100700.00", "100700.01") == []  # the sell leg is still in flight
    _fill(core, sell, book=False)
    assert _tick(core, "mexc", "100800.00", "100800.01") == []  # its fill is not booked yet
    _book(core, sell)
    buy2, sell2 = _legs(_tick(core, "mexc", "100900.00", "100900.01"))
    ids = [a.client_order_id for a in (buy, sell, buy2, sell2)]
    assert len(set(ids)) == 4


def test_a_failed_leg_is_not_sent_again_and_its_inventory_bounds_the_next_pair() -> None:
    core = _core(max_position=Decimal("0.0015"))
    _tick(core, "binance", "100000.00", "100000.01")
    buy, sell = _legs(_tick(core, "mexc", "100500.00", "100500.01"))
    _fill(core, buy)
    error = {"code": "insufficient_balance", "message": "Account has insufficient balance"}
    core.on_result(sell, {"isError": True, "structuredContent": {"error": error}}, next(_ids) * MS)
    strat = core.strategies["BTCUSDT"]
    assert isinstance(strat, Arbitrage)
    assert strat.inventory == {"binance": QTY, "mexc": Decimal(0)} and core.errors == {"insufficient_balance": 1}
    later = _tick(core, "mexc", "100600.00", "100600.01")
    buy2, sell2 = _legs(later)
    assert sell.client_order_id not in {buy2.client_order_id, sell2.client_order_id}  # a new pair, not a resend
    assert buy2.qty == Decimal("0.0005")  # binance has 0.001 of its 0.0015
    # an IOC leg that expires unfilled leaves the inventory as it was
    oid = next(_ids)
    core.on_result(buy2, {"structuredContent": {"order": _order(buy2, oid, "EXPIRED", Decimal(0))}}, next(_ids) * MS)
    _fill(core, sell2)
    assert strat.inventory == {"binance": QTY, "mexc": Decimal("-0.0005")}
    sent = [a.client_order_id for a in _tick(core, "mexc", "100700.00", "100700.01")]
    assert len(sent) == 2 and not {buy.client_order_id, sell.client_order_id, buy2.client_order_id} & set(sent)


def test_fills_of_two_venues_with_the_same_trade_id_are_both_booked() -> None:
    core = _core()
    _tick(core, "binance", "100000.00", "100000.01")
    buy, sell = _legs(_tick(core, "mexc", "100500.00", "100500.01"))
    for leg in (buy, sell):  # both venues number their trades from 1
        assert leg.qty is not None
        oid = 7 if leg.exchange == "binance" else "C02__7"
        order = _order(leg, oid, "FILLED", leg.qty)
        fill = {"symbol": "BTCUSDT", "trade_id": 1, "order_id": oid, "price": str(leg.price), "qty": str(leg.qty),
                "commission": "0", "commission_asset": "USDT", "is_maker": False, "time_ms": 1000}  # fmt: skip
        core.on_stream(f"orders:{leg.exchange}", {"event": "order", "order": order, "fill": fill}, next(_ids) * MS)
    assert [(f["exchange"], f["trade_id"]) for f in core.ledger.fills] == [("binance", 1), ("mexc", 1)]
    assert not core.book_fill(fill, core.tracker.orders[sell.client_order_id])  # the same fill again: once only


def test_a_leg_still_open_is_cancelled_on_its_own_venue() -> None:
    core = _core()
    _tick(core, "binance", "100000.00", "100000.01")
    buy, sell = _legs(_tick(core, "mexc", "100500.00", "100500.01"))
    _fill(core, buy)
    open_ack = {"structuredContent": {"order": _order(sell, "C02__9", "NEW", Decimal(0)), "duplicate": False}}
    core.on_result(sell, open_ack, next(_ids) * MS)  # acknowledged, not ended yet
    core.stopping = True
    (cancel,) = core.cancel_all()
    assert (cancel.kind, cancel.client_order_id) == ("cancel", sell.client_order_id)
    assert cancel.tool_call("binance") == (
        "cancel_order",
        {"symbol": "BTCUSDT", "client_order_id": sell.client_order_id, "exchange": "mexc"},
    )


def test_never_one_leg_alone_when_the_rate_limit_has_a_single_token() -> None:
    core = _core(max_orders_per_s=0.001, order_burst=1)
    _tick(core, "binance", "100000.00", "100000.01")
    assert _tick(core, "mexc", "100500.00", "100500.01") == []
    assert core.risk.refusals == {"rate_limit": 1} and not core.tracker.orders


def test_arbitrage_config_and_one_line_errors() -> None:
    cfg = config_from_dict(
        {
            "connection": {"exchange": "mexc"},
            "strategy": {"kind": "arbitrage", "arbitrage": {"venues": ["binance", "mexc"], "min_edge_bps": 2.5,
                                                            "taker_fee_bps": {"binance": 10, "mexc": 5}}},
        }
    )  # fmt: skip
    p = cfg.symbols[0].strategy.arbitrage
    assert p.venues == ("binance", "mexc") and p.min_edge_bps == 2.5 and p.taker_fee_bps == {"binance": 10, "mexc": 5}
    assert cfg.venues == ("mexc", "binance")
    assert BotConfig(connection=ConnectionConfig(exchange="binance")).venues == ("binance",)
    arb = {"kind": "arbitrage"}
    cases = [
        ({"strategy": {**arb, "arbitrage": {"venues": ["binance"]}}}, r"arbitrage\.venues: two different venues"),
        ({"strategy": {**arb, "arbitrage": {"venues": ["binance", "kraken"]}}}, r"venues: 'kraken' is not one of"),
        ({"strategy": {**arb, "arbitrage": {"min_edge_bps": -1}}}, r"arbitrage\.min_edge_bps: must be"),
        (
            {"strategy": {**arb, "arbitrage": {"max_quote_age_ms": 0}}},
            r"arbitrage\.max_quote_age_ms: must be a positive",
        ),
        ({"strategy": {**arb, "arbitrage": {"taker_fee_bps": {"binance": 10}}}}, r"taker_fee_bps: one fee per venue"),
        ({"strategy": {**arb, "arbitrage": {"taker_fee_bps": {"binance": 10, "mexc": "5"}}}}, r"mexc = '5' is not"),
        ({"connection": {"exchange": "bybit"}, "strategy": arb}, r"must include connection\.exchange 'bybit'"),
    ]
    for doc, match in cases:
        with pytest.raises(ConfigError, match=match) as info:
            config_from_dict(doc)
        assert "\n" not in str(info.value)
    assert replace(p, venues=("binance", "mexc")) == p
