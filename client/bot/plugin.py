"""The strategy plug-ins of the bot's core: the registry of strategy kinds and the market maker (sans-I/O); the
interface they implement (:class:`Strategy`, :class:`MultiVenue`) is defined in :mod:`.protocols` and exported here.

:class:`~.core.BotCore` makes one :class:`Strategy` per symbol with :func:`make_strategy` (``[strategy] kind``) and
drives it with the symbol's pushed data; whatever the kind, the core keeps the order slots, the risk gate, the ledger
and the reconcile, so every strategy runs the same way live, on the simulator and in a backtest:

- :meth:`Strategy.on_trade` for every trade (``trades:`` stream); True asks the core to decide now;
- :meth:`Strategy.on_quote` whenever the best bid/ask changed (``book_ticker:``), before the core decides;
- :meth:`Strategy.on_market` when the core decides: the wanted quotes (:class:`~.strategy.Quotes`: one price per
  side or None, the size, maker or taker) for the current market and position; the core turns them into place,
  replace and cancel actions for the symbol's two slots.

A strategy that trades on several venues (:class:`MultiVenue`, the ``arbitrage`` kind) also gets every venue's book
ticker (:meth:`MultiVenue.on_venue_quote`), each venue's symbol rules (:meth:`MultiVenue.set_venue_rules`) and every booked fill with its venue (:meth:`MultiVenue.on_fill`); its
quotes name the venue of each side.

A strategy that trades on outside alerts (:class:`~.alerts.AlertConsumer`, the ``signals`` kind) also gets every
message of its ``signals:`` stream about its symbol (:meth:`~.alerts.AlertConsumer.on_alert`).

Kinds: ``market_making`` (:mod:`.strategy`), ``momentum`` (:mod:`.momentum`), ``mean_reversion``
(:mod:`.mean_reversion`), ``arbitrage`` (:mod:`.arbitrage`), ``signals`` (:mod:`.alerts`); their parameters are in
:mod:`.params` and ``bot.example.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tradingmcp.client.bot.alerts import AlertStrategy
from tradingmcp.client.bot.arbitrage import Arbitrage
from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.mean_reversion import MeanReversion
from tradingmcp.client.bot.momentum import Momentum
from tradingmcp.client.bot.protocols import MultiVenue, Strategy
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite, target_quotes

__all__ = ["STRATEGIES", "MarketMaking", "MultiVenue", "Strategy", "make_strategy"]


class MarketMaking:
    """The market maker (:func:`.strategy.target_quotes`) as a plug-in: it quotes on every book change."""

    kind = "market_making"

    def __init__(self, cfg: SymbolConfig) -> None:
        self.cfg = cfg

    def on_trade(self, price: float, qty: float, time_ms: int) -> bool:
        return False

    def on_quote(self, market: MarketState) -> None:
        return None

    def on_market(self, market: MarketState, position: Decimal, rules: SymbolRulesLite, now_ns: int) -> Quotes | None:
        return target_quotes(market, position, self.cfg, rules)


STRATEGIES: dict[str, Callable[[SymbolConfig], Strategy]] = {
    "market_making": MarketMaking,
    "momentum": Momentum,
    "mean_reversion": MeanReversion,
    "arbitrage": Arbitrage,
    "signals": AlertStrategy,
}
"""Strategy kind → constructor (taking the symbol's config)."""


def make_strategy(cfg: SymbolConfig) -> Strategy:
    """The strategy of ``cfg.strategy.kind`` for one symbol.

    Raises:
        ValueError: unknown kind (the config loader refuses it before).
    """
    make = STRATEGIES.get(cfg.strategy.kind)
    if make is None:
        raise ValueError(f"unknown strategy kind {cfg.strategy.kind!r} (known: {', '.join(STRATEGIES)})")
    return make(cfg)
