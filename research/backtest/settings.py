"""What a backtest run takes and leaves: :class:`BacktestParams` (how to replay) and :class:`BacktestResult` (the
bot's core and the run's counts), with the simulated account's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradingmcp.client.bot.core import BotCore
from tradingmcp.research.backtest.alerts import ReplayAlert

__all__ = ["DEFAULT_BALANCES", "RUN_ID", "BacktestParams", "BacktestResult"]

DEFAULT_BALANCES = {"USDT": "10000", "BTC": "1", "ETH": "10"}
"""The simulated account's starting balances (the simulator's defaults)."""

RUN_ID = "0"
"""The bot's run id in client order ids (fixed, so two runs name their orders alike)."""


@dataclass(frozen=True)
class BacktestParams:
    """How to replay.

    Attributes:
        latency_ms: one-way delay bot ↔ exchange (ms of simulated time; 0 = answers at once).
        maker_fee / taker_fee: commission rates as fractions (0.001 = 0.1 %, Binance's base rate).
        balances: starting balance per asset of the simulated account (decimal strings).
        start_ms / end_ms: exchange-time window shown to the bot (epoch ms; None = from the start / to the end).
        turn_us: receive-time gap (µs) below which market events form one event-loop turn whose messages the bot
            conflates (see :mod:`.engine`); 0 = no conflation.
        mexc_offset_bps: a replayed MEXC venue (not ``[connection] exchange``) moves every price by this many basis
            points, as ``serve --mexc-offset-bps`` does (0: the same prices as Binance).
        alerts: TradingView alerts to hand the bot at their times (:mod:`.alerts`; empty: none).
    """

    latency_ms: float = 0.0
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    balances: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    start_ms: int | None = None
    end_ms: int | None = None
    turn_us: float = 0.0
    mexc_offset_bps: float = 0.0
    alerts: tuple[ReplayAlert, ...] = ()


@dataclass
class BacktestResult:
    """What a finished run leaves: the bot's core (ledger, equity samples, order counters), the accounts' start and
    end balances (summed over the venues; per venue in ``venue_balances``: ``{venue: (start, end)}``), counts, and
    the exchange-time span shown to the bot (ms)."""

    core: BotCore
    start_balances: dict[str, Decimal]
    end_balances: dict[str, Decimal]
    market_events: int
    bot_messages: int
    actions: int
    first_ms: int
    last_ms: int
    conflated: int = 0
    venue_balances: dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]] = field(default_factory=dict)
    alerts_delivered: int = 0
