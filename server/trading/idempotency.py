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
import re
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tradingmcp.server.mcp.registry import ToolError

CLIENT_ORDER_ID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
PREFIX = "tmcp-"


def new_client_order_id() -> str:
    """A fresh id: ``tmcp-`` plus 20 hex characters (25 characters)."""
    return PREFIX + uuid.uuid4().hex[:20]


def check_client_order_id(cid: str, field_name: str = "client_order_id") -> str:
    """``cid`` when it is a valid exchange client order id.

    Raises:
        ToolError: ``invalid_argument`` naming the allowed pattern.
    """
    if not CLIENT_ORDER_ID_RE.match(cid):
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
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}

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

    @asynccontextmanager
    async def lock(self, cid: str) -> AsyncIterator[None]:
        """Serialize calls using the same ``cid``: a second caller waits here until the first one leaves."""
        lock = self._locks.get(cid)
        if lock is None:
            lock = self._locks[cid] = asyncio.Lock()
        self._waiters[cid] = self._waiters.get(cid, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiters[cid] -= 1
            if self._waiters[cid] == 0:
                del self._waiters[cid]
                del self._locks[cid]
