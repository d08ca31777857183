"""The bot's P&L from fills: average cost, flips, base-asset fees, and the identity with the balance changes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradingmcp.client.bot.ledger import Ledger

D = Decimal


def _fill(i: int, price: str, qty: str, fee: str, asset: str) -> dict[str, object]:
    return {"symbol": "BTCUSDT", "trade_id": i, "order_id": i, "price": price, "qty": qty, "commission": fee,
            "commission_asset": asset, "is_maker": True, "time_ms": i}  # fmt: skip


def test_average_cost_and_realized() -> None:
    led = Ledger()
    led.apply_fill(_fill(1, "100", "2", "0", "BTC"), "BUY")
    led.apply_fill(_fill(2, "110", "1", "0", "USDT"), "SELL")
    pos = led.positions["BTCUSDT"]
    assert pos.position == 1 and pos.realized_pnl == 10 and pos.avg_entry_price() == 100
    led.apply_fill(_fill(3, "90", "3", "0", "USDT"), "SELL")  # flip to short 2 @ 90
    assert pos.position == -2 and pos.realized_pnl == 0 and pos.avg_entry_price() == 90
    assert pos.unrealized_pnl(D("80")) == 20
    assert not led.apply_fill(_fill(3, "90", "3", "0", "USDT"), "SELL")  # duplicate trade id ignored


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(1, 50_000), st.integers(1, 500), st.booleans()), min_size=1, max_size=40
    ),
    st.integers(1, 50_000),
)
def test_net_pnl_equals_balance_change(fills: list[tuple[bool, int, int, bool]], mark_cents: int) -> None:
    """Whatever the fills, net P&L == Δquote + Δbase × mark (fees taken from the received asset, as Binance does)."""
    led = Ledger()
    quote = base = D(0)
    for i, (buy, price_c, qty_u, maker) in enumerate(fills):
        price, qty = D(price_c) / 100, D(qty_u) / 1000
        rate = D("0.001") if maker else D("0.002")
        if buy:
            fee = (qty * rate).quantize(D("1e-8"))
            quote -= price * qty
            base += qty - fee
            led.apply_fill(_fill(i, str(price), str(qty), str(fee), "BTC"), "BUY")
        else:
            fee = (price * qty * rate).quantize(D("1e-8"))
            quote += price * qty - fee
            base -= qty
            led.apply_fill(_fill(i, str(price), str(qty), str(fee), "USDT"), "SELL")
    mark = D(mark_cents) / 100
    totals = led.totals({"BTCUSDT": mark})
    assert led.position("BTCUSDT") == base
    assert abs(totals["net_pnl"] - (quote + base * mark)) < D("1e-12")
