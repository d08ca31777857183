"""MEXC user data stream: listenKey lifecycle, the private protobuf topics, and exchange-neutral user events.

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-user-data-streams:

1. ``POST /api/v3/userDataStream`` gives a listenKey valid 60 min; ``PUT`` extends it (we do every
   ``listen_key_keepalive_s``, 30 min by default); ``DELETE`` closes it (on ``close``);
2. connect ``<ws_url>?listenKey=<key>`` and SUBSCRIBE ``spot@private.orders.v3.api.pb``,
   ``spot@private.deals.v3.api.pb`` and ``spot@private.account.v3.api.pb``;
3. order and deal pushes are merged into ``OrderEvent`` (with ``last_fill``; see ``merge``), account pushes become
   ``BalanceEvent``.

On a drop the stream reconnects (keeping the key when MEXC still accepts a keepalive, else creating a new one) and
queues ``StreamStatus("reconnecting")``: MEXC does not replay what was pushed meanwhile, so re-read open orders and
balances on that notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from tradingmcp.server.exchanges.errors import ExchangeError, ExchangeUnavailable
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.mexc import control, parse
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.server.exchanges.mexc.connection import MexcStream
from tradingmcp.server.exchanges.mexc.merge import FillMerger
from tradingmcp.server.exchanges.mexc.rest import MexcRestClient
from tradingmcp.server.exchanges.models import Order, OrderEvent, StreamStatus, UserEvent
from tradingmcp.server.exchanges.tasks import cancel_and_wait
from tradingmcp.server.exchanges.wire import encode_query

log = logging.getLogger(__name__)

PRIVATE_TOPICS = [control.PRIVATE_ORDERS_TOPIC, control.PRIVATE_DEALS_TOPIC, control.PRIVATE_ACCOUNT_TOPIC]
"""The three private topics subscribed on the listenKey connection."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class UserDataStream:
    """The account's order/balance updates, fed into ``events`` until closed.

    Args:
        rest: signed REST client (listenKey endpoints).
        config: ``ws_url``, keepalive period, merge window, reconnect pauses.
        events: where OrderEvent/BalanceEvent and StreamStatus notices go.

    Attributes:
        listen_key: the key in use (None before the first connect and after ``close``).
        connects: successful (re)subscriptions so far.
        merger: the order/deal pairing state.
    """

    def __init__(
        self,
        rest: MexcRestClient,
        config: MexcConfig,
        events: EventQueue[UserEvent],
    ) -> None:
        self.rest = rest
        self.config = config
        self.events = events
        self.listen_key: str | None = None
        self.connects = 0
        self.merger = FillMerger(config.fill_merge_window_ms)
        self._stream: MexcStream | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._flush: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"UserDataStream(connects={self.connects}, open={self._stream is not None and self._stream.is_open})"

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start (once) and wait until the private topics are subscribed.

        Raises:
            TimeoutError: not subscribed within ``timeout_s`` (the stream keeps trying in the background).
        """
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name="mexc-user-data"),
                asyncio.create_task(self._keepalive(), name="mexc-listen-key-keepalive"),
            ]
        async with asyncio.timeout(timeout_s):
            await self._subscribed.wait()

    def remember(self, order: Order) -> None:
        """Let the merger know an order placed over REST (to describe a deal whose order push is late)."""
        self.merger.remember(order)

    # --- connection loop ------------------------------------------------------------------------------------------
    async def _connect(self) -> MexcStream:
        if self.listen_key is None:
            self.listen_key = await self.rest.create_listen_key()
        else:
            try:
                await self.rest.keepalive_listen_key(self.listen_key)
            except ExchangeError:
                self.listen_key = await self.rest.create_listen_key()  # expired or closed by MEXC: start afresh
        sep = "&" if "?" in self.config.ws_url else "?"
        stream = MexcStream(
            f"{self.config.ws_url}{sep}{encode_query([('listenKey', self.listen_key)])}",
            ping_interval_s=self.config.ping_interval_s,
            ack_timeout_s=self.config.ws_ack_timeout_s,
            open_timeout_s=self.config.request_timeout_s,
        )
        await stream.open()
        try:
            await stream.subscribe(PRIVATE_TOPICS)
        except BaseException:
            await stream.close()
            raise
        return stream

    async def _run(self) -> None:
        delay = self.config.reconnect_delay_s
        while True:
            try:
                self._stream = await self._connect()
            except (ExchangeError, control.ControlError) as exc:
                self.events.put(StreamStatus("reconnecting", f"user data: {exc}", time_ms=_now_ms()))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.max_reconnect_delay_s)
                continue
            delay = self.config.reconnect_delay_s
            self.connects += 1
            self._subscribed.set()
            self.events.put(StreamStatus("connected", "user data stream subscribed", time_ms=_now_ms()))
            try:
                async for push in self._stream:
                    self._on_push(push)
                reason = "stream ended"
            except ExchangeUnavailable as exc:
                reason = str(exc)
            await self._stream.close()
            self._stream = None
            self._emit(self.merger.expire(2**62))  # nothing more will pair up with what waits
            self.events.put(
                StreamStatus(
                    "reconnecting", f"user data: {reason}; re-read open orders and balances", time_ms=_now_ms()
                )
            )
            await asyncio.sleep(delay)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.config.listen_key_keepalive_s)
            if self.listen_key is None:
                continue
            try:
                await self.rest.keepalive_listen_key(self.listen_key)
            except ExchangeError as exc:
                log.warning("listenKey keepalive failed (%s): reconnecting with a new key", type(exc).__name__)
                self.listen_key = None
                if self._stream is not None:
                    await self._stream.close()  # the run loop reconnects with a new key

    # --- pushes ---------------------------------------------------------------------------------------------------
    def _on_push(self, push: parse.Push) -> None:
        now = _now_ms()
        try:
            if push.kind == "privateOrders":
                self._emit(self.merger.on_order(parse.private_order(push), now))
            elif push.kind == "privateDeals":
                self._emit(self.merger.on_deal(parse.private_deal(push), now, push.body.clientOrderId))
            elif push.kind == "privateAccount":
                self.events.put(parse.private_account(push))
        except (parse.PushDecodeError, ValueError) as exc:
            log.warning("unreadable private push on %s: %s", push.channel, exc)
        self._schedule_flush()

    def _emit(self, events: list[OrderEvent]) -> None:
        for event in events:
            self.events.put(event)

    def _schedule_flush(self) -> None:
        deadline = self.merger.next_deadline_ms
        if deadline is None or self._flush is not None:
            return
        delay_s = max(0.0, (deadline - _now_ms()) / 1000)
        self._flush = asyncio.get_running_loop().call_later(delay_s, self._on_flush)

    def _on_flush(self) -> None:
        self._flush = None
        self._emit(self.merger.expire(_now_ms()))
        self._schedule_flush()

    # --- lifecycle ------------------------------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop, close the connection and the listenKey (``DELETE``, best effort); idempotent."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self._stream is not None:
            await self._stream.close()
            self._stream = None
        self._emit(self.merger.expire(2**62))
        if self.listen_key is not None:
            with contextlib.suppress(ExchangeError):
                await self.rest.close_listen_key(self.listen_key)
            self.listen_key = None
