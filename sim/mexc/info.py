"""MEXC ``exchangeInfo`` entries derived from the simulator's (Binance) symbol filters, and the symbol rules the MEXC
face checks orders against, read back from those entries (sans-I/O).

MEXC's ``filters`` are empty; the rules are precision fields
(https://mexcdevelop.github.io/apidocs/spot_v3_en/#exchange-information): ``quotePrecision`` = decimals of the tick
size, ``baseAssetPrecision`` = decimals of the step size, ``baseSizePrecision`` = minimum quantity,
``quoteAmountPrecision`` / ``maxQuoteAmount`` = minimum / maximum order amount (quote asset), and the ``…Market``
variants for MARKET orders. Values come from the Binance filters of the same symbol so both faces agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.sim.exchange_info import SymbolInfo
from tradingmcp.sim.mexc.rules import MexcRules, from_entry
from tradingmcp.sim.mexc.wire import plain

ORDER_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER")
"""What MEXC lists in ``orderTypes`` (IMMEDIATE_OR_CANCEL / FILL_OR_KILL are accepted too)."""
DEFAULT_MAX_QUOTE_AMOUNT = Decimal(2_000_000)
"""``maxQuoteAmount`` when the Binance NOTIONAL filter has no maximum (MEXC's BTCUSDT value)."""


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


def symbol_entry(info: SymbolInfo) -> dict[str, Any]:
    """One ``exchangeInfo.symbols[]`` entry in MEXC's shape (numbers as strings, ``status`` ``"1"`` = online)."""
    tick = info.price_filter.tick_size if info.price_filter and info.price_filter.tick_size else Decimal("1e-8")
    step = info.lot_size.step_size if info.lot_size and info.lot_size.step_size else Decimal("1e-8")
    min_qty = info.lot_size.min_qty if info.lot_size else step
    min_amount = info.notional.min_notional if info.notional else Decimal(1)
    max_amount = info.notional.max_notional if info.notional and info.notional.max_notional else None
    max_amount = min(max_amount, DEFAULT_MAX_QUOTE_AMOUNT) if max_amount else DEFAULT_MAX_QUOTE_AMOUNT
    quote_decimals, base_decimals = _decimals(tick), _decimals(step)
    return {
        "symbol": info.symbol,
        "status": "1" if info.status == "TRADING" else "2",
        "baseAsset": info.base_asset,
        "baseAssetPrecision": str(base_decimals),
        "quoteAsset": info.quote_asset,
        "quotePrecision": str(quote_decimals),
        "quoteAssetPrecision": str(quote_decimals),
        "baseCommissionPrecision": str(base_decimals),
        "quoteCommissionPrecision": str(quote_decimals),
        "orderTypes": list(ORDER_TYPES),
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "quoteAmountPrecision": plain(min_amount),
        "baseSizePrecision": plain(min_qty),
        "permissions": ["SPOT"],
        "filters": [],
        "maxQuoteAmount": plain(max_amount),
        "makerCommission": "0.001",
        "takerCommission": "0.001",
        "quoteAmountPrecisionMarket": plain(min_amount),
        "maxQuoteAmountMarket": plain(max_amount / 10),
        "fullName": info.base_asset,
        "tradeSideType": "1",
    }


def symbol_rules(info: SymbolInfo) -> MexcRules:
    """The rules :func:`symbol_entry` states (the face validates orders with exactly these)."""
    return from_entry(symbol_entry(info))


def exchange_info_body(entries: list[dict[str, Any]], server_time_ms: int) -> dict[str, Any]:
    """``GET /api/v3/exchangeInfo`` body."""
    return {
        "timezone": "CST",
        "serverTime": server_time_ms,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": entries,
    }
