"""The bot's decision warmer: while the loop busy-polls, re-run the pure steps of a decision for every quoted symbol.

Between two decisions the rest of the bot's work evicts the decision path from the CPU caches, and the next decision
pays for it (the decision hop of ``bench ticktotrade``). Each run applies the symbol's last book ticker again,
from its wire strings, to a scratch copy of its market (:func:`rehearse`: the book-ticker parse), computes the quotes (the symbol's strategy plug-in,
:meth:`~tradingmcp.client.bot.plugin.Strategy.on_market`, which changes no state) and the order's tool arguments
(:meth:`~tradingmcp.client.bot.actions.Action.tool_call`): the functions a decision runs. Nothing is tracked, counted
or sent; nothing runs while paused, stopping or while an action waits for its answer (the answer is due, and the path
was just run).

It reads only the core's public state (``busy_actions()``, ``markets``, ``rules``, ``ledger``, ``strategies``,
``paused``, ``stopping``) and :attr:`MarketState.book_ticker_wire
<tradingmcp.client.bot.market.MarketState.book_ticker_wire>`. :func:`tradingmcp.perf.attach_bot` runs
:meth:`DecisionWarmer.warm` from the busy-poll spin (``bot --busy-poll``).
"""

from __future__ import annotations

import dataclasses

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.core import BotCore
from tradingmcp.client.bot.market import MarketState

WARM_CLIENT_ID = "warm-never-sent"
"""The client order id of the actions the warmer builds (they are never sent)."""

_PUBLIC_FIELDS = tuple(f.name for f in dataclasses.fields(MarketState) if f.init and not f.name.startswith("_"))


def rehearse(market: MarketState) -> MarketState:
    """A scratch copy of ``market`` with its last book ticker applied again from the wire strings (the parse a new
    ticker costs); equal to ``market``, which is not touched."""
    scratch = MarketState(**{name: getattr(market, name) for name in _PUBLIC_FIELDS})
    bid, bid_qty, ask, ask_qty = market.book_ticker_wire
    if bid:
        again = {"bid": bid, "bid_qty": bid_qty, "ask": ask, "ask_qty": ask_qty, "update_id": market.update_id}
        scratch.on_book_ticker(again)
    return scratch


class DecisionWarmer:
    """Re-runs ``core``'s decision steps on scratch state (see the module docstring).

    Attributes:
        runs: :meth:`warm` calls that were not held off.
    """

    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.runs = 0

    def warm(self) -> None:
        """One run over every quoted symbol; nothing while paused, stopping or an action is in flight."""
        core = self.core
        if core.paused or core.stopping or core.busy_actions():
            return
        for symbol, market in core.markets.items():
            rules = core.rules.get(symbol)
            if rules is None or not market.ready:
                continue
            strategy = core.strategies[symbol]
            quotes = strategy.on_market(rehearse(market), core.ledger.position(symbol), rules, 0)
            if quotes is not None:
                for side, price in (("BUY", quotes.bid), ("SELL", quotes.ask)):
                    if price is not None:
                        action = Action("place", symbol, side, WARM_CLIENT_ID, price, quotes.qty, taker=quotes.taker)
                        action.tool_call("")
        self.runs += 1
