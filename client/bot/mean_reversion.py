"""Mean reversion on Bollinger bands and/or RSI of bar closes (sans-I/O). Parameters:
:class:`.params.MeanReversionParams` (``[strategy.mean_reversion]``).

Per closed bar: *cheap* (close below the lower band / RSI below ``rsi_oversold`` / both) → long; *rich* (above the
upper band / RSI above ``rsi_overbought`` / both) → short with ``allow_short``, else flat; otherwise a long turns flat
once the close is back at or above the middle band (RSI ≥ 50 for ``signal = "rsi"``) and a short once it is at or
below it; else the signal stays. The indicators are :mod:`tradingmcp.research.indicators.incremental`'s, equal to
TA-Lib's ``BBANDS`` and ``RSI`` on the same closes.
"""

from __future__ import annotations

from tradingmcp.client.bot.bars import Bar
from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.signals import SignalStrategy
from tradingmcp.research.indicators.incremental import RSI, Bollinger


class MeanReversion(SignalStrategy):
    """The ``mean_reversion`` kind for one symbol (no position before its indicators have their period of bars)."""

    kind = "mean_reversion"

    def __init__(self, cfg: SymbolConfig) -> None:
        p = cfg.strategy.mean_reversion
        super().__init__(cfg, p.bar_interval_s, p.bar_source, p.execution)
        self.params = p
        self.bands = Bollinger(p.period, p.band_k, p.band_k)
        self.rsi = RSI(p.rsi_period)

    def on_bar(self, bar: Bar) -> None:
        p, x = self.params, bar.close
        bands = self.bands.update(x)
        rsi = self.rsi.update(x)
        use_bands, use_rsi = p.signal != "rsi", p.signal != "bollinger"
        if (use_bands and bands is None) or (use_rsi and rsi is None):
            return
        cheap = rich = True
        if use_bands:
            assert bands is not None
            cheap, rich = x < bands.lower, x > bands.upper
        if use_rsi:
            assert rsi is not None
            cheap, rich = cheap and rsi < p.rsi_oversold, rich and rsi > p.rsi_overbought
        if use_bands:
            assert bands is not None
            above_mid, below_mid = x >= bands.middle, x <= bands.middle
        else:
            assert rsi is not None
            above_mid, below_mid = rsi >= 50.0, rsi <= 50.0
        if cheap:
            self.signal = 1
        elif rich:
            self.signal = -1 if p.allow_short else 0
        elif (self.signal > 0 and above_mid) or (self.signal < 0 and below_mid):
            self.signal = 0
