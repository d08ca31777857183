"""A venue's own ``book_ticker`` subscriptions: the streams of the symbols it trades, kept whether or not an MCP client
subscribes to them, so that the pre-trade checks price from the stream rather than from REST.

The symbols are those its :class:`~tradingmcp.server.live.tickers.TickerCache` wants (the trading desk wants each
symbol of the safety allow-list at start and any other on its first order). Each is held as a server-internal
subscriber of the hub key ``book_ticker:<exchange>:<SYMBOL>``, the key clients subscribe to, so one exchange
subscription still feeds everybody; the quotes reach the cache through the market bridge, not through this subscriber.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

from tradingmcp.server.live.tickers import TickerCache
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.transport.jsonrpc import JsonRpcError

log = logging.getLogger("tradingmcp.server.markets")


class _Holder:
    """A hub subscriber that only holds its streams: what is published to it is already in the ticker cache."""

    __slots__ = ()

    def send(self, data: bytes) -> None:
        pass

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        pass


class TickerFeed:
    """Holds ``book_ticker:<exchange>:<SYMBOL>`` on ``hub`` for every symbol ``tickers`` wants, from :meth:`start`
    to :meth:`close`.

    Attributes:
        held: the hub keys subscribed now.
    """

    def __init__(self, hub: StreamHub, exchange: str, tickers: TickerCache) -> None:
        self.hub = hub
        self.exchange = exchange
        self.tickers = tickers
        self.held: set[str] = set()
        self._subscriber = _Holder()
        self._tasks: set[asyncio.Task[None]] = set()
        self._remove: Callable[[], None] | None = None

    def key(self, symbol: str) -> str:
        return f"book_ticker:{self.exchange}:{symbol}"

    async def start(self) -> None:
        """Subscribe every symbol wanted so far (returns when each subscription was made or refused), then each one
        wanted later, in the background (idempotent)."""
        if self._remove is not None:
            return
        self._remove = self.tickers.add_listener(self._spawn)
        for symbol in sorted(self.tickers.wanted):
            await self._hold(symbol)

    async def close(self) -> None:
        """Stop following the cache, let subscriptions under way finish, and release every held key."""
        if self._remove is not None:
            self._remove()
            self._remove = None
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for key in sorted(self.held):
            self.held.discard(key)
            try:
                await self.hub.unsubscribe(self._subscriber, key)
            except Exception:  # shutting down: release the others anyway
                log.exception("releasing %s failed", key)

    def _spawn(self, symbol: str) -> None:
        task = asyncio.get_running_loop().create_task(self._hold(symbol))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hold(self, symbol: str) -> None:
        key = self.key(symbol)
        if key in self.held:
            return
        try:
            await self.hub.subscribe(self._subscriber, key)
        except JsonRpcError as exc:  # e.g. an allow-listed symbol this exchange does not list: REST prices it
            log.warning("%s: no stream of its own for %s: %s", self.exchange, symbol, exc.message)
            return
        self.held.add(key)


__all__ = ["TickerFeed"]
