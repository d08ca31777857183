"""Binance user data stream on the WS API order channel's own connection (:mod:`.wsapi`), turned into
exchange-neutral OrderEvent/BalanceEvent one loop callback after their frame (no task hop).

Follows "User Data Stream" (https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream) and the WS API
request ``userDataStream.subscribe.signature`` (signed like an order: ``apiKey``, ``timestamp``, ``recvWindow``,
``signature``; HMAC or Ed25519/RSA, see :mod:`.signing`): the exchange answers ``{"subscriptionId": N}`` and then
pushes ``{"subscriptionId": N, "event": {...}}`` on the connection that subscribed. The REST listenKey endpoints are
gone from the Spot Testnet.

Why on the order channel: python-binance's ``client.ws_api`` was a second connection whose read loop (one
``asyncio.wait_for`` Task per message, a queue, the socket's own ``recv`` task) ran on the same event loop, slowing
our order replies and delaying every ``executionReport``. Here an event is parsed and put on the adapter's user event
queue in a plain loop callback right after its frame (no task hop; after the order reply read before it has resumed
its caller, see :class:`.wsapi.ChannelSink`), and the subscription request is written first on every new connection
(before any order can be), so no event of an order sent on that connection is missed.

If the connection drops, the subscription is lost on the exchange side: a ``StreamStatus("reconnecting")`` is queued
and the subscription is made again on the next connection (the channel reconnects with backoff). Events sent while
disconnected are NOT replayed by Binance; the consumer should re-read open orders and balances on that notice. A
refused subscription (e.g. a bad signature) is retried with the same backoff; so is ``eventStreamTerminated``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.errors import ExchangeError
from tradingmcp.server.exchanges.binance.wsapi import WsApiChannel, WsApiDown
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import StreamStatus, UserEvent
from tradingmcp.server.exchanges.tasks import cancel_and_wait
from tradingmcp.transport.backoff import backoff

log = logging.getLogger(__name__)

SUBSCRIBE = "userDataStream.subscribe.signature"
UNSUBSCRIBE = "userDataStream.unsubscribe"
RESYNC_HINT = "re-read open orders and balances"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class UserDataStream:
    """Subscribes to the account's user data on ``channel``'s connection (every time it opens) and feeds ``events``.

    It is the channel's :class:`~tradingmcp.server.exchanges.binance.wsapi.ChannelSink` from :meth:`start` until
    :meth:`close`.

    Args:
        channel: the WS API order channel (signs with the account's key; started here if it was not).
        events: where OrderEvent/BalanceEvent and StreamStatus notices go (put from a loop callback).
        retry_base_s, retry_max_s: backoff before subscribing again after a refusal (s), see
            :func:`~tradingmcp.server.exchanges.binance.wsapi.reconnect_delay_s`.

    Attributes:
        subscriptions: subscriptions acknowledged so far (one per connection, more after refusals).
        subscription_id: the live subscription's ``subscriptionId``, None while not subscribed.
        events_received: user data events received (every ``event`` push, parsed or not).
    """

    def __init__(
        self,
        channel: WsApiChannel,
        events: EventQueue[UserEvent],
        retry_base_s: float = 0.2,
        retry_max_s: float = 30.0,
    ) -> None:
        self.channel = channel
        self.events = events
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.subscriptions = 0
        self.subscription_id: int | None = None
        self.events_received = 0
        self._subscribed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures = 0
        self._retry_delays = backoff(retry_base_s, 2.0, retry_max_s)
        self._started = False
        self._closing = False

    async def start(self, timeout_s: float = 10.0) -> None:
        """Attach to the channel (starting it if needed) and wait until a subscription is acknowledged.

        Raises:
            TimeoutError: no subscription within ``timeout_s`` (it keeps trying in the background).
        """
        if not self._started:
            self._started = True
            self.channel.sink = self
            if self.channel.connected:
                self.on_open()  # already open: subscribe now (else the channel calls on_open when it opens)
        async with asyncio.timeout(timeout_s):
            if not self.channel.connected:
                await self.channel.start(timeout_s)
            await self._subscribed.wait()

    def start_soon(self, timeout_s: float = 10.0) -> None:
        """:meth:`start` in the background (a subscription not acknowledged within ``timeout_s`` is logged)."""
        self._spawn(self._start_logged(timeout_s))

    async def _start_logged(self, timeout_s: float) -> None:
        try:
            await self.start(timeout_s)
        except TimeoutError:
            log.warning("Binance user data stream not subscribed within %g s; it keeps trying", timeout_s)

    # --- ChannelSink: called by the channel, synchronously -------------------------------------------------------
    def on_open(self) -> None:
        """The channel's connection opened: write the subscription request before anything else."""
        if not self._closing:
            self._subscribe()

    def on_push(self, msg: dict[str, Any]) -> None:
        """``{"subscriptionId", "event"}``: parse the event and queue it (a loop callback right after its frame)."""
        event = msg["event"]
        self.events_received += 1
        try:
            parsed = parse.user_event(event)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            kind = event.get("e") if isinstance(event, dict) else None
            log.warning("unreadable user data event %s: %s", kind, exc)
            return
        if parsed is not None:
            self.events.put(parsed)
        elif event.get("e") == "eventStreamTerminated" and not self._closing:
            self._lost("the exchange ended the user data stream (eventStreamTerminated)")
            self._retry_later()

    def on_lost(self, reason: str) -> None:
        """The connection was lost: the subscription is gone; the next ``on_open`` makes it again."""
        if not self._closing:
            self._lost(reason)

    # --- internals -----------------------------------------------------------------------------------------------
    def _lost(self, reason: str) -> None:
        was_subscribed = self.subscription_id is not None
        self.subscription_id = None
        self._subscribed.clear()
        if was_subscribed or self._failures == 0:
            self.events.put(StreamStatus("reconnecting", f"user data: {reason}; {RESYNC_HINT}", time_ms=_now_ms()))

    def _subscribe(self) -> None:
        try:
            pending = self.channel.send(SUBSCRIBE, {})
        except WsApiDown:
            return  # not open: on_open subscribes when it is
        self._spawn(self._confirm(pending, self.channel.connects))

    async def _confirm(self, pending: Coroutine[Any, Any, Any], connection: int) -> None:
        try:
            result = await pending
            subscription_id = int(result["subscriptionId"])
        except (ExchangeError, KeyError, TypeError, ValueError) as exc:
            if self._closing or connection != self.channel.connects or not self.channel.connected:
                return  # that connection is gone: on_open subscribes on the next one
            reason = f"subscription refused ({type(exc).__name__}: {exc})"
            log.warning("Binance user data stream: %s; retrying", reason)
            if self._failures == 0:  # one notice per outage, not one per retry
                self.events.put(StreamStatus("reconnecting", f"user data: {reason}; {RESYNC_HINT}", time_ms=_now_ms()))
            self._failures += 1
            self._retry_later()
            return
        self._failures = 0
        self._retry_delays = backoff(self.retry_base_s, 2.0, self.retry_max_s)
        self.subscription_id = subscription_id
        self.subscriptions += 1
        self._subscribed.set()
        self.events.put(StreamStatus("connected", "user data stream subscribed", time_ms=_now_ms()))

    def _retry_later(self) -> None:
        """Subscribe again on the same connection after the backoff (the next connection subscribes anyway)."""
        connection = self.channel.connects
        delay_s = next(self._retry_delays)

        async def retry() -> None:
            await asyncio.sleep(delay_s)
            if not self._closing and connection == self.channel.connects and self.subscription_id is None:
                self._subscribe()

        self._spawn(retry())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="binance-user-data")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, timeout_s: float = 1.0) -> None:
        """Unsubscribe (best effort, if the connection is open) and detach from the channel."""
        self._closing = True
        if self.channel.sink is self:
            self.channel.sink = None
        await cancel_and_wait(self._tasks)
        if self.subscription_id is not None and self.channel.connected:
            with contextlib.suppress(ExchangeError, TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self.channel.request(UNSUBSCRIBE, {"subscriptionId": self.subscription_id}, signed=False)
        self.subscription_id = None
        self._subscribed.clear()
