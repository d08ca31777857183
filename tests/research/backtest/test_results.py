"""The simulator's bodies and events straight into the tool shapes (:mod:`tradingmcp.research.backtest.results`) equal
what the server's parsers and shapes make of them: on engine output of every kind (a taker fill, a stop order, cancels,
a refused replace) and on a whole replay, action by action and event by event."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.bot.actions import Action
from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import Backtest, BacktestParams
from tradingmcp.research.backtest.results import cancel_replace_of, order_event_of, order_json_of
from tradingmcp.research.backtest.run import build_config, load_doc
from tradingmcp.research.backtest.venue import API_KEY, SimVenue
from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.parse.account import execution_report
from tradingmcp.server.tools.shapes import order_event_json, order_json
from tradingmcp.sim.book import SimBook
from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.matching import MatchingEngine

TO_MS = 1723161420000  # the first ~3 minutes of the recording


def _engine() -> MatchingEngine:
    book = SimBook("BTCUSDT")
    book.load_snapshot(10, [["60000.00000000", "1.00000000"], ["59999.99000000", "2.00000000"]],
                       [["60000.01000000", "0.50000000"], ["60000.02000000", "3.00000000"]])  # fmt: skip
    engine = MatchingEngine(ExchangeInfo.builtin(), {"BTCUSDT": book}, clock_ms=lambda: 1_700_000_000_000)
    engine.add_account(API_KEY, {"USDT": Decimal(100_000), "BTC": Decimal(1)})
    return engine


def _same_order(body: dict[str, Any]) -> dict[str, Any]:
    ours = order_json_of(body)
    assert ours == order_json(parse.order(body))
    assert list(ours) == list(order_json(parse.order(body)))  # the same key order: the same JSON bytes
    return ours


def _same_events(engine: MatchingEngine) -> list[dict[str, Any]]:
    out = []
    for _, ev in engine.drain_events():
        if ev.get("e") == "executionReport":
            ours = order_event_of(ev)
            theirs = order_event_json(execution_report(ev))
            assert ours == theirs and list(ours) == list(theirs)
            assert list(ours["order"]) == list(theirs["order"])
            out.append(ours)
    return out


def test_bodies_and_events_of_every_kind_read_as_the_server_reads_them() -> None:
    engine = _engine()
    base = {"symbol": "BTCUSDT", "newOrderRespType": "FULL"}
    taker = engine.new_order(API_KEY, {**base, "side": "BUY", "type": "LIMIT", "timeInForce": "IOC",
                                       "quantity": "0.7", "price": "60000.02", "newClientOrderId": "t1"})  # fmt: skip
    assert len(taker["fills"]) == 2
    order = _same_order(taker)
    assert order["fills"][1]["qty"] == "0.2" and order["avg_price"] != "0"
    maker = engine.new_order(API_KEY, {**base, "side": "SELL", "type": "LIMIT_MAKER", "quantity": "0.001",
                                       "price": "60100", "newClientOrderId": "m1"})  # fmt: skip
    _same_order(maker)
    stop = engine.new_order(API_KEY, {**base, "side": "SELL", "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC",
                                      "quantity": "0.001", "price": "59000", "stopPrice": "59500",
                                      "newClientOrderId": "s1"})  # fmt: skip
    assert _same_order(stop)["stop_price"] == "59500"
    engine.on_trade("BTCUSDT", Decimal("60100"), Decimal("0.0004"), 1_700_000_000_001, False)  # part of m1
    _same_order(engine.cancel_order(API_KEY, {"symbol": "BTCUSDT", "origClientOrderId": "s1"}))
    replaced = engine.cancel_replace(API_KEY, {**base, "side": "SELL", "type": "LIMIT_MAKER", "quantity": "0.001",
                                               "price": "60200", "newClientOrderId": "m2",
                                               "cancelReplaceMode": "STOP_ON_FAILURE",
                                               "cancelOrigClientOrderId": "m1"})  # fmt: skip
    result = parse.cancel_replace(replaced)
    assert result.cancelled is not None and result.new_order is not None
    assert cancel_replace_of(replaced) == (result.cancel_result, result.new_order_result,
                                           order_json(result.cancelled), order_json(result.new_order))  # fmt: skip
    with pytest.raises(BinanceError) as refused:  # the cancel goes through, the post-only order would take
        engine.cancel_replace(API_KEY, {**base, "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.001",
                                        "price": "60000.01", "newClientOrderId": "m3",
                                        "cancelReplaceMode": "STOP_ON_FAILURE",
                                        "cancelOrigClientOrderId": "m2"})  # fmt: skip
    assert refused.value.data is not None
    failed = parse.cancel_replace(refused.value.data)
    assert failed.cancelled is not None and failed.new_order is None
    assert cancel_replace_of(refused.value.data) == (failed.cancel_result, failed.new_order_result,
                                                     order_json(failed.cancelled), None)  # fmt: skip
    kinds = [(e["execution_type"], e["order"]["client_order_id"]) for e in _same_events(engine)]
    assert ("TRADE", "t1") in kinds and ("TRADE", "m1") in kinds and ("CANCELED", "s1") in kinds
    assert ("CANCELED", "m1") in kinds and ("NEW", "m2") in kinds and ("CANCELED", "m2") in kinds


def test_a_bad_enum_value_is_refused_as_the_server_refuses_it() -> None:
    body = {"symbol": "BTCUSDT", "orderId": 1, "side": "HOLD", "type": "LIMIT", "status": "NEW"}
    with pytest.raises(ValueError):
        parse.order(body)
    with pytest.raises(ValueError, match="HOLD"):
        order_json_of(body)


class _Spy(SimVenue):
    """A venue that keeps every result and order event it hands out."""

    def __init__(self, venue: SimVenue, wire: bool) -> None:
        super().__init__(venue.engine, venue.exchange, wire=wire)
        self.seen: list[Any] = []

    def execute(self, action: Action) -> dict[str, Any]:
        result = super().execute(action)
        self.seen.append((action.kind, action.client_order_id, result))
        return result

    def order_events(self) -> list[dict[str, Any]]:
        events = super().order_events()
        self.seen.extend(events)
        return events


@pytest.mark.data
@pytest.mark.parametrize("strategy", ["market_making", "momentum"])
def test_a_replay_sees_the_same_results_and_events_either_way(data_dir: Path, strategy: str) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    momentum = {"bar_interval_s": "2", "fast_period": "2", "slow_period": "5"}
    config = build_config(
        load_doc(None), strategy, ["BTCUSDT"], {f"strategy.momentum.{k}": v for k, v in momentum.items()}
    )
    runs = []
    for wire in (True, False):
        backtest = Backtest(config, data.exchange_info, BacktestParams(latency_ms=2.0, end_ms=TO_MS))
        home = backtest.venues[0]
        assert isinstance(home.venue, SimVenue)
        spy = home.venue = backtest.venue = _Spy(home.venue, wire)
        backtest.run(data.events())
        runs.append(spy.seen)
    wire_seen, direct_seen = runs
    assert direct_seen == wire_seen
    results = [x[2] for x in direct_seen if isinstance(x, tuple)]
    events = [e for e in direct_seen if isinstance(e, dict)]
    assert results and any(e["fill"] for e in events)
    if strategy == "momentum":  # LIMIT IOC orders: fills in the placement's FULL response
        assert any(r["structuredContent"]["order"]["fills"] for r in results if not r["isError"])
    assert str(direct_seen) == str(wire_seen)  # dict key order too
