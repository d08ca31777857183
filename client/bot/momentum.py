"""Trend following on an EMA cross of bar closes (sans-I/O): long while the fast EMA is above the slow one, else flat
(or short with ``allow_short``). Parameters: :class:`.params.MomentumParams` (``[strategy.momentum]``). The EMAs are
:mod:`tradingmcp.research.indicators.incremental`'s, equal to TA-Lib's ``EMA`` on the same closes."""

from __future__ import annotations

from tradingmcp.client.bot.bars import Bar
from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.signals import SignalStrategy
from tradingmcp.research.indicators.incremental import EMA


class Momentum(SignalStrategy):
    """The ``momentum`` kind for one symbol. ``fast`` / ``slow``: the EMAs (their ``value`` is None until they have
    their period of bars; no position is taken before)."""

    kind = "momentum"

    def __init__(self, cfg: SymbolConfig) -> None:
        p = cfg.strategy.momentum
        super().__init__(cfg, p.bar_interval_s, p.bar_source, p.execution)
        self.params = p
        self.fast = EMA(p.fast_period)
        self.slow = EMA(p.slow_period)

    def on_bar(self, bar: Bar) -> None:
        fast = self.fast.update(bar.close)
        slow = self.slow.update(bar.close)
        if fast is None or slow is None:
            return
        self.signal = 1 if fast > slow else (-1 if self.params.allow_short else 0)
