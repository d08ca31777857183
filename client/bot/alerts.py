"""Trading on outside alerts (sans-I/O): ``kind = "signals"``, parameters :class:`.params.SignalsParams`
(``[strategy.signals]``).

The server's TradingView webhook (``POST /webhooks/tradingview`` with ``action = "signal"``) publishes every accepted
alert on a lossless push stream, ``signals:tradingview`` by default, as ``{source, alert_id, symbol, side, quantity,
price, exchange, time, received_ms, alert}`` (``side``: ``BUY``/``SELL`` or None; ``alert``: the posted fields without
the secret). The bot subscribes to the stream of its ``signals`` symbols and the core hands each message to the
strategy of the alert's symbol (:meth:`AlertStrategy.on_alert`), which turns it into a target position:

- ``buy`` / ``long`` → long ``size``; ``sell`` / ``short`` → flat, or short ``−size`` with ``allow_short``;
  ``flat`` / ``close`` / ``exit`` → flat. The word is the alert's ``action`` field (``{{strategy.order.action}}`` or
  ``{{strategy.market_position}}``), else the server's ``side``.
- ``size``: the alert's quantity (base asset) when it has one and ``use_quantity``, capped at ``max_position_base``;
  else ``max_position_base``.

An alert is ignored (and counted in :attr:`AlertStrategy.ignored`) when it is of another stream (``stream``), another
symbol (``symbol``), has no known action (``action``), repeats an alert id already seen (``duplicate``; the server
drops repeats within its own window, a resumed stream could still bring one again) or is older than ``max_age_s``
(``stale``: the bot's wall clock against the server's ``received_ms``). Orders toward the target are
:func:`.targets.toward`'s, as for the momentum strategy (LIMIT IOC at the touch, or LIMIT_MAKER).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from tradingmcp.client.bot.config import SymbolConfig
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import Quotes, SymbolRulesLite
from tradingmcp.client.bot.targets import toward

ZERO = Decimal(0)
SEEN_IDS = 4096
"""Alert ids remembered for the duplicate check (the oldest are forgotten first)."""
DIRECTIONS = {"buy": 1, "long": 1, "sell": -1, "short": -1, "flat": 0, "close": 0, "exit": 0}
"""Alert action words (lower case) → direction of the target: +1 long, −1 short (flat without ``allow_short``), 0."""


@runtime_checkable
class AlertConsumer(Protocol):
    """What a strategy that trades on alerts adds to :class:`.plugin.Strategy`: the core gives it every message of a
    ``signals:`` stream about its symbol."""

    stream: str

    def on_alert(self, stream: str, data: dict[str, Any], wall_ms: int | None) -> bool:
        """One message of the ``signals:`` stream ``stream`` (``wall_ms``: the bot's wall clock, ms since the epoch;
        None: no age check). True when it changed the target (the core then decides at once)."""
        ...


@dataclass(frozen=True, slots=True)
class AlertSignal:
    """One alert as the strategy reads it: ``direction`` +1 (long), −1 (short or flat), 0 (flat); ``quantity`` base
    asset (None: absent); ``received_ms`` server wall clock (None: absent)."""

    alert_id: str
    symbol: str
    direction: int
    quantity: Decimal | None
    received_ms: int | None


def read_signal(data: dict[str, Any]) -> AlertSignal | None:
    """The alert in a ``signals:`` stream message, or None when it names no symbol or no known action."""
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        return None
    fields = data.get("alert")
    word = fields.get("action") if isinstance(fields, dict) else None
    if not isinstance(word, str) or word.strip().lower() not in DIRECTIONS:
        word = data.get("side")
    direction = DIRECTIONS.get(word.strip().lower()) if isinstance(word, str) else None
    if direction is None:
        return None
    quantity: Decimal | None = None
    raw = data.get("quantity")
    if raw is not None:
        try:
            quantity = Decimal(str(raw))
        except InvalidOperation:
            quantity = None
        if quantity is not None and not (quantity.is_finite() and quantity > 0):
            quantity = None
    received = data.get("received_ms")
    received_ms = received if isinstance(received, int) and not isinstance(received, bool) else None
    return AlertSignal(str(data.get("alert_id") or ""), symbol.upper(), direction, quantity, received_ms)


class AlertStrategy:
    """The ``signals`` kind for one symbol (see the module docstring).

    Attributes:
        target_position: the wanted position (base asset, signed); flat until the first alert.
        last: the last alert that set the target (None before).
        ignored: alerts ignored, by reason (``stream``, ``symbol``, ``action``, ``duplicate``, ``stale``).
        accepted: alerts that set the target.
    """

    kind = "signals"

    def __init__(self, cfg: SymbolConfig) -> None:
        self.cfg = cfg
        self.params = p = cfg.strategy.signals
        self.stream = p.stream
        self.taker = p.execution == "taker"
        self.max_age_ms = p.max_age_s * 1000.0
        self.target_position = ZERO
        self.last: AlertSignal | None = None
        self.accepted = 0
        self.ignored: dict[str, int] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _ignore(self, reason: str) -> bool:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1
        return False

    def on_alert(self, stream: str, data: dict[str, Any], wall_ms: int | None) -> bool:
        if stream != self.stream:
            return self._ignore("stream")
        signal = read_signal(data)
        if signal is None:
            return self._ignore("action")
        if signal.symbol != self.cfg.symbol:
            return self._ignore("symbol")
        if signal.alert_id:
            if signal.alert_id in self._seen:
                return self._ignore("duplicate")
            self._seen[signal.alert_id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        if wall_ms is not None and signal.received_ms is not None and wall_ms - signal.received_ms > self.max_age_ms:
            return self._ignore("stale")
        limit = self.cfg.max_position_base
        size = limit
        if self.params.use_quantity and signal.quantity is not None:
            size = min(signal.quantity, limit)
        direction = signal.direction if signal.direction >= 0 or self.params.allow_short else 0
        target = direction * size
        self.accepted += 1
        self.last = signal
        changed = target != self.target_position
        self.target_position = target
        return changed

    # ---- the Strategy protocol -----------------------------------------------------------------------------------

    def on_trade(self, price: float, qty: float, time_ms: int) -> bool:
        return False

    def on_quote(self, market: MarketState) -> None:
        return None

    def on_market(self, market: MarketState, position: Decimal, rules: SymbolRulesLite, now_ns: int) -> Quotes | None:
        return toward(self.target_position, position, market, self.cfg, rules, self.taker)
