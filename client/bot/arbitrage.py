"""Cross-venue arbitrage of one symbol between two venues (sans-I/O): ``kind = "arbitrage"``, parameters
:class:`.params.ArbitrageParams` (``[strategy.arbitrage]``).

It watches the book ticker of the symbol on both venues (:meth:`Arbitrage.on_venue_quote`; the core routes every
``book_ticker:<venue>:<SYMBOL>`` message here) and wants a *pair* of LIMIT IOC orders when buying on one venue at its
best ask and selling on the other at its best bid earns more than ``min_edge_bps`` after both taker fees::

    edge_bps = (bid_sell × (1 − fee_sell) − ask_buy × (1 + fee_buy)) / ask_buy × 10⁴

Size: the smallest of the ask size on the buy venue, the bid size on the sell venue, ``order_qty_base`` and the room
left under ``max_position_base`` on each venue (inventory per venue, from the bot's own fills: :meth:`on_fill`),
floored to the step size of both venues; nothing below either venue's minimum quantity, nor below its minimum notional
at its own price. Each venue's symbol rules are its own (:meth:`set_venue_rules`; the core gives the rules of
``[connection] exchange`` as :attr:`home`'s): a venue whose rules are unknown is not traded.

Stale quotes: a pair is wanted only while both venues' last book tickers were received at most ``max_quote_age_ms``
ago (the shell's clock, ``now_ns``), so a venue whose stream stalled is not traded on its last known price; a book
ticker that repeats the same top still counts as fresh. The core sends both legs or neither
(:attr:`.strategy.Quotes.pair`), each once, and wants no new pair before both legs of the last one have ended and their
fills are booked. A leg that fails or expires unfilled is not sent again: the inventory it leaves on one venue only
narrows the next pairs (a venue at its limit can only sell, or only buy).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite, to_tick

ZERO = Decimal(0)
BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Top:
    """A venue's best bid/ask (quote per base) and their sizes (base), from its book ticker."""

    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal


@dataclass(frozen=True, slots=True)
class Opportunity:
    """Buy ``qty`` on ``buy_venue`` at ``buy_price`` and sell it on ``sell_venue`` at ``sell_price``; ``edge_bps``
    after both taker fees."""

    buy_venue: str
    sell_venue: str
    buy_price: Decimal
    sell_price: Decimal
    qty: Decimal
    edge_bps: Decimal


