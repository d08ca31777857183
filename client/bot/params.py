"""The parameters of the bot's signal strategies, with units and defaults (plain frozen dataclasses, no logic beyond
checking their own values). The market maker's parameters are the fields of :class:`.config.StrategyConfig` itself;
``[strategy] kind`` picks the strategy (:data:`STRATEGY_KINDS`), and each other kind reads its own sub-table
(``[strategy.momentum]``, ``[strategy.mean_reversion]``, ``[strategy.arbitrage]``, ``[strategy.signals]``). See
``bot.example.toml`` for every key.

Both signal strategies decide on bars of ``bar_interval_s`` seconds of exchange time, built from the trades stream
(``bar_source = "trades"``: the last trade price of the bar is its close) or from the book ticker's mid
(``"mid"``). Their signal is a *target position*: ``+max_position_base`` (long), 0 (flat) or ``−max_position_base``
(short, only with ``allow_short``); orders move the position toward it one ``order_qty_base`` at a time, as
``execution = "taker"`` (LIMIT IOC at the opposite touch: takes liquidity, fills at once or expires) or ``"maker"``
(LIMIT_MAKER at the own touch, re-quoted as the touch moves, like the market maker's quotes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

STRATEGY_KINDS = ("market_making", "momentum", "mean_reversion", "arbitrage", "signals")
"""The values of ``[strategy] kind``."""
BAR_SOURCES = ("trades", "mid")
EXECUTIONS = ("taker", "maker")
SIGNALS = ("bollinger", "rsi", "both")


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{key}: {value!r} is not one of {', '.join(allowed)}")


def _bars(bar_interval_s: float, bar_source: str, execution: str) -> None:
    if not math.isfinite(bar_interval_s) or bar_interval_s < 0.001:
        raise ValueError(f"bar_interval_s: must be at least 0.001 s, got {bar_interval_s!r}")
    _one_of("bar_source", bar_source, BAR_SOURCES)
    _one_of("execution", execution, EXECUTIONS)


def _period(key: str, value: int) -> None:
    if value < 2:
        raise ValueError(f"{key}: must be at least 2 bars, got {value!r}")


@dataclass(frozen=True)
class MomentumParams:
    """Trend following on an EMA cross (``kind = "momentum"``, table ``[strategy.momentum]``).

    The target is long while the fast EMA of the bar closes is above the slow one, else flat (short with
    ``allow_short``). No target before the slow EMA has ``slow_period`` bars.

    Attributes:
        bar_interval_s: bar length, seconds of exchange time.
        bar_source: ``trades`` (trade prices) or ``mid`` (book ticker mid).
        fast_period: fast EMA length, bars (≥ 2, below ``slow_period``).
        slow_period: slow EMA length, bars.
        allow_short: go short (``−max_position_base``) on a down cross instead of flat.
        execution: ``taker`` (LIMIT IOC at the opposite touch) or ``maker`` (LIMIT_MAKER at the own touch).
    """

    bar_interval_s: float = 5.0
    bar_source: str = "trades"
    fast_period: int = 8
    slow_period: int = 21
    allow_short: bool = False
    execution: str = "taker"

    def check(self) -> None:
        """Raises ValueError (``"<key>: <why>"``) for a value out of range."""
        _bars(self.bar_interval_s, self.bar_source, self.execution)
        _period("fast_period", self.fast_period)
        if self.slow_period <= self.fast_period:
            raise ValueError(f"slow_period: must be above fast_period ({self.slow_period} <= {self.fast_period})")


@dataclass(frozen=True)
class MeanReversionParams:
    """Mean reversion on Bollinger bands and/or RSI (``kind = "mean_reversion"``, table ``[strategy.mean_reversion]``).

    Entry: long when the bar close is below the lower band (``signal = "bollinger"``), the RSI below
    ``rsi_oversold`` (``"rsi"``) or both (``"both"``); short (with ``allow_short``) above the upper band / RSI above
    ``rsi_overbought``, else a long is closed there too. Exit to flat when the close gets back to the middle band
    (the SMA; RSI 50 for ``"rsi"``).

    Attributes:
        bar_interval_s: bar length, seconds of exchange time.
        bar_source: ``trades`` or ``mid``.
        signal: ``bollinger``, ``rsi`` or ``both`` (bands and RSI must agree).
        period: Bollinger SMA length, bars.
        band_k: band distance from the SMA, in population standard deviations.
        rsi_period: RSI length (Wilder), bars.
        rsi_oversold: RSI level (0..100) under which the price counts as oversold.
        rsi_overbought: RSI level above which it counts as overbought.
        allow_short: go short on the upper signal instead of only closing a long.
        execution: ``taker`` or ``maker`` (see :class:`MomentumParams`).
    """

    bar_interval_s: float = 5.0
    bar_source: str = "trades"
    signal: str = "bollinger"
    period: int = 20
    band_k: float = 2.0
    rsi_period: int = 14
    rsi_oversold: float = 30.0
    rsi_overbought: float = 70.0
    allow_short: bool = False
    execution: str = "taker"

    def check(self) -> None:
        """Raises ValueError (``"<key>: <why>"``) for a value out of range."""
        _bars(self.bar_interval_s, self.bar_source, self.execution)
        _one_of("signal", self.signal, SIGNALS)
        _period("period", self.period)
        _period("rsi_period", self.rsi_period)
        if not (math.isfinite(self.band_k) and self.band_k > 0):
            raise ValueError(f"band_k: must be a positive number of standard deviations, got {self.band_k!r}")
        if not 0 < self.rsi_oversold < self.rsi_overbought < 100:
            raise ValueError(
                f"rsi_oversold: need 0 < rsi_oversold < rsi_overbought < 100, got {self.rsi_oversold!r} and "
                f"{self.rsi_overbought!r}"
            )


VENUES = ("binance", "mexc", "bybit")
"""The venue names an arbitrage may pair (the server's ``exchange`` values)."""


@dataclass(frozen=True)
class ArbitrageParams:
    """Cross-venue arbitrage of one symbol (``kind = "arbitrage"``, table ``[strategy.arbitrage]``): buy on one venue
    at its best ask and sell on the other at its best bid, both at once as LIMIT IOC, when that earns more than
    ``min_edge_bps`` after both venues' taker fees (see :mod:`tradingmcp.client.bot.arbitrage`).

    Attributes:
        venues: the two venues (server ``exchange`` names); ``[connection] exchange`` must be one of them.
        min_edge_bps: least edge to trade, basis points of the buy price, after fees:
            ``(bid_sell × (1 − fee_sell) − ask_buy × (1 + fee_buy)) / ask_buy × 10⁴ > min_edge_bps``.
        taker_fee_bps: taker fee per venue, basis points (default 10 on both: the simulator's and Binance's base
            rate; MEXC's spot taker rate is 5).
        max_quote_age_ms: a pair is traded only while both venues' last book tickers were received at most this many
            milliseconds ago (the bot's clock): a venue whose stream stalled is not traded on a stale price. Book tickers
            are pushed on change only, so a calm symbol's quote ages too: set it above the quiet gaps of the symbol.
    """

    venues: tuple[str, ...] = ("binance", "mexc")
    min_edge_bps: float = 5.0
    taker_fee_bps: Mapping[str, float] = field(default_factory=lambda: {"binance": 10.0, "mexc": 10.0})
    max_quote_age_ms: float = 1000.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "venues", tuple(self.venues))  # a TOML array arrives as a list

    def check(self) -> None:
        """Raises ValueError (``"<key>: <why>"``) for a value out of range."""
        if len(self.venues) != 2 or self.venues[0] == self.venues[1]:
            raise ValueError(f"venues: two different venues expected, got {list(self.venues)!r}")
        for venue in self.venues:
            _one_of("venues", venue, VENUES)
        if not (math.isfinite(self.min_edge_bps) and self.min_edge_bps >= 0):
            raise ValueError(f"min_edge_bps: must be a number of basis points >= 0, got {self.min_edge_bps!r}")
        if not (math.isfinite(self.max_quote_age_ms) and self.max_quote_age_ms > 0):
            raise ValueError(
                f"max_quote_age_ms: must be a positive number of milliseconds, got {self.max_quote_age_ms!r}"
            )
        if not isinstance(self.taker_fee_bps, Mapping) or set(self.taker_fee_bps) != set(self.venues):
            raise ValueError(f"taker_fee_bps: one fee per venue expected ({', '.join(self.venues)} = <bps>)")
        for venue, fee in self.taker_fee_bps.items():
            if isinstance(fee, bool) or not isinstance(fee, int | float) or not 0 <= fee < 10_000:
                raise ValueError(f"taker_fee_bps: {venue} = {fee!r} is not a fee in basis points (0 to 10000)")


