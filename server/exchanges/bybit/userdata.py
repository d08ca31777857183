"""Bybit private stream: ``auth`` on ``/v5/private``, the ``order``/``execution``/``wallet`` topics, and
exchange-neutral user events.

Follows https://bybit-exchange.github.io/docs/v5/websocket/private/order, /execution, /wallet:

1. connect ``private_ws_url``, send ``{"op": "auth", "args": [api_key, expires, signature]}``;
2. subscribe ``order``, ``execution`` and ``wallet``;
3. an ``execution`` row (a fill) becomes ``OrderEvent(TRADE, last_fill=...)`` whose order state is the latest known
   (from ``order`` pushes) advanced by the fills seen since; ``order`` rows of a new, cancelled or rejected order become
   NEW/CANCELED/REJECTED events at once, and those of a (partially) filled order only update the known state (their
   fills come as ``execution`` rows, in either order); ``wallet`` rows become ``BalanceEvent`` (``free`` =
   ``walletBalance - locked``).

On a drop the stream reconnects and queues ``StreamStatus("reconnecting")``: Bybit does not replay what was pushed
meanwhile, so re-read open orders and balances on that notice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.bybit import parse
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.bybit.errors import bybit_error
from tradingmcp.server.exchanges.bybit.signing import Signer
from tradingmcp.server.exchanges.bybit.streams import BybitSocket, subscribe_all
from tradingmcp.server.exchanges.errors import AuthError, ExchangeError
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import (
    BalanceEvent,
    ExecutionType,
    Fill,
    Order,
    OrderEvent,
    OrderStatus,
    StreamStatus,
    UserEvent,
)
from tradingmcp.server.exchanges.tasks import cancel_and_wait

log = logging.getLogger(__name__)

PRIVATE_TOPICS = ["order", "execution", "wallet"]
AUTH_VALID_MS = 10_000
"""How long an ``auth`` signature stays valid."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class FillTracker:
    """The order state each fill is reported with (sans-I/O; see the module docstring, step 3)."""

    def __init__(self, max_orders: int = 10_000) -> None:
        self.orders: dict[str, Order] = {}
        self._filled: dict[str, tuple[Decimal, Decimal]] = {}
        self._seen_fills: set[tuple[str, str, str]] = set()
        self._max = max_orders

    def remember(self, order: Order) -> None:
        """Record an order's state (a placement answer or an ``order`` push)."""
        old = self.orders.get(str(order.order_id))
        if old is not None and old.executed_qty > order.executed_qty:
            order = dataclasses.replace(order, executed_qty=old.executed_qty,
                                        cumulative_quote_qty=old.cumulative_quote_qty, status=old.status)  # fmt: skip
        if len(self.orders) >= self._max and str(order.order_id) not in self.orders:
            self.orders.pop(next(iter(self.orders)))
        self.orders[str(order.order_id)] = order

    def on_order(self, order: Order, now_ms: int) -> OrderEvent | None:
        """An ``order`` push → the event to emit now (None for a fill state: its ``execution`` row reports it)."""
        self.remember(order)
        kind = parse.EXECUTION_TYPES.get(order.status)
        if kind is None:
            return None
        return OrderEvent(self.orders[str(order.order_id)], kind, order.update_time_ms or now_ms)

    def on_fill(self, fill: Fill, row: dict[str, Any], now_ms: int) -> OrderEvent | None:
        """An ``execution`` row → ``OrderEvent(TRADE)`` (None for a fill already reported: same symbol, order and
        ``execId``)."""
        seen = (fill.symbol, str(fill.order_id), str(fill.trade_id))
        if seen in self._seen_fills:
            return None
        self._seen_fills.add(seen)
        key = str(fill.order_id)
        qty, quote = self._filled.get(key, (Decimal(0), Decimal(0)))
        qty, quote = qty + fill.qty, quote + fill.quote_qty
        self._filled[key] = (qty, quote)
        known = self.orders.get(key)
        if known is None:
            known = parse.order({**row, "qty": row.get("orderQty"), "price": row.get("orderPrice"),
                                 "orderStatus": "PartiallyFilled", "cumExecQty": "0", "cumExecValue": "0",
                                 "createdTime": row.get("execTime"), "updatedTime": row.get("execTime")})  # fmt: skip
        if known.executed_qty < qty:
            done = Decimal(str(row.get("leavesQty") or "1")) == 0
            known = dataclasses.replace(known, executed_qty=qty, cumulative_quote_qty=quote,
                                        status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                                        update_time_ms=fill.time_ms)  # fmt: skip
        self.orders[key] = known
        return OrderEvent(known, ExecutionType.TRADE, fill.time_ms or now_ms, last_fill=fill)


