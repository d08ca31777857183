"""Local order book for Bybit spot (sans-I/O): WebSocket ``snapshot`` + ``delta`` messages with contiguous ``u``.

Bybit's procedure (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook):

1. subscribing ``orderbook.{depth}.{symbol}`` brings a ``snapshot`` first: it replaces the whole book (also when
   Bybit sends one again later, e.g. with ``u == 1`` after a service restart);
2. each ``delta`` carries absolute quantities (``"0"`` removes the level) and ``u`` one above the previous message's;
3. a ``u`` that is not the previous one + 1 means messages were lost: the book is unusable until a new snapshot, which
   the stream gets by subscribing the topic again (there is no REST snapshot to splice in: the REST book has no
   ``u`` of the topic).

The snapshot holds ``depth`` levels per side; deltas may name levels beyond them (the simulator sends every change),
so only the top ``depth`` levels are meant to be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tradingmcp.server.exchanges.bookside import BookSide
from tradingmcp.server.exchanges.models import BookLevel, OrderBookSnapshot


class SyncState(StrEnum):
    """Waiting for a snapshot, or synced."""

    WAITING_SNAPSHOT = "waiting_snapshot"
    SYNCED = "synced"


class LocalBook:
    """One symbol's book from one ``orderbook`` topic.

    Attributes:
        state: the ``SyncState``.
        update_id: the last applied ``u``.
        seq: the last ``seq`` (Bybit's matching version).
        gaps: how many times a gap or a crossed book made it wait for a new snapshot.
        last_problem: why it last lost sync.
    """

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.state = SyncState.WAITING_SNAPSHOT
        self.update_id = 0
        self.seq = 0
        self.time_ms = 0
        self.gaps = 0
        self.last_problem = ""
        self._bids = BookSide(descending=True)
        self._asks = BookSide(descending=False)

    def __repr__(self) -> str:
        return f"LocalBook({self.symbol}, {self.state.value}, u={self.update_id}, bids={len(self._bids)}, asks={len(self._asks)})"

    @property
    def is_synced(self) -> bool:
        """True when the book reflects every message up to ``update_id``."""
        return self.state is SyncState.SYNCED

    def on_snapshot(self, bids: Iterable[BookLevel], asks: Iterable[BookLevel], u: int, seq: int, time_ms: int) -> None:
        """Replace the book with a snapshot."""
        self._bids.clear()
        self._asks.clear()
        for lv in bids:
            self._bids.set(lv.price, lv.qty)
        for lv in asks:
            self._asks.set(lv.price, lv.qty)
        self.update_id, self.seq, self.time_ms = u, seq, time_ms
        self.state = SyncState.SYNCED
        self.last_problem = ""

    def on_delta(self, bids: Iterable[BookLevel], asks: Iterable[BookLevel], u: int, seq: int, time_ms: int) -> bool:
        """Apply a delta; returns False (and waits for a snapshot) on a gap or a crossed book, or when not synced."""
        if self.state is not SyncState.SYNCED:
            return False
        if u != self.update_id + 1:
            self._lose(f"gap: u {u} after {self.update_id}")
            return False
        for lv in bids:
            self._bids.set(lv.price, lv.qty)
        for lv in asks:
            self._asks.set(lv.price, lv.qty)
        self.update_id, self.seq, self.time_ms = u, seq, time_ms
        bid, ask = self._bids.top(1), self._asks.top(1)
        if bid and ask and bid[0].price >= ask[0].price:
            self._lose(f"crossed book at u {u}: bid {bid[0].price} >= ask {ask[0].price}")
            return False
        return True

    def reset(self) -> None:
        """Forget everything (the connection dropped): wait for a snapshot."""
        self._bids.clear()
        self._asks.clear()
        self.state = SyncState.WAITING_SNAPSHOT

    def _lose(self, why: str) -> None:
        self.gaps += 1
        self.last_problem = why
        self.reset()

    def bids(self, n: int = 20) -> tuple[BookLevel, ...]:
        """Top ``n`` bids, best first."""
        return self._bids.top(n)

    def asks(self, n: int = 20) -> tuple[BookLevel, ...]:
        """Top ``n`` asks, best first."""
        return self._asks.top(n)

    def snapshot(self, depth: int = 20) -> OrderBookSnapshot:
        """Top ``depth`` levels per side (``last_update_id`` = ``u``)."""
        return OrderBookSnapshot(self.symbol, self.update_id, self.bids(depth), self.asks(depth), self.time_ms)
