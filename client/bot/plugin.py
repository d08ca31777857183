"""The strategy plug-in interface of the bot's core, and the registry of strategy kinds (sans-I/O).

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
from typing import Any, Protocol, runtime_checkable

from tradingmcp.client.bot.alerts import AlertStrategy
from tradingmcp.client.bot.arbitrage import Arbitrage
from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.mean_reversion import MeanReversion
from tradingmcp.client.bot.momentum import Momentum
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite, target_quotes


class Strategy(Protocol):
    """What the core asks of a strategy (one instance per symbol; it keeps its own indicator state)."""

    kind: str

    def on_trade(self, price: float, qty: float, time_ms: int) -> bool:
        """A trade of the symbol (price quote asset, qty base, exchange time ms); True when the wanted quotes may
        have changed (the core then decides at once)."""
        ...

    def on_quote(self, market: MarketState) -> None:
        """The best bid/ask changed (``market`` is already updated); the core decides right after."""
        ...

    def on_market(self, market: MarketState, position: Decimal, rules: SymbolRulesLite, now_ns: int) -> Quotes | None:
        """The quotes wanted now, or None when the strategy cannot tell yet (the core then changes nothing). Changes
        no state (the busy-poll decision warmer calls it on scratch copies between decisions).

        Args:
            market: the symbol's pushed market state.
            position: the bot's net position (base asset, signed, from its own fills).
            rules: tick size, step size, minimums.
            now_ns: the shell's monotonic clock (``perf_counter_ns``; a backtest passes its own clock).
        """
        ...


@runtime_checkable
class MultiVenue(Protocol):
    """What a strategy trading one symbol on several venues adds to :class:`Strategy`."""

    venues: tuple[str, ...]
    home: str | None
    """The venue whose symbol rules come with :meth:`Strategy.on_market` (``[connection] exchange``; set by the core)."""

    def on_venue_quote(self, venue: str, data: dict[str, Any], now_ns: int) -> bool:
        """A book ticker of the symbol on ``venue`` (``book_ticker:<venue>:<SYMBOL>`` data) received at ``now_ns``
        (the shell's clock); True when it changed what the strategy knows (the core then decides)."""
        ...

    def set_venue_rules(self, venue: str, rules: SymbolRulesLite) -> None:
        """The symbol's rules on ``venue`` (each venue's own ``get_symbol_rules``)."""
        ...

    def on_fill(self, venue: str, side: str, qty: Decimal) -> None:
        """A booked fill of the bot's order on ``venue`` (``side`` BUY/SELL, ``qty`` base asset)."""
        ...


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