class Arbitrage:
    """The ``arbitrage`` kind for one symbol (see the module docstring).

    Attributes:
        venues: the two venues.
        tops: each venue's last book ticker (None before its first).
        inventory: the bot's position per venue (base asset, signed, from its booked fills).
    """

    kind = "arbitrage"

    def __init__(self, cfg: SymbolConfig) -> None:
        self.cfg = cfg
        self.params = p = cfg.strategy.arbitrage
        self.venues: tuple[str, ...] = p.venues
        self.fees = {v: Decimal(str(p.taker_fee_bps[v])) / BPS for v in p.venues}
        self.min_edge_bps = Decimal(str(p.min_edge_bps))
        self.max_quote_age_ns = int(p.max_quote_age_ms * 1_000_000)
        self.tops: dict[str, Top | None] = dict.fromkeys(p.venues)
        self.seen_ns: dict[str, int | None] = dict.fromkeys(p.venues)
        self.inventory: dict[str, Decimal] = dict.fromkeys(p.venues, ZERO)
        self.rules: dict[str, SymbolRulesLite] = {}
        self.home: str | None = None

    # ---- the multi-venue hooks of the core ---------------------------------------------------------------------

    def on_venue_quote(self, venue: str, data: dict[str, Any], now_ns: int) -> bool:
        """A book ticker (``{bid, bid_qty, ask, ask_qty, ...}``) of ``venue`` received at ``now_ns`` (the shell's
        clock); True when its top changed."""
        if venue not in self.tops:
            return False
        self.seen_ns[venue] = now_ns
        top = Top(Decimal(data["bid"]), Decimal(data["bid_qty"]), Decimal(data["ask"]), Decimal(data["ask_qty"]))
        if top == self.tops[venue]:
            return False
        self.tops[venue] = top
        return True

    def set_venue_rules(self, venue: str, rules: SymbolRulesLite) -> None:
        """The symbol's rules on ``venue`` (``get_symbol_rules`` of that venue)."""
        if venue in self.tops:
            self.rules[venue] = rules

    def on_fill(self, venue: str, side: str, qty: Decimal) -> None:
        """One booked fill of the bot's order on ``venue`` (``side`` BUY/SELL, ``qty`` base)."""
        if venue in self.inventory:
            self.inventory[venue] += qty if side == "BUY" else -qty

    # ---- the Strategy protocol -----------------------------------------------------------------------------------

    def on_trade(self, price: float, qty: float, time_ms: int) -> bool:
        return False

    def on_quote(self, market: MarketState) -> None:
        return None  # the tops come through on_venue_quote (every venue's book ticker, this one's included)

    def on_market(self, market: MarketState, position: Decimal, rules: SymbolRulesLite, now_ns: int) -> Quotes | None:
        best = self.opportunity(rules, now_ns)
        if best is None:
            return None
        return Quotes(
            best.buy_price,
            best.sell_price,
            best.qty,
            float(best.buy_price + best.sell_price) / 2,
            taker=True,
            bid_venue=best.buy_venue,
            ask_venue=best.sell_venue,
            pair=True,
        )

    # ---- the decision ----------------------------------------------------------------------------------------------

    def edge_bps(self, buy_venue: str, sell_venue: str) -> Decimal | None:
        """The edge of buying at ``buy_venue``'s ask and selling at ``sell_venue``'s bid after both taker fees (bps of
        the buy price); None before both venues have a book ticker."""
        buy, sell = self.tops[buy_venue], self.tops[sell_venue]
        if buy is None or sell is None or buy.ask <= 0:
            return None
        cost = buy.ask * (1 + self.fees[buy_venue])
        proceeds = sell.bid * (1 - self.fees[sell_venue])
        return (proceeds - cost) / buy.ask * BPS

    def venue_rules(self, venue: str, home_rules: SymbolRulesLite | None = None) -> SymbolRulesLite | None:
        """``venue``'s rules: those set for it, else ``home_rules`` when it is :attr:`home` (or when no home is known:
        a strategy driven outside the core), else None (unknown: not traded)."""
        own = self.rules.get(venue)
        if own is not None:
            return own
        return home_rules if self.home is None or venue == self.home else None

    def fresh(self, venue: str, now_ns: int) -> bool:
        """True when ``venue``'s last book ticker was received at most ``max_quote_age_ms`` before ``now_ns``."""
        seen = self.seen_ns.get(venue)
        return seen is not None and now_ns - seen <= self.max_quote_age_ns

    def opportunity(self, rules: SymbolRulesLite | None = None, now_ns: int | None = None) -> Opportunity | None:
        """The best pair worth trading now (edge above ``min_edge_bps``, size above both venues' minimums, both
        quotes fresh at ``now_ns``; None: no age check), else None. ``rules``: :attr:`home`'s rules."""
        best: Opportunity | None = None
        a, b = self.venues
        limit = self.cfg.max_position_base
        for buy_venue, sell_venue in ((a, b), (b, a)):
            edge = self.edge_bps(buy_venue, sell_venue)
            if edge is None or edge <= self.min_edge_bps or (best is not None and edge <= best.edge_bps):
                continue
            if now_ns is not None and not (self.fresh(buy_venue, now_ns) and self.fresh(sell_venue, now_ns)):
                continue
            buy_rules, sell_rules = self.venue_rules(buy_venue, rules), self.venue_rules(sell_venue, rules)
            if buy_rules is None or sell_rules is None:
                continue
            buy, sell = self.tops[buy_venue], self.tops[sell_venue]
            assert buy is not None and sell is not None
            room = min(limit - self.inventory[buy_venue], limit + self.inventory[sell_venue])
            qty = min(buy.ask_qty, sell.bid_qty, self.cfg.order_qty_base, room)
            qty = _floor_to_both(qty, buy_rules.step_size, sell_rules.step_size)
            if (
                qty <= 0
                or qty < max(buy_rules.min_qty, sell_rules.min_qty)
                or qty * buy.ask < buy_rules.min_notional
                or qty * sell.bid < sell_rules.min_notional
            ):
                continue
            best = Opportunity(buy_venue, sell_venue, buy.ask, sell.bid, qty, edge)
        return best


def _floor_to_both(qty: Decimal, step_a: Decimal, step_b: Decimal) -> Decimal:
    """``qty`` floored to a multiple of both steps (the coarser, when it is a multiple of the finer), else 0."""
    if qty <= 0:
        return ZERO
    coarse, fine = (step_a, step_b) if step_a >= step_b else (step_b, step_a)
    if fine > 0 and coarse % fine:
        return ZERO  # no common grid short of their least common multiple: not worth guessing
    return to_tick(qty, coarse, ROUND_FLOOR)
