"""Client order ids and duplicate detection: a retried ``place_order`` never creates a second order.

Two layers, per venue:

* in flight: a second call with the same ``client_order_id`` waits until the first one finishes (:meth:`lock`);
* recent: a bounded memory of ids the server placed (:meth:`remember`/:meth:`recall`), so a retry after the first
  call finished is answered with the existing order (queried from the exchange) and ``duplicate: true``.

Binance allows client order ids matching ``^[a-zA-Z0-9-_]{1,36}$``
(https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints, ``newClientOrderId``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass

from tradingmcp.server.mcp.registry import ToolError

CLIENT_ORDER_ID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
PREFIX = "tmcp-"
ALERT_PREFIX = "tv-"
"""The prefix of the client order ids a server derives from a webhook alert's id
(:func:`~tradingmcp.server.webhooks.alerts.client_order_id`). A repeat of an alert may reach another server, or a
trader that took over after a failover, whose memory and journal do not know the id: so the desk always asks the
exchange about such an id before placing it (:func:`asks_exchange`)."""


def asks_exchange(client_order_id: str) -> bool:
    """True for an id the desk looks up at the exchange whatever the configuration says (an alert's)."""
    return client_order_id.startswith(ALERT_PREFIX)


def new_client_order_id() -> str:
    """A fresh id: ``tmcp-`` plus 20 hex characters (25 characters)."""
    return PREFIX + uuid.uuid4().hex[:20]


def check_client_order_id(cid: str, field_name: str = "client_order_id") -> str:
    """``cid`` when it is a valid exchange client order id.

    Raises:
        ToolError: ``invalid_argument`` naming the allowed pattern.
    """
    if not CLIENT_ORDER_ID_RE.fullmatch(cid):
        raise ToolError(
            f"{field_name} {cid!r} is invalid: use 1-36 characters of letters, digits, '-' and '_'",
            "invalid_argument",
            {"field": field_name, "pattern": CLIENT_ORDER_ID_RE.pattern},
        )
    return cid


@dataclass(frozen=True, slots=True)
class Placed:
    """What the server remembers of an order it placed: where, and its exchange id."""

    symbol: str
    order_id: int | str


class ClientIdRegistry:
    """Recent client order ids of one venue (at most ``capacity``, oldest forgotten first) and in-flight locks."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._recent: OrderedDict[str, Placed] = OrderedDict()
        self._locks: dict[str, deque[asyncio.Future[None]] | None] = {}
        """Ids held by a caller right now → the callers waiting for it, first come first (None: nobody waits)."""

    def remember(self, cid: str, symbol: str, order_id: int | str) -> None:
        self._recent[cid] = Placed(symbol, order_id)
        self._recent.move_to_end(cid)
        while len(self._recent) > self.capacity:
            self._recent.popitem(last=False)

    def recall(self, cid: str) -> Placed | None:
        """The order placed under ``cid``, if the server still remembers it."""
        return self._recent.get(cid)

    def __len__(self) -> int:
        return len(self._recent)

    def forget_all(self) -> None:
        """Forget every remembered id, as a restart does (the memory is in-process only); ids held by :meth:`lock`
        stay held."""
        self._recent.clear()

    @property
    def in_flight(self) -> frozenset[str]:
        """The ids a caller holds right now through :meth:`lock` (a snapshot); empty once every holder left, which
        also means nobody is left waiting."""
        return frozenset(self._locks)

    def lock(self, cid: str) -> _IdLock:
        """Serialize calls using the same ``cid``: ``async with registry.lock(cid):`` — a second caller waits there
        until the first one leaves (FIFO, cancellation-safe). An id nobody holds costs two dict operations: a future
        is made only for a caller that has to wait, and the leaving holder hands the id straight to it."""
        return _IdLock(self, cid)


class _IdLock:
    """The async context manager of :meth:`ClientIdRegistry.lock` (a class, not a generator: it is on every order's
    path)."""

    __slots__ = ("_cid", "_ids")

    def __init__(self, ids: ClientIdRegistry, cid: str) -> None:
        self._ids = ids
        self._cid = cid

    async def __aenter__(self) -> None:
        locks, cid = self._ids._locks, self._cid
        if cid not in locks:
            locks[cid] = None
            return
        waiters = locks[cid]
        if waiters is None:
            waiters = locks[cid] = deque()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the id was handed to us as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    waiters.remove(waiter)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        """Hand the id to the first caller still waiting, or free it."""
        locks, cid = self._ids._locks, self._cid
        waiters = locks[cid]
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        del locks[cid]
