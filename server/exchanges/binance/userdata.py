"""Binance user data stream over the WebSocket API (``userDataStream.subscribe.signature``) via python-binance's
``BinanceSocketManager.user_socket()``, turned into exchange-neutral OrderEvent/BalanceEvent.

Follows "User Data Stream" (https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream): the REST
listenKey endpoints are gone from the Spot Testnet; events arrive on the WS API connection as
``{"subscriptionId": N, "event": {...}}`` and python-binance routes them to the socket's queue.

If the WS API connection drops, the subscription is lost on the exchange side: a ``StreamStatus("reconnecting")``
is queued and the subscription is made again. Events sent while disconnected are NOT replayed by Binance; the
consumer should re-read open orders and balances on that notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from binance import AsyncClient, BinanceSocketManager

from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import StreamStatus, UserEvent

log = logging.getLogger(__name__)


class UserDataStream:
    """Subscribes to the account's user data and feeds ``events`` until closed.

    Args:
        client: python-binance client whose ``ws_api`` points at the WS API endpoint.
        events: where OrderEvent/BalanceEvent and StreamStatus notices go.
        reconnect_delay_s: pause before subscribing again after a failure (s).
    """

    def __init__(self, client: AsyncClient, events: EventQueue[UserEvent], reconnect_delay_s: float = 0.2) -> None:
        self._bsm = BinanceSocketManager(client)
        self.events = events
        self.reconnect_delay_s = reconnect_delay_s
        self.subscriptions = 0
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closing = False

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start the stream and wait until the first subscription is acknowledged.

        Raises:
            TimeoutError: no subscription within ``timeout_s``.
        """
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="binance-user-data")
        async with asyncio.timeout(timeout_s):
            await self._subscribed.wait()

    async def _run(self) -> None:
        while not self._closing:
            reason = "subscription ended"
            try:
                sock: Any = self._bsm.user_socket()
                async with sock:
                    self.subscriptions += 1
                    self._subscribed.set()
                    self.events.put(StreamStatus("connected", "user data stream subscribed"))
                    while not self._closing:
                        msg = await sock.recv()
                        if isinstance(msg, dict) and msg.get("e") == "error":
                            reason = f"{msg.get('type')}: {msg.get('m')}"
                            break
                        if isinstance(msg, dict):
                            self._on_event(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("user data stream failed: %s", reason)
            if self._closing:
                break
            self.events.put(StreamStatus("reconnecting", f"{reason}; re-read open orders and balances"))
            await asyncio.sleep(self.reconnect_delay_s)

    def _on_event(self, msg: dict[str, Any]) -> None:
        try:
            event = parse.user_event(msg)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("unreadable user data event %s: %s", msg.get("e"), exc)
            return
        if event is not None:
            self.events.put(event)

    async def close(self) -> None:
        """Unsubscribe and stop."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
