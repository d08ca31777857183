"""Bot-side risk limits (sans-I/O), on top of the server's safety checks.

- position: the strategy never quotes a side that could take the position beyond ``max_position_base`` (see
  :mod:`.strategy`); :meth:`RiskGate.allow_place` re-checks it against the *worst case* (every open buy filling).
- max daily loss: once net P&L (realized + unrealized − fees) is below ``−max_daily_loss_quote`` the gate halts for
  good: the bot cancels its quotes and places nothing more.
- order rate: a token bucket of ``order_burst`` actions refilled at ``max_orders_per_s``; cancels are always allowed
  (they only reduce risk) but still consume a token when one is there.
- cooldown: after a rejected action on a symbol, nothing new on it for ``reject_cooldown_ms``.

Times are the caller's monotonic clock in ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradingmcp.client.bot.config import RiskConfig


@dataclass(slots=True)
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate_per_s``; :meth:`take` spends one if available."""

    rate_per_s: float
    capacity: int
    tokens: float = -1.0
    last_ms: float = 0.0

    def available(self, now_ms: float) -> float:
        """The tokens there now (refilled up to ``now_ms``; none spent)."""
        if self.tokens < 0:
            self.tokens, self.last_ms = float(self.capacity), now_ms
        self.tokens = min(float(self.capacity), self.tokens + (now_ms - self.last_ms) * self.rate_per_s / 1000.0)
        self.last_ms = now_ms
        return self.tokens

    def take(self, now_ms: float) -> bool:
        if self.available(now_ms) >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class RiskGate:
    """Decides whether an order action may go out now; counts what it refused (``refusals`` by reason)."""

    config: RiskConfig
    bucket: TokenBucket = field(init=False)
    cooldown_until_ms: dict[str, float] = field(default_factory=dict)
    halted: str | None = None
    refusals: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bucket = TokenBucket(self.config.max_orders_per_s, self.config.order_burst)

    def _refuse(self, reason: str) -> bool:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1
        return False

    def allow_place(self, symbol: str, now_ms: float, worst_position: Decimal, max_position: Decimal) -> bool:
        """May a new order (or a replace) go out on ``symbol``?

        Args:
            worst_position: the signed position if this order and every other open order on its side filled (base).
            max_position: the symbol's limit (base).
        """
        return not self.closed(symbol, now_ms) and self.allow_size(now_ms, worst_position, max_position)

    def closed(self, symbol: str, now_ms: float) -> bool:
        """The first half of :meth:`allow_place`: True (the refusal counted) while trading is halted or ``symbol``
        cools down after a reject, whatever the order."""
        if self.halted is not None:
            return not self._refuse("halted")
        if now_ms < self.cooldown_until_ms.get(symbol, 0.0):
            return not self._refuse("cooldown")
        return False

    def allow_size(self, now_ms: float, worst_position: Decimal, max_position: Decimal) -> bool:
        """The second half of :meth:`allow_place`, once :meth:`closed` said no: the position limit, then a token of
        the order rate limit."""
        if abs(worst_position) > max_position:
            return self._refuse("max_position")
        if not self.bucket.take(now_ms):
            return self._refuse("rate_limit")
        return True

    def allow_cancel(self, now_ms: float) -> bool:
        """Cancels always go out (they only reduce exposure); a token is spent when there is one."""
        self.bucket.take(now_ms)
        return True

    def on_reject(self, symbol: str, now_ms: float) -> None:
        """Start the symbol's cooldown after a rejected action."""
        self.cooldown_until_ms[symbol] = now_ms + self.config.reject_cooldown_ms

    def check_loss(self, net_pnl_quote: Decimal) -> bool:
        """Halt for good when the net P&L breaches the daily loss limit; returns True when (now) halted."""
        if self.halted is None and net_pnl_quote < -self.config.max_daily_loss_quote:
            self.halted = f"max daily loss: net P&L {net_pnl_quote:.4f} < -{self.config.max_daily_loss_quote}"
        return self.halted is not None
