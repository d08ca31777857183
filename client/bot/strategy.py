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

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache

from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState

GRID_CACHE_MAX = 4096
"""Grid prices a :class:`SymbolRulesLite` keeps made; the cache is emptied when it is full."""


@dataclass(frozen=True, slots=True)
class SymbolRulesLite:
    """What the strategy needs of the exchange's symbol rules (``get_symbol_rules``): tick size, step size (base),
    minimum quantity and minimum notional (quote). ``tick_f`` is the tick size as a float (for the quote math)."""

    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    tick_f: float = field(init=False, repr=False, compare=False)
    prices: dict[int, Decimal] = field(init=False, repr=False, compare=False)
    """Prices on the tick grid already made, by their number of ticks (``n * tick_size``; a cache)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tick_f", float(self.tick_size))
        object.__setattr__(self, "prices", {})

    def on_grid(self, ticks: int) -> Decimal:
        """``ticks * tick_size`` (the same Decimal each time)."""
        price = self.prices.get(ticks)
        if price is None:
            if len(self.prices) >= GRID_CACHE_MAX:
                self.prices.clear()
            price = self.prices[ticks] = ticks * self.tick_size
        return price

    @classmethod
    def from_tool(cls, result: dict[str, str]) -> SymbolRulesLite:
        """From the structured result of ``get_symbol_rules``."""
        return cls(
            Decimal(result["tick_size"]),
            Decimal(result["step_size"]),
            Decimal(result.get("min_qty") or 0),
            Decimal(result.get("min_notional") or 0),
        )


@dataclass(slots=True)
class Quotes:
    """Target quotes: ``bid``/``ask`` prices (None = no quote on that side), ``qty`` (base) and the ``fair`` price
    (float: an estimate, never sent). ``taker``: send them as LIMIT IOC (take liquidity at that price, the rest
    expires) instead of LIMIT_MAKER (post-only, rests on the book). ``bid_venue``/``ask_venue``: the venue of each
    side (None: ``[connection] exchange``). ``pair``: both sides go out together or not at all (an arbitrage's two
    legs), each only when both sides' slots are free. A value made on every decision: read-only by convention (not
    frozen, whose ``__init__`` is several times slower)."""

    bid: Decimal | None
    ask: Decimal | None
    qty: Decimal
    fair: float
    taker: bool = False
    bid_venue: str | None = None
    ask_venue: str | None = None
    pair: bool = False


def to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    """``price`` rounded to a multiple of ``tick`` (``ROUND_FLOOR`` / ``ROUND_CEILING``)."""
    return (price / tick).to_integral_value(rounding=rounding) * tick


ZERO, ONE = Decimal(0), Decimal(1)
NOTIONAL_MARGIN = Decimal("1.01")
"""A quantity raised to meet the minimum notional gets 1 % headroom (the price may move before the order lands)."""


@lru_cache(maxsize=256)
def _grid_qty(order_qty_base: Decimal, step: Decimal, min_qty: Decimal) -> Decimal:
    return max(to_tick(order_qty_base, step, ROUND_FLOOR), to_tick(min_qty, step, ROUND_CEILING))


def order_qty(cfg: SymbolConfig, rules: SymbolRulesLite, price: Decimal) -> Decimal:
    """The configured quote size on the step grid, raised to satisfy the minimum quantity and notional."""
    step = rules.step_size
    qty = _grid_qty(cfg.order_qty_base, step, rules.min_qty)
    if rules.min_notional > 0 and price > 0 and qty * price < rules.min_notional:
        qty = to_tick(rules.min_notional * NOTIONAL_MARGIN / price, step, ROUND_CEILING)
    return qty


GRID_EPS = 1e-9
"""Slack (in ticks) when flooring/ceiling a float price to the grid: a price on the grid stays there despite binary
rounding (``4507.24 / 0.01`` is ``450723.99999999994``)."""


def target_quotes(market: MarketState, position: Decimal, cfg: SymbolConfig, rules: SymbolRulesLite) -> Quotes | None:
    """The quotes the strategy wants now, or None when the book is not usable yet (see the module docstring).

    The fair price is float math (an estimate); the quotes are whole ticks, so ``bid``/``ask`` are exact Decimal
    multiples of the tick size. Decimal stays where money is counted (position, quantity, notional).

    Args:
        market: pushed market state of the symbol.
        position: the bot's net position in the symbol (base asset, signed, relative to the start).
        cfg: the symbol's sizes, limits and strategy settings.
        rules: tick size, step size, minimums.
    """
    if not market.ready:
        return None
    assert market.ask is not None
    s = cfg.strategy
    tick = rules.tick_f
    bid_px, ask_px, bid_qty, ask_qty = market.bid_f, market.ask_f, market.bid_qty_f, market.ask_qty_f
    depth = bid_qty + ask_qty
    fair = (bid_px * ask_qty + ask_px * bid_qty) / depth if depth > 0 else (bid_px + ask_px) / 2
    fair += market.imbalance * s.imbalance_ticks * tick
    limit = cfg.max_position_base
    if position and limit > 0:
        fair -= _inventory(position, limit) * s.skew_ticks * tick
    half = s.half_spread_ticks
    at = fair / tick
    bid_n = math.floor(at - half + GRID_EPS)
    below_ask = round(ask_px / tick) - 1
    if below_ask < bid_n:  # noqa: PLR1730 (an if is cheaper than a call of min on this path)
        bid_n = below_ask
    ask_n = math.ceil(at + half - GRID_EPS)
    above_bid = round(bid_px / tick) + 1
    if above_bid > ask_n:  # noqa: PLR1730 (an if is cheaper than a call of max on this path)
        ask_n = above_bid
    if ask_n <= bid_n:
        ask_n = bid_n + 1
    qty = order_qty(cfg, rules, market.ask)
    room_bid, room_ask = _room(position, qty, limit)
    prices = rules.prices
    want_bid = want_ask = None
    if bid_n > 0 and room_bid:
        want_bid = prices.get(bid_n)
        if want_bid is None:
            want_bid = rules.on_grid(bid_n)
    if room_ask:
        want_ask = prices.get(ask_n)
        if want_ask is None:
            want_ask = rules.on_grid(ask_n)
    return Quotes(want_bid, want_ask, qty, fair)


# Decimal steps of every decision whose inputs recur (a few inventory levels): cached by value, the same values as
# computed afresh.


@lru_cache(maxsize=1024)
def _inventory(position: Decimal, limit: Decimal) -> float:
    """``position / limit`` clamped to [-1, 1], as a float."""
    return max(-1.0, min(1.0, float(position / limit)))


@lru_cache(maxsize=1024)
def _room(position: Decimal, qty: Decimal, limit: Decimal) -> tuple[bool, bool]:
    """Whether one more buy, one more sell of ``qty`` keeps the position within ``±limit``."""
    return position + qty <= limit, position - qty >= -limit
