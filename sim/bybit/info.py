"""Bybit ``instruments-info`` entries derived from the simulator's (Binance) symbol filters, and the order rules the
Bybit face checks against, read back from those entries (sans-I/O).

A spot entry (https://bybit-exchange.github.io/docs/v5/market/instrument) states its rules in ``lotSizeFilter``
(``basePrecision`` = quantity step, ``quotePrecision``, ``minOrderQty``/``maxOrderQty`` in the base coin,
``minOrderAmt``/``maxOrderAmt`` in the quote coin) and ``priceFilter.tickSize``. Values come from the Binance filters
of the same symbol so every face agrees. Checks, in this order (the first failure is the answer): price a multiple of
``tickSize`` → else 170134; quantity a multiple of ``basePrecision`` → else 170137; quantity at least
``minOrderQty`` → else 170136, at most ``maxOrderQty`` → else 170135; order value (``price × qty``, a MARKET order's
quote amount, or ``qty ×`` the reference price) at least ``minOrderAmt`` → else 170140, at most ``maxOrderAmt`` → else
170124.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any

from tradingmcp.sim.bybit import wire
from tradingmcp.sim.bybit.wire import BybitError, plain
from tradingmcp.sim.exchange_info import SymbolInfo

DEFAULT_MAX_ORDER_AMT = Decimal(2_000_000)
"""``maxOrderAmt`` when the Binance NOTIONAL filter has no maximum."""


def instrument_entry(info: SymbolInfo) -> dict[str, Any]:
    """One ``/v5/market/instruments-info?category=spot`` list entry."""
    tick = info.price_filter.tick_size if info.price_filter and info.price_filter.tick_size else Decimal("1e-8")
    step = info.lot_size.step_size if info.lot_size and info.lot_size.step_size else Decimal("1e-8")
    min_qty = info.lot_size.min_qty if info.lot_size and info.lot_size.min_qty else step
    max_qty = info.lot_size.max_qty if info.lot_size and info.lot_size.max_qty else Decimal(1_000_000)
    min_amt = info.notional.min_notional if info.notional else Decimal(1)
    max_amt = info.notional.max_notional if info.notional and info.notional.max_notional else DEFAULT_MAX_ORDER_AMT
    return {
        "symbol": info.symbol, "baseCoin": info.base_asset, "quoteCoin": info.quote_asset, "innovation": "0",
        "status": "Trading" if info.status == "TRADING" else "Closed", "marginTrading": "none", "stTag": "0",
        "lotSizeFilter": {"basePrecision": plain(step), "quotePrecision": plain(tick), "minOrderQty": plain(min_qty),
                          "maxOrderQty": plain(max_qty), "minOrderAmt": plain(min_amt),
                          "maxOrderAmt": plain(min(max_amt, DEFAULT_MAX_ORDER_AMT))},
        "priceFilter": {"tickSize": plain(tick)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class BybitRules:
    """One symbol's rules as its instruments-info entry states them."""

    symbol: str
    trading: bool
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_amt: Decimal
    max_amt: Decimal


def rules_of(entry: Mapping[str, Any]) -> BybitRules:
    """Read the rules back from an instruments-info entry."""
    lot, price = entry["lotSizeFilter"], entry["priceFilter"]
    return BybitRules(
        symbol=str(entry["symbol"]),
        trading=entry["status"] == "Trading",
        tick=Decimal(price["tickSize"]),
        step=Decimal(lot["basePrecision"]),
        min_qty=Decimal(lot["minOrderQty"]),
        max_qty=Decimal(lot["maxOrderQty"]),
        min_amt=Decimal(lot["minOrderAmt"]),
        max_amt=Decimal(lot["maxOrderAmt"]),
    )


_WIDE = Context(prec=100, traps=[InvalidOperation, DivisionByZero, Overflow])


def check_order(
    rules: BybitRules,
    *,
    price: Decimal | None,
    base_qty: Decimal | None,
    quote_qty: Decimal | None,
    reference_price: Decimal | None,
) -> None:
    """Check a new order against ``rules`` (see the module docstring for the order of checks and the codes).

    Args:
        price: the limit price, None for MARKET.
        base_qty: the quantity in the base coin (LIMIT, or MARKET with ``marketUnit=baseCoin``), else None.
        quote_qty: a MARKET order's amount in the quote coin (``marketUnit=quoteCoin``), else None.
        reference_price: the price a MARKET order by base quantity is valued at (None skips the value check).

    Raises:
        BybitError: the first rule broken.
    """
    try:
        with localcontext(_WIDE):
            if not rules.trading:
                raise BybitError(wire.INVALID_PARAM, f"{rules.symbol} is not trading")
            if price is not None and (price <= 0 or price % rules.tick):
                raise BybitError(wire.PRICE_DECIMALS, f"Order price decimal too long. (tickSize {plain(rules.tick)})")
            if base_qty is not None:
                if base_qty % rules.step:
                    raise BybitError(
                        wire.QTY_DECIMALS, f"Order quantity decimal too long. (basePrecision {plain(rules.step)})"
                    )
                if base_qty < rules.min_qty or base_qty <= 0:
                    raise BybitError(
                        wire.QTY_TOO_SMALL,
                        f"Order quantity lower than the minimum. (minOrderQty {plain(rules.min_qty)})",
                    )
                if base_qty > rules.max_qty:
                    raise BybitError(
                        wire.QTY_TOO_LARGE, f"Order quantity exceeded upper limit. (maxOrderQty {plain(rules.max_qty)})"
                    )
            valued_at = price if price is not None else reference_price
            if quote_qty is not None:
                value: Decimal | None = quote_qty
            elif base_qty is not None and valued_at is not None:
                value = base_qty * valued_at
            else:
                value = None
            if value is not None and value < rules.min_amt:
                raise BybitError(
                    wire.VALUE_TOO_SMALL, f"Order value exceeded lower limit. (minOrderAmt {plain(rules.min_amt)})"
                )
            if value is not None and value > rules.max_amt:
                raise BybitError(wire.VALUE_TOO_LARGE, f"Order amount too large. (maxOrderAmt {plain(rules.max_amt)})")
    except (InvalidOperation, DivisionByZero, Overflow):
        raise wire.params_error("a price or quantity is out of range") from None
