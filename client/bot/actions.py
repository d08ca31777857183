"""What the bot's core hands out and records (plain data, no logic beyond formatting): the :class:`Action` to send as a
tool call, the :class:`Tick` that triggered it, the :class:`LatencySample` of an acknowledged action and the
:class:`EquityPoint` P&L samples. Times are ``time.perf_counter_ns`` (ns) or exchange ms, as named."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

ActionKind = Literal["place", "replace", "cancel"]


def plain(d: Decimal) -> str:
    """A decimal as a plain string (no exponent, no trailing zeros)."""
    text = format(d.normalize(), "f")
    return text if text != "-0" else "0"


@dataclass(slots=True)
class Tick:
    """The pushed message that triggered a decision: its stream ``kind``, ``update_id`` (book ticker ``u`` / book
    ``last_update_id``), the exchange time ``time_ms``, and when the bot received it and decided (``perf_counter_ns``)."""

    kind: str
    symbol: str
    update_id: int | None
    time_ms: int
    recv_ns: int
    decide_ns: int = 0


@dataclass(slots=True)
class Action:
    """An order action for the shell to send. ``client_order_id`` is the new order's id (place/replace) or the id of
    the order to cancel; ``old_client_order_id`` the order a replace cancels. ``taker``: the order is a LIMIT IOC
    (takes liquidity up to ``price``, the rest expires) instead of a LIMIT_MAKER. ``exchange``: the venue it goes to
    (None: the bot's ``[connection] exchange``)."""

    kind: ActionKind
    symbol: str
    side: str
    client_order_id: str
    price: Decimal | None = None
    qty: Decimal | None = None
    old_client_order_id: str | None = None
    tick: Tick | None = None
    sent_ns: int = 0
    attempts: int = 0
    taker: bool = False
    exchange: str | None = None

    def tool_call(self, exchange: str) -> tuple[str, dict[str, Any]]:
        """``(tool name, arguments)`` following the trading tools' contract, on the action's own ``exchange`` or
        else on ``exchange``."""
        exchange = self.exchange or exchange
        if self.kind == "cancel":
            return "cancel_order", {
                "symbol": self.symbol,
                "client_order_id": self.client_order_id,
                "exchange": exchange,
            }
        assert self.price is not None and self.qty is not None
        args: dict[str, Any] = {
            "symbol": self.symbol,
            "side": self.side,
            "type": "LIMIT_MAKER",
            "quantity": plain(self.qty),
            "price": plain(self.price),
            "exchange": exchange,
        }
        if self.taker:
            args["type"], args["time_in_force"] = "LIMIT", "IOC"
        if self.kind == "place":
            return "place_order", {**args, "client_order_id": self.client_order_id}
        return "replace_order", {
            **args,
            "client_order_id": self.old_client_order_id,
            "new_client_order_id": self.client_order_id,
        }


@dataclass(slots=True)
class LatencySample:
    """One acknowledged order action: tick received → decision → acknowledged (``perf_counter_ns``). ``update_id``
    and ``tick_kind`` name the message decided on (:class:`Tick`: a book ticker's ``u`` or a book's
    ``last_update_id``; the two share the venue's order-book update ids, so only both together identify it)."""

    kind: str
    symbol: str
    update_id: int | None
    recv_ns: int
    decide_ns: int
    sent_ns: int
    ack_ns: int
    client_order_id: str = ""
    tick_kind: str = ""

    @property
    def tick_to_decision_us(self) -> float:
        return (self.decide_ns - self.recv_ns) / 1000

    @property
    def decision_to_ack_us(self) -> float:
        return (self.ack_ns - self.decide_ns) / 1000

    @property
    def tick_to_ack_us(self) -> float:
        return (self.ack_ns - self.recv_ns) / 1000


@dataclass
class EquityPoint:
    """A sample of the bot's P&L (quote) at exchange time ``time_ms``; ``prices`` and ``positions`` per symbol."""

    time_ms: int
    net_pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    prices: dict[str, Decimal | None]
    positions: dict[str, Decimal]
