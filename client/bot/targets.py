"""From a target position to the order that moves toward it (sans-I/O), for the signal strategies.

One order at a time, of at most ``order_qty_base`` (raised to the symbol's minimums like the market maker's quotes) and
never more than the gap to the target (floored to the step size): a BUY below the target, a SELL above it, nothing
when the gap is smaller than the smallest order the exchange takes. ``taker``: a marketable LIMIT IOC at the opposite
touch (BUY at the best ask, SELL at the best bid); else a LIMIT_MAKER at the own touch (BUY at the best bid, SELL at
the best ask). The core's risk gate still checks every order against ``max_position_base``.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite, order_qty, to_tick

ZERO = Decimal(0)


def toward(
    target: Decimal,
    position: Decimal,
    market: MarketState,
    cfg: SymbolConfig,
    rules: SymbolRulesLite,
    taker: bool,
) -> Quotes | None:
    """The order (as :class:`Quotes`: only ``bid`` for a BUY, only ``ask`` for a SELL, neither when at the target)
    that moves ``position`` toward ``target`` (both base asset, signed); None when the book is not usable yet."""
    if not market.ready:
        return None
    assert market.bid is not None and market.ask is not None
    fair = (market.bid_f + market.ask_f) / 2
    gap = target - position
    if gap == 0:
        return Quotes(None, None, ZERO, fair, taker)
    buy = gap > 0
    price = (market.ask if taker else market.bid) if buy else (market.bid if taker else market.ask)
    qty = min(order_qty(cfg, rules, price), to_tick(abs(gap), rules.step_size, ROUND_FLOOR))
    if qty <= 0 or qty < rules.min_qty or qty * price < rules.min_notional:
        return Quotes(None, None, ZERO, fair, taker)
    return Quotes(price if buy else None, None if buy else price, qty, fair, taker)
