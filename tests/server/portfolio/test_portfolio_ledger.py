"""The fills ledger on its own (sans-I/O): average cost, fees included, realized on reductions."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from tradingmcp.server.exchanges.models import Fill, Side
from tradingmcp.server.portfolio.ledger import Ledger, LedgerFill, replay


def fill(tid: int, side: Side, price: str, qty: str, fee: str = "0", fee_asset: str = "", t: int = 0) -> Fill:
    p, q = D(price), D(qty)
    return Fill("BTCUSDT", tid, tid, p, q, p * q, D(fee), fee_asset, False, t or tid, side is Side.BUY)


def test_average_cost_with_fees_realized_on_reduction() -> None:
    fills = [
        LedgerFill(fill(1, Side.BUY, "100", "1", "0.001", "BTC"), Side.BUY),  # base fee: 0.999 BTC for 100 USDT
        LedgerFill(fill(2, Side.BUY, "110", "1", "0.11", "USDT"), Side.BUY),  # quote fee
        LedgerFill(fill(3, Side.SELL, "120", "0.5", "0.06", "USDT"), Side.SELL),
    ]
    pos = replay(fills, "BTCUSDT", "BTC", "USDT")
    qty_before = D("1.999")
    cost_before = D("100") + D("110.11")
    basis_out = cost_before * D("0.5") / qty_before
    assert pos.qty == qty_before - D("0.5")
    assert pos.realized_pnl == D("59.94") - basis_out
    assert pos.cost_basis == cost_before - basis_out
    assert pos.fees == D("0.001") * 100 + D("0.11") + D("0.06")
    assert abs(pos.avg_entry_price - cost_before / qty_before) < D("1e-20")
    assert pos.trade_count == 3
    # reconciliation: realized + unrealized = cash flows at mark
    mark = D("115")
    base_delta = sum((e.base_delta for e in pos.effects), D(0))
    quote_delta = sum((e.quote_delta for e in pos.effects), D(0))
    assert abs(pos.realized_pnl + pos.unrealized_pnl(mark) - (quote_delta + base_delta * mark)) < D("1e-20")


def test_flip_from_long_to_short_opens_the_rest_at_its_price() -> None:
    fills = [
        LedgerFill(fill(1, Side.BUY, "100", "1"), Side.BUY),
        LedgerFill(fill(2, Side.SELL, "120", "3"), Side.SELL),
    ]
    pos = replay(fills, "BTCUSDT", "BTC", "USDT")
    assert pos.qty == D(-2) and pos.realized_pnl == D(20)
    assert pos.cost_basis == D(-240) and pos.avg_entry_price == D(120)
    assert pos.unrealized_pnl(D(110)) == D(20)  # short 2 from 120, now 110
    cover = replay([*fills, LedgerFill(fill(3, Side.BUY, "90", "2"), Side.BUY)], "BTCUSDT", "BTC", "USDT")
    assert cover.qty == 0 and cover.cost_basis == 0 and cover.realized_pnl == D(80)


def test_third_asset_fee_valued_when_priced_else_reported() -> None:
    f = [LedgerFill(fill(1, Side.BUY, "100", "1", "0.01", "BNB"), Side.BUY)]
    unpriced = replay(f, "BTCUSDT", "BTC", "USDT")
    assert unpriced.fees == 0 and unpriced.fees_other == {"BNB": D("0.01")} and unpriced.realized_pnl == 0
    priced = replay(f, "BTCUSDT", "BTC", "USDT", {"BNB": D("600")})
    assert priced.fees == D(6) and priced.realized_pnl == D(-6) and priced.fees_other == {}


def test_ledger_dedupes_by_symbol_and_trade_id_and_filters_by_time() -> None:
    led = Ledger()
    a, b = fill(1, Side.BUY, "100", "1", t=1000), fill(2, Side.SELL, "101", "1", t=2000)
    assert led.add_many([b, a, a]) == 2
    assert not led.add(b)
    assert [lf.fill.trade_id for lf in led.fills()] == [1, 2]
    assert [lf.fill.trade_id for lf in led.fills("BTCUSDT", start_ms=1500)] == [2]
    assert led.count() == 2 and led.symbols() == ["BTCUSDT"]
    nameless = Fill("BTCUSDT", -1, 9, D(1), D(1), D(1), D(0), "", False, 5, None)
    assert not led.add(nameless) and led.unknown_side == 1


amounts = st.decimals(min_value=D("0.001"), max_value=D("5"), places=3)
prices = st.decimals(min_value=D("1"), max_value=D("1000"), places=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), prices, amounts, st.booleans()), min_size=1, max_size=30), prices)
def test_pnl_always_reconciles_with_cash_flows(trades: list[tuple[bool, D, D, bool]], mark: D) -> None:
    fills = []
    for i, (buy, price, qty, fee_in_base) in enumerate(trades):
        side = Side.BUY if buy else Side.SELL
        fee_asset = "BTC" if fee_in_base else "USDT"
        fee = qty / 1000 if fee_in_base else price * qty / 1000
        fills.append(LedgerFill(fill(i + 1, side, str(price), str(qty), str(fee), fee_asset), side))
    pos = replay(fills, "BTCUSDT", "BTC", "USDT")
    base = sum((e.base_delta for e in pos.effects), D(0))
    quote = sum((e.quote_delta for e in pos.effects), D(0))
    assert abs(pos.qty - base) < D("1e-18")
    assert abs(pos.realized_pnl + pos.unrealized_pnl(mark) - (quote + base * mark)) < D("1e-12")
