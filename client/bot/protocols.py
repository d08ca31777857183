"""What :class:`~.core.BotCore` asks of a strategy plug-in (:class:`Strategy`), and what a strategy trading on
several venues adds (:class:`MultiVenue`); the kinds and their registry are in :mod:`.plugin`.

The protocols live apart from the registry so the registry and the market maker can be compiled (``make compiled``,
:mod:`tradingmcp.compiled`) while ``isinstance(strategy, MultiVenue)`` keeps working: a runtime-checkable protocol
cannot be a compiled class.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite


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
