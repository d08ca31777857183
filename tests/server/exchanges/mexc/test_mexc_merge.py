"""``FillMerger`` (sans-I/O): order + deal pushes paired in either order, lone halves released after the window,
per-order ordering kept. Pushes are built with the simulator's ``encode`` and decoded with ``parse`` (the real wire path)."""

from __future__ import annotations

from decimal import Decimal

from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.mexc.merge import FillMerger
from tradingmcp.server.exchanges.models import ExecutionType, Fill, OrderEvent, OrderStatus, OrderType, Side
from tradingmcp.sim.mexc import encode

D = Decimal
T = 1_723_161_254_000


def order_push(status: int, executed: str, oid: str = "C02__1", qty: str = "3") -> OrderEvent:
    frame = encode.encode_private_order(
        "BTCUSDT", order_id=oid, client_order_id="c-1", price="100", quantity=qty, amount="300", avg_price="100",
        order_type=1, trade_type=1, status=status, cumulative_quantity=executed,
        cumulative_amount=str(D(executed) * 100), remain_quantity=str(D(qty) - D(executed)), remain_amount="0",
        create_time_ms=T, send_time_ms=T + 1,
    )  # fmt: skip
    return parse.private_order(parse.decode_push(frame))


def deal_push(qty: str, trade_id: str, oid: str = "C02__1") -> Fill:
    frame = encode.encode_private_deal(
        "BTCUSDT", price="100", quantity=qty, amount=str(D(qty) * 100), trade_type=1, is_maker=True,
        trade_id=trade_id, order_id=oid, client_order_id="c-1", fee_amount="0.01", fee_currency="USDT",
        time_ms=T + 5, send_time_ms=T + 6,
    )  # fmt: skip
    return parse.private_deal(parse.decode_push(frame))


def test_pairs_in_either_order_and_keeps_order_per_order_id() -> None:
    m = FillMerger(window_ms=100)
    (new,) = m.on_order(order_push(1, "0"), T)
    assert new.execution_type is ExecutionType.NEW and new.last_fill is None
    assert m.on_order(order_push(3, "1"), T) == []  # waits for its deal
    assert m.on_order(order_push(4, "1"), T) == []  # a cancel queued behind it: order kept
    first, cancel = m.on_deal(deal_push("1", "11"), T + 1)
    assert first.last_fill is not None and first.last_fill.trade_id == 11 and first.order.executed_qty == 1
    assert cancel.execution_type is ExecutionType.CANCELED
    assert m.on_deal(deal_push("2", "12", oid="C02__2"), T) == []  # deal first this time
    (second,) = m.on_order(order_push(2, "2", oid="C02__2", qty="2"), T + 2)
    assert second.order.status is OrderStatus.FILLED and second.last_fill is not None
    assert second.last_fill.order_id == "C02__2" and second.last_fill.is_maker
    assert (m.merged, m.unpaired_orders, m.unpaired_deals, m.next_deadline_ms) == (2, 0, 0, None)


def test_lone_halves_are_released_after_the_window() -> None:
    m = FillMerger(window_ms=100)
    assert m.on_order(order_push(3, "1"), T) == []
    assert m.next_deadline_ms == T + 100
    assert m.expire(T + 99) == []
    (alone,) = m.expire(T + 100)
    assert alone.execution_type is ExecutionType.TRADE and alone.last_fill is None and m.unpaired_orders == 1
    # a deal whose order push never comes: built from the last known state (1 of 3 executed) plus the fill
    assert m.on_deal(deal_push("2", "21"), T + 200) == []
    (built,) = m.expire(T + 300)
    assert (built.order.executed_qty, built.order.status, built.order.orig_qty) == (D(3), OrderStatus.FILLED, D(3))
    assert built.last_fill is not None and built.last_fill.trade_id == 21 and m.unpaired_deals == 1
    # its late order push is released at once (its fill already went out), without a second fill
    (late,) = m.on_order(order_push(2, "3"), T + 400)
    assert late.last_fill is None and late.order.status is OrderStatus.FILLED


def test_deal_of_an_unknown_order_still_yields_an_event() -> None:
    m = FillMerger(window_ms=10)
    assert m.on_deal(deal_push("0.5", "ab12", oid="C02__9"), T, "c-1") == []
    (ev,) = m.expire(T + 10)
    o = ev.order
    assert (o.order_id, o.client_order_id, o.side, o.type, o.executed_qty) == ("C02__9", "c-1", Side.BUY,
                                                                                OrderType.LIMIT, D("0.5"))  # fmt: skip
    assert o.status is OrderStatus.PARTIALLY_FILLED and ev.last_fill is not None and ev.last_fill.trade_id == "ab12"
