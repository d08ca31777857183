"""The reference strategy: a small market maker quoting around the microprice with inventory skew (sans-I/O).

How it decides (every time the symbol's book ticker or book changes):

1. ``fair = microprice + imbalance × imbalance_ticks × tick`` — the microprice leans toward the side with less size at
   the touch; the depth imbalance of the top levels (book stream) leans it further toward the heavier side.
2. ``skew = −clamp(position / max_position, −1, 1) × skew_ticks × tick`` — holding inventory shifts both quotes so
   the side that reduces it is the more aggressive one.
3. ``bid = floor_to_tick(fair − half_spread + skew)``, ``ask = ceil_to_tick(fair + half_spread + skew)``, then kept
   passive: ``bid ≤ best ask − tick`` and ``ask ≥ best bid + tick`` (orders are LIMIT_MAKER: post-only).
4. No bid when one more fill would take the position above ``max_position``; no ask when below ``−max_position``.

It earns the spread when both sides fill and loses when the price runs through its quotes (adverse selection) and on
every fee. It does not predict prices. On the simulator a resting quote fills when a recorded trade prints at or through
its price (the simulator does not model the queue ahead of it), so fills there are optimistic: the report shows gross
P&L and fees separately so this is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState


@dataclass(frozen=True, slots=True)
class SymbolRulesLite:
    """What the strategy needs of the exchange's symbol rules (``get_symbol_rules``): tick size, step size (base),
    minimum quantity and minimum notional (quote)."""

    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)

    @classmethod
    def from_tool(cls, result: dict[str, str]) -> SymbolRulesLite:
        """From the structured result of ``get_symbol_rules``."""
        return cls(
            Decimal(result["tick_size"]),
            Decimal(result["step_size"]),
            Decimal(result.get("min_qty") or 0),
            Decimal(result.get("min_notional") or 0),
        )


@dataclass(frozen=True, slots=True)
class Quotes:
    """Target quotes: ``bid``/``ask`` prices (None = no quote on that side), ``qty`` (base) and the ``fair`` price."""

    bid: Decimal | None
    ask: Decimal | None
    qty: Decimal
    fair: Decimal


def to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    """``price`` rounded to a multiple of ``tick`` (``ROUND_FLOOR`` / ``ROUND_CEILING``)."""
    return (price / tick).to_integral_value(rounding=rounding) * tick


def order_qty(cfg: SymbolConfig, rules: SymbolRulesLite, price: Decimal) -> Decimal:
    """The configured quote size on the step grid, raised to satisfy the minimum quantity and notional."""
    step = rules.step_size
    qty = to_tick(cfg.order_qty_base, step, ROUND_FLOOR)
    qty = max(qty, to_tick(rules.min_qty, step, ROUND_CEILING))
    if rules.min_notional > 0 and price > 0 and qty * price < rules.min_notional:
        qty = to_tick(rules.min_notional * Decimal("1.01") / price, step, ROUND_CEILING)
    return qty


def target_quotes(market: MarketState, position: Decimal, cfg: SymbolConfig, rules: SymbolRulesLite) -> Quotes | None:
    """The quotes the strategy wants now, or None when the book is not usable yet (see the module docstring).

    Args:
        market: pushed market state of the symbol.
        position: the bot's net position in the symbol (base asset, signed, relative to the start).
        cfg: the symbol's sizes, limits and strategy settings.
        rules: tick size, step size, minimums.
    """
    micro = market.microprice()
    if micro is None or not market.ready:
        return None
    assert market.bid is not None and market.ask is not None
    s = cfg.strategy
    tick = rules.tick_size
    fair = micro + Decimal(repr(round(market.imbalance, 6))) * s.imbalance_ticks * tick
    limit = cfg.max_position_base
    inventory = max(Decimal(-1), min(Decimal(1), position / limit)) if limit > 0 else Decimal(0)
    skew = -inventory * s.skew_ticks * tick
    half = s.half_spread_ticks * tick
    bid = min(to_tick(fair - half + skew, tick, ROUND_FLOOR), market.ask - tick)
    ask = max(to_tick(fair + half + skew, tick, ROUND_CEILING), market.bid + tick)
    if ask <= bid:
        ask = bid + tick
    qty = order_qty(cfg, rules, market.ask)
    want_bid: Decimal | None = bid if bid > 0 and position + qty <= limit else None
    want_ask: Decimal | None = ask if position - qty >= -limit else None
    return Quotes(want_bid, want_ask, qty, fair)
