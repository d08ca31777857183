"""The sans-I/O cores of the live family: :class:`AccountState` (snapshot + events) and :class:`Condition`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.models import (
    Balance,
    BalanceEvent,
    ExecutionType,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    StreamStatus,
    TimeInForce,
)
from tradingmcp.server.live.state import AccountState
from tradingmcp.server.tools.live.conditions import Condition


def order(oid: int, status: OrderStatus, t: int = 1) -> Order:
    d = Decimal
    return Order(oid, f"c{oid}", "BTCUSDT", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, d("60000"), d(0), d("0.01"),
                 d(0), d(0), status, t, t)  # fmt: skip


def ev(o: Order, x: ExecutionType = ExecutionType.NEW) -> OrderEvent:
    return OrderEvent(o, x, o.update_time_ms)


def test_events_during_the_snapshot_are_replayed_on_top_of_it() -> None:
    s = AccountState()
    assert s.needs_seed and not s.seeded
    s.begin_seed()
    assert s.apply(ev(order(1, OrderStatus.NEW)))  # arrives while the snapshot is in flight
    assert s.apply(ev(order(1, OrderStatus.FILLED, 2), ExecutionType.TRADE))
    assert s.apply(BalanceEvent(5, (Balance("BTC", Decimal("1.01"), Decimal(0)),)))
    # the snapshot was taken before the fill: it still shows order 1 open and the old balance
    s.finish_seed(
        [Balance("BTC", Decimal(1), Decimal(0)), Balance("XRP", Decimal(0), Decimal(0))], [order(1, OrderStatus.NEW)]
    )
    assert s.seeded and not s.needs_seed and s.open_orders == {}
    assert s.balances == {"BTC": Balance("BTC", Decimal("1.01"), Decimal(0))}  # zero balances dropped


def test_orders_open_and_close_and_deltas_ask_for_a_reseed() -> None:
    s = AccountState()
    s.begin_seed()
    s.finish_seed([], [])
    v = s.version
    assert s.apply(ev(order(7, OrderStatus.NEW))) and set(s.open_orders) == {"7"}
    assert s.apply(ev(order(7, OrderStatus.PARTIALLY_FILLED, 2), ExecutionType.TRADE))
    assert s.open_orders["7"].status is OrderStatus.PARTIALLY_FILLED
    assert s.apply(ev(order(7, OrderStatus.CANCELED, 3), ExecutionType.CANCELED)) and s.open_orders == {}
    assert not s.apply(ev(order(8, OrderStatus.FILLED), ExecutionType.TRADE))  # never seen open: nothing changes
    assert s.version == v + 3
    assert not s.apply(BalanceEvent(9, delta_asset="USDT", delta=Decimal(5))) and s.needs_seed
    assert not s.apply(StreamStatus("connected"))
    s.begin_seed()
    s.abort_seed()
    assert s.needs_seed and not s.seeding


@pytest.mark.parametrize(
    ("name", "level", "prices", "met_at"),
    [
        ("price_above", "100", ["99", "99.99", "100", "101"], 2),
        ("price_below", "100", ["101", "100.01", "99.5"], 2),
        ("price_above", "100", ["1", "2"], None),
    ],
)
def test_price_conditions_are_inclusive(name: str, level: str, prices: list[str], met_at: int | None) -> None:
    c = Condition(name, Decimal(level))
    assert c.stream_kind == "trades"
    outcomes = [c.on_price(Decimal(p), {"price": p}) for p in prices]
    decided = [i for i, o in enumerate(outcomes) if o is not None]
    assert (decided[0] if decided else None) == met_at
    assert c.last_value == prices[-1]
    if met_at is not None:
        o = outcomes[met_at]
        assert o is not None and o.met and o.value == prices[met_at] and o.event == {"price": prices[met_at]}


def test_spread_and_order_conditions() -> None:
    c = Condition("spread_below", Decimal("0.02"))
    assert c.stream_kind == "book_ticker"
    assert c.on_book_ticker(Decimal("100.00"), Decimal("100.05"), None) is None and c.last_value == "0.05"
    o = c.on_book_ticker(Decimal("100.00"), Decimal("100.02"), None)
    assert o is not None and o.met and o.value == "0.02"
    filled = Condition("order_filled", client_order_id="abc")
    assert filled.stream_kind is None
    assert filled.matches({"order_id": 1, "client_order_id": "abc"}) and not filled.matches({"order_id": 1})
    assert filled.on_order({"status": "PARTIALLY_FILLED"}, None) is None
    gone = filled.on_order({"status": "CANCELED"}, None)
    assert (
        gone is not None
        and not gone.met
        and gone.value == "CANCELED"
        and gone.event == {"order": {"status": "CANCELED"}}
    )
    done = Condition("order_done", order_id=42)
    assert done.matches({"order_id": "42"})  # ids compare as text (int on Binance, str on MEXC)
    out = done.on_order({"status": "EXPIRED"}, {"event": "order"}, "stream")
    assert out is not None and out.met and out.source == "stream"
    with pytest.raises(ValueError, match="unknown condition"):
        Condition("price_sideways")
