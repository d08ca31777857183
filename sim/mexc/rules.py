"""MEXC's order rules as the simulator's MEXC face enforces them (sans-I/O), with MEXC's error codes.

A MEXC symbol has no ``filters``; its ``exchangeInfo`` entry states the rules as fields
(https://mexcdevelop.github.io/apidocs/spot_v3_en/#exchange-information), which the face reads back from the entry it
publishes (:func:`from_entry`), so it checks exactly what a client can see:

* price: a multiple of ``10^-quotePrecision``; quantity: at least ``baseSizePrecision``, a multiple of
  ``10^-baseAssetPrecision``; a violation → 33333 "Parameter error";
* amount (quote asset; ``price × quantity``, for MARKET ``quoteOrderQty`` or ``quantity ×`` the reference price):
  at least ``quoteAmountPrecision`` (MARKET: ``quoteAmountPrecisionMarket``) → else 30002, at most
  ``maxQuoteAmount`` (MARKET: ``maxQuoteAmountMarket``) → else 30003;
* a symbol not online (``status`` other than ``"1"``) or an order type not in ``orderTypes`` → 33333.

Checks run in that order (status, type, price, quantity, amount); the first failure is the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any

from tradingmcp.sim.mexc.wire import MexcError, parameter_error, plain

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class MexcRules:
    """One symbol's rules, read from its ``exchangeInfo`` entry.

    Attributes:
        tick: price grid (``10^-quotePrecision``); step: quantity grid (``10^-baseAssetPrecision``).
        min_qty: ``baseSizePrecision``. min_amount / max_amount: ``quoteAmountPrecision`` / ``maxQuoteAmount``;
        market_min_amount / market_max_amount: their MARKET variants (quote asset).
        order_types: ``orderTypes`` (LIMIT, MARKET, LIMIT_MAKER; IOC/FOK orders are LIMIT ones).
    """

    symbol: str
    quote_asset: str
    online: bool
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    min_amount: Decimal
    max_amount: Decimal
    market_min_amount: Decimal
    market_max_amount: Decimal
    order_types: frozenset[str]


def from_entry(entry: Mapping[str, Any]) -> MexcRules:
    """The rules an ``exchangeInfo.symbols[]`` entry states (numbers as MEXC's strings)."""
    return MexcRules(
        symbol=str(entry["symbol"]),
        quote_asset=str(entry["quoteAsset"]),
        online=str(entry["status"]) == "1",
        tick=Decimal(1).scaleb(-int(entry["quotePrecision"])),
        step=Decimal(1).scaleb(-int(entry["baseAssetPrecision"])),
        min_qty=Decimal(entry["baseSizePrecision"]),
        min_amount=Decimal(entry["quoteAmountPrecision"]),
        max_amount=Decimal(entry["maxQuoteAmount"]),
        market_min_amount=Decimal(entry["quoteAmountPrecisionMarket"]),
        market_max_amount=Decimal(entry["maxQuoteAmountMarket"]),
        order_types=frozenset(entry["orderTypes"]),
    )


_WIDE = Context(prec=100, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Exact step and tick checks on any amount a caller can write down (100 digits); what still does not compute (an
exponent beyond the context's range) is a parameter error, as MEXC answers it, never an internal error."""


def check_order(
    rules: MexcRules,
    engine_type: str,
    *,
    quantity: Decimal | None,
    quote_quantity: Decimal | None,
    price: Decimal | None,
    reference_price: Decimal | None,
) -> None:
    """Check a new order (already known to carry the parameters its type needs).

    Args:
        rules: the symbol's rules.
        engine_type: ``LIMIT`` (also for IOC/FOK), ``LIMIT_MAKER`` or ``MARKET``.
        quantity: base asset quantity, or None for a MARKET order by ``quote_quantity``.
        quote_quantity: a MARKET order's ``quoteOrderQty`` (quote asset), else None.
        price: the limit price (quote per base), None for MARKET.
        reference_price: the current price (quote per base) a MARKET order by quantity is valued at; None skips
            that amount check.

    Raises:
        MexcError: 33333 (status, type, price, quantity, a number out of range), 30002 (amount too small), 30003
            (amount too large).
    """
    try:
        with localcontext(_WIDE):
            if not rules.online:
                raise parameter_error(f"{rules.symbol} is not online")
            if engine_type not in rules.order_types:
                raise parameter_error(f"order type {engine_type} is not offered on {rules.symbol}")
            market = engine_type == "MARKET"
            if not market:
                assert price is not None
                if price <= 0:
                    raise parameter_error(f"price {plain(price)} must be positive")
                if price % rules.tick:
                    raise parameter_error(f"price {plain(price)} is not a multiple of {plain(rules.tick)}")
            if quantity is not None:
                if quantity < rules.min_qty or quantity <= 0:
                    raise parameter_error(f"quantity {plain(quantity)} is below the minimum {plain(rules.min_qty)}")
                if quantity % rules.step:
                    raise parameter_error(f"quantity {plain(quantity)} is not a multiple of {plain(rules.step)}")
            low, high = (
                (rules.market_min_amount, rules.market_max_amount) if market else (rules.min_amount, rules.max_amount)
            )
            quote = rules.quote_asset
            valued_at = reference_price if market else price
            if quantity is None:
                assert quote_quantity is not None
                amount, hint = quote_quantity, ""
            elif valued_at is not None and valued_at > 0:
                amount = quantity * valued_at
                smallest = (low / valued_at / rules.step).to_integral_value(ROUND_CEILING) * rules.step
                hint = f"; smallest valid quantity at price {plain(valued_at)}: {plain(smallest)}"
            else:
                return
            if amount < low:
                raise MexcError(
                    30002, f"Minimum transaction volume cannot be less than: {plain(low)} {quote} "
                    f"(order amount {plain(amount)} {quote}{hint})",
                )  # fmt: skip
            if high > 0 and amount > high:
                raise MexcError(
                    30003, f"Maximum transaction volume cannot be more than: {plain(high)} {quote} "
                    f"(order amount {plain(amount)} {quote})",
                )  # fmt: skip
    except (InvalidOperation, DivisionByZero, Overflow):
        raise parameter_error("a price or quantity is out of range") from None