@dataclass(frozen=True)
class SignalsParams:
    """Trading on outside alerts (``kind = "signals"``, table ``[strategy.signals]``): the bot subscribes to the push
    stream ``stream`` (the server's TradingView webhook publishes there, ``POST /webhooks/tradingview``) and each alert
    of the symbol sets its target position (see :mod:`tradingmcp.client.bot.alerts`), which it trades toward like the
    momentum strategy.

    Attributes:
        stream: the push stream of the alerts (``signals:<name>``; the server's default is ``signals:tradingview``).
        max_age_s: an alert the server received more than this many seconds ago (bot wall clock against the alert's
            ``received_ms``) is ignored: a resumed stream may deliver old alerts after an outage.
        allow_short: ``sell`` goes short (``−size``) instead of flat.
        use_quantity: the alert's quantity (``contracts``), when it has one, is the size of the target position
            (base asset, capped at ``max_position_base``); else every position is ``max_position_base``.
        execution: ``taker`` (LIMIT IOC at the opposite touch) or ``maker`` (LIMIT_MAKER at the own touch).
    """

    stream: str = "signals:tradingview"
    max_age_s: float = 60.0
    allow_short: bool = False
    use_quantity: bool = True
    execution: str = "taker"

    def check(self) -> None:
        """Raises ValueError (``"<key>: <why>"``) for a value out of range."""
        name = self.stream.removeprefix("signals:")
        if not self.stream.startswith("signals:") or not name or ":" in name:
            raise ValueError(f"stream: must be a signals stream key (signals:<name>), got {self.stream!r}")
        if not (math.isfinite(self.max_age_s) and self.max_age_s > 0):
            raise ValueError(f"max_age_s: must be a positive number of seconds, got {self.max_age_s!r}")
        _one_of("execution", self.execution, EXECUTIONS)
