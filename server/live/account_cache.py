"""The asyncio shell around :class:`~tradingmcp.server.live.state.AccountState` for one venue.

Listens to the venue's account events from construction on. Seeds (balances + open orders over REST: Binance
``GET /api/v3/account`` weight 20 and ``GET /api/v3/openOrders`` without a symbol, weight 80) when the user data stream
reports ``connected`` (at startup and after each reconnect), after an ``overflow`` (events were lost) and after a
balance delta; in between, every order and balance event keeps it current without any request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tradingmcp.server.exchanges.models import StreamStatus, UserEvent
from tradingmcp.server.live.state import AccountState
from tradingmcp.server.venues import Venue

log = logging.getLogger("tradingmcp.server.live")


class AccountCache:
    """Balances and open orders of ``venue``'s account, current; ``listeners`` are called after every change.

    Attributes:
        state: the :class:`AccountState`.
        error: why the last seed failed (None when it did not).
        listeners: sync callbacks run after each change (a resource's ``changed``); must not block.
    """

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.state = AccountState()
        self.error: str | None = None
        self.listeners: list[Callable[[], None]] = []
        self.seeds = 0
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.remove_listener = venue.user.add_listener(self.on_event)

    def on_event(self, ev: UserEvent) -> None:
        """Apply one account event (a :class:`UserEventBus` listener)."""
        if isinstance(ev, StreamStatus):
            if ev.state in ("connected", "overflow"):
                self.request_seed()
            elif ev.state == "reconnecting":
                self.state.needs_seed = True
            return
        if self.state.apply(ev):
            self._changed()
        if self.state.needs_seed and not self.state.seeding:
            self.request_seed()

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after each change; returns the function that removes it."""
        self.listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self.listeners.remove(listener)

        return remove

    def request_seed(self) -> None:
        """(Re-)load balances and open orders in the background (coalesced while one load runs)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._seed())

    async def close(self) -> None:
        self.remove_listener()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _seed(self) -> None:
        adapter = self.venue.adapter
        while True:
            self._again = False
            self.state.begin_seed()
            try:
                balances, orders = await asyncio.gather(adapter.balances(), adapter.open_orders())
            except Exception as exc:
                self.state.abort_seed()
                self.error = f"could not load the {self.venue.name} account: {exc}"
                log.warning("%s", self.error)
                return
            self.state.finish_seed(balances, orders)
            self.error = None
            self.seeds += 1
            self._changed()
            if not self._again:
                return

    def _changed(self) -> None:
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:
                log.exception("account listener failed")
