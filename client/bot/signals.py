"""What the signal strategies share (sans-I/O): bars from trades or mids, a target position of −1, 0 or +1 times
``max_position_base``, and the order toward it (:func:`.targets.toward`)."""

from __future__ import annotations

from decimal import Decimal

from tradingmcp.client.bot.bars import Bar, BarBuilder
from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite
from tradingmcp.client.bot.targets import toward


class SignalStrategy:
    """Base of the bar-driven strategies. A subclass sets ``kind`` and implements :meth:`on_bar`, which sets
    ``signal`` (−1 short, 0 flat, +1 long).

    Args:
        cfg: the symbol's config; ``bar_interval_s``, ``bar_source``, ``execution`` come from ``params``.
    """

    kind = "signal"

    def __init__(self, cfg: SymbolConfig, bar_interval_s: float, bar_source: str, execution: str) -> None:
        self.cfg = cfg
        self.bars = BarBuilder(max(1, round(bar_interval_s * 1000)))
        self.from_trades = bar_source == "trades"
        self.taker = execution == "taker"
        self.signal = 0
        self.last_bar: Bar | None = None

    def on_bar(self, bar: Bar) -> None:
        """A closed bar: update the indicators and ``signal``."""
        raise NotImplementedError

    def feed(self, price: float, qty: float, time_ms: int) -> bool:
        """Add one price to the bars; True when a closed bar changed the signal."""
        before = self.signal
        for bar in self.bars.update(price, qty, time_ms):
            self.last_bar = bar
            self.on_bar(bar)
        return self.signal != before

    def on_trade(self, price: float, qty: float, time_ms: int) -> bool:
        return self.feed(price, qty, time_ms) if self.from_trades else False

    def on_quote(self, market: MarketState) -> None:
        if not self.from_trades and market.ready and market.time_ms > 0:
            self.feed((market.bid_f + market.ask_f) / 2, 0.0, market.time_ms)

    def target(self) -> Decimal:
        """The wanted position (base asset, signed)."""
        return self.signal * self.cfg.max_position_base

    def on_market(self, market: MarketState, position: Decimal, rules: SymbolRulesLite, now_ns: int) -> Quotes | None:
        return toward(self.target(), position, market, self.cfg, rules, self.taker)