class UserDataStream:
    """The account's order/balance updates, fed into ``events`` until closed.

    Args:
        config: ``private_ws_url``, keys, timeouts, reconnect pauses.
        events: where OrderEvent/BalanceEvent and StreamStatus notices go.
        assets_of: symbol → (base, quote), to name a fill's fee coin when the row has no ``feeCurrency``.
    """

    def __init__(
        self,
        config: BybitConfig,
        events: EventQueue[UserEvent],
        assets_of: Callable[[str], tuple[str, str] | None] = lambda symbol: None,
    ) -> None:
        if not config.has_credentials:
            raise bybit_error(AuthError, None, "the private stream needs an API key and secret")
        self.config = config
        self.events = events
        self.assets_of = assets_of
        self.signer = Signer(config.api_key, config.api_secret, config.recv_window_ms)
        self.tracker = FillTracker()
        self.connects = 0
        self._sock: BybitSocket | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start (once) and wait until the private topics are subscribed.

        Raises:
            TimeoutError: not subscribed in time (it keeps trying in the background).
        """
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="bybit-user-data")
        async with asyncio.timeout(timeout_s):
            await self._subscribed.wait()

    def remember(self, order: Order) -> None:
        """Let the tracker know an order placed over REST."""
        self.tracker.remember(order)

    async def _connect(self) -> BybitSocket:
        cfg = self.config
        sock = BybitSocket(cfg.effective_private_ws_url, self._on_message, ping_interval_s=cfg.ping_interval_s,
                           ack_timeout_s=cfg.ws_ack_timeout_s, open_timeout_s=cfg.request_timeout_s)  # fmt: skip
        await sock.open()
        try:
            answer = await sock.op("auth", self.signer.ws_auth_args(_now_ms() + AUTH_VALID_MS))
            if not answer.get("success"):
                raise bybit_error(AuthError, None, f"Bybit refused the stream auth: {answer.get('ret_msg')}")
            await subscribe_all(sock, PRIVATE_TOPICS)
        except BaseException:
            await sock.close()
            raise
        return sock

    async def _run(self) -> None:
        delay = self.config.reconnect_delay_s
        while True:
            try:
                self._sock = await self._connect()
            except ExchangeError as exc:
                self.events.put(StreamStatus("reconnecting", f"user data: {exc}", time_ms=_now_ms()))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.max_reconnect_delay_s)
                continue
            delay = self.config.reconnect_delay_s
            self.connects += 1
            self._subscribed.set()
            self.events.put(StreamStatus("connected", "user data stream subscribed", time_ms=_now_ms()))
            await self._sock.closed.wait()
            reason = self._sock.close_reason
            await self._sock.close()
            self._sock = None
            self.events.put(StreamStatus("reconnecting", f"user data: {reason}; re-read open orders and balances",
                                         time_ms=_now_ms()))  # fmt: skip
            await asyncio.sleep(delay)

    def _on_message(self, msg: dict[str, Any]) -> None:
        topic = str(msg.get("topic"))
        now = _now_ms()
        rows = msg.get("data") or []
        if topic.startswith("order"):
            for row in rows:
                if row.get("category", "spot") != "spot":
                    continue
                event = self.tracker.on_order(parse.order(row), now)
                if event is not None:
                    self.events.put(event)
        elif topic.startswith("execution"):
            for row in rows:
                if row.get("category", "spot") != "spot" or row.get("execType", "Trade") != "Trade":
                    continue
                fill = parse.fill(row)
                assets = self.assets_of(fill.symbol)
                if assets is not None:
                    fill = parse.with_fee_asset(fill, *assets)
                fill_event = self.tracker.on_fill(fill, row, now)
                if fill_event is not None:
                    self.events.put(fill_event)
        elif topic == "wallet":
            balances = parse.balances(rows, non_zero=False)
            self.events.put(BalanceEvent(int(msg.get("creationTime") or now), tuple(balances)))

    async def close(self) -> None:
        """Stop and close the connection; idempotent."""
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        if self._sock is not None:
            await self._sock.close()
            self._sock = None
