"""``FillTracker`` (sans-I/O): the order state each Bybit fill is reported with, whichever of the ``order`` and
``execution`` pushes comes first; a fill reported once; fills of two symbols with the same ``execId`` both kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.bybit import parse
from tradingmcp.server.exchanges.bybit.userdata import FillTracker
from tradingmcp.server.exchanges.models import ExecutionType, OrderStatus

D = Decimal


def order_row(symbol: str, order_id: str, status: str, cum: str, value: str) -> dict[str, Any]:
    return {"category": "spot", "symbol": symbol, "orderId": order_id, "orderLinkId": f"c-{order_id}", "side": "Buy",
            "orderType": "Limit", "timeInForce": "GTC", "price": "100", "qty": "2", "orderStatus": status,
            "cumExecQty": cum, "cumExecValue": value, "createdTime": "1", "updatedTime": "2"}  # fmt: skip


def exec_row(symbol: str, order_id: str, exec_id: str, qty: str, leaves: str) -> dict[str, Any]:
    return {"category": "spot", "symbol": symbol, "orderId": order_id, "orderLinkId": f"c-{order_id}", "side": "Buy",
            "orderPrice": "100", "orderQty": "2", "leavesQty": leaves, "orderType": "Limit", "execFee": "0.001",
            "feeCurrency": "BTC", "execId": exec_id, "execPrice": "100", "execQty": qty,
            "execValue": str(D(qty) * 100), "execType": "Trade", "execTime": "3", "isMaker": True}  # fmt: skip


def test_fill_before_and_after_its_order_push() -> None:
    t = FillTracker()
    new = t.on_order(parse.order(order_row("BTCUSDT", "1", "New", "0", "0")), 10)
    assert new is not None and new.execution_type is ExecutionType.NEW
    first = exec_row("BTCUSDT", "1", "7", "1", "1")
    ev = t.on_fill(parse.fill(first), first, 10)  # the execution push before the order push
    assert ev is not None and ev.order.status is OrderStatus.PARTIALLY_FILLED and ev.order.executed_qty == 1
    assert t.on_order(parse.order(order_row("BTCUSDT", "1", "PartiallyFilled", "1", "100")), 11) is None
    assert t.on_fill(parse.fill(first), first, 12) is None  # the same fill again
    second = exec_row("BTCUSDT", "1", "8", "1", "0")
    ev = t.on_fill(parse.fill(second), second, 13)
    assert ev is not None and ev.order.status is OrderStatus.FILLED and ev.order.executed_qty == 2
    assert ev.last_fill is not None and ev.last_fill.qty == 1 and ev.order.cumulative_quote_qty == 200


def test_same_exec_id_on_two_symbols_is_two_fills() -> None:
    t = FillTracker()
    btc, eth = exec_row("BTCUSDT", "1", "5", "1", "1"), exec_row("ETHUSDT", "2", "5", "1", "1")
    assert t.on_fill(parse.fill(btc), btc, 1) is not None
    assert t.on_fill(parse.fill(eth), eth, 1) is not None


def test_a_fill_without_fee_currency_gets_bybits_spot_fee_coin() -> None:
    buy = {**exec_row("BTCUSDT", "1", "9", "1", "0"), "feeCurrency": ""}
    sell = {**buy, "side": "Sell"}
    rebate = {**buy, "execFee": "-0.01"}
    assert parse.with_fee_asset(parse.fill(buy), "BTC", "USDT").commission_asset == "BTC"
    assert parse.with_fee_asset(parse.fill(sell), "BTC", "USDT").commission_asset == "USDT"
    assert parse.with_fee_asset(parse.fill(rebate), "BTC", "USDT").commission_asset == "USDT"
    given = parse.fill(exec_row("BTCUSDT", "1", "9", "1", "0"))
    assert parse.with_fee_asset(given, "X", "Y").commission_asset == "BTC"  # the row's own feeCurrency wins
