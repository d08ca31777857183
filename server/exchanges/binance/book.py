"""Sans-I/O local order book following Binance's documented sync procedure (no sockets, no clock).

"How to manage a local order book correctly" (https://developers.binance.com/docs/binance-spot-api-docs/
web-socket-streams#how-to-manage-a-local-order-book-correctly):

1. Buffer ``depthUpdate`` events (``U`` first update id, ``u`` final update id) until a snapshot is applied.
2. Snapshot ``GET /api/v3/depth`` gives ``lastUpdateId``; if ``lastUpdateId + 1`` is below the first buffered ``U``
   the snapshot is too old: fetch another.
3. Drop buffered events with ``u <= lastUpdateId``; the first applied event must bracket it:
   ``U <= lastUpdateId + 1 <= u``.
4. Then every event must continue the previous one: ``U == previous u + 1``; an event with ``u <= lastUpdateId``
   is stale and ignored. A quantity of 0 removes the price level.

A gap (a missing or reordered diff) or a crossed book puts the book in ``NEEDS_RESYNC``: the caller fetches a new
snapshot while the book buffers diffs, then calls :meth:`LocalOrderBook.apply_snapshot` again. The same object
serves MEXC (``fromVersion``/``toVersion`` map to ``U``/``u``).

Prices are ``Decimal`` keys in a dict per side plus a bisect-sorted price list (ascending; best bid is last).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from tradingmcp.server.exchanges.models import BookLevel, DepthUpdate, OrderBookSnapshot


class SyncState(StrEnum):
    """Where the book is in the sync procedure."""

    WAITING_SNAPSHOT = "waiting_snapshot"
    """No snapshot yet: diffs are buffered; the caller must fetch a snapshot."""
    SYNCING = "syncing"
    """Snapshot applied; waiting for the first diff that brackets ``lastUpdateId + 1``."""
    SYNCED = "synced"
    """Book is live and consistent."""
    NEEDS_RESYNC = "needs_resync"
    """A gap or crossed book was detected; diffs are buffered; the caller must fetch a new snapshot."""


class DiffOutcome(StrEnum):
    """What :meth:`LocalOrderBook.on_diff` did with one diff."""

    APPLIED = "applied"
    STALE = "stale"
    BUFFERED = "buffered"
    GAP = "gap"
    CROSSED = "crossed"


class SnapshotOutcome(StrEnum):
    """What :meth:`LocalOrderBook.apply_snapshot` did."""

    SYNCED = "synced"
    SYNCING = "syncing"
    TOO_OLD = "too_old"
    GAP = "gap"


class _Side:
    """One side: ``levels`` price → qty and ``prices`` sorted ascending."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def clear(self) -> None:
        self.levels.clear()
        self.prices.clear()

    def load(self, rows: Iterable[BookLevel]) -> None:
        self.clear()
        for row in rows:
            if row.qty > 0:
                self.levels[row.price] = row.qty
        self.prices = sorted(self.levels)

    def update(self, price: Decimal, qty: Decimal) -> None:
        levels = self.levels
        if qty > 0:
            if price not in levels:
                insort(self.prices, price)
            levels[price] = qty
        elif price in levels:
            del levels[price]
            prices = self.prices
            del prices[bisect_left(prices, price)]


class LocalOrderBook:
    """A local order book for one symbol, kept in sync by diffs and snapshots (see the module docstring).

    Args:
        symbol: exchange symbol (``BTCUSDT``).
        max_buffered: bound of the diff buffer while waiting for a snapshot; the oldest diffs are dropped beyond
            it (a later snapshot then reports ``TOO_OLD`` instead of syncing on a hole).
    """

    def __init__(self, symbol: str, max_buffered: int = 10_000) -> None:
        self.symbol = symbol
        self.state = SyncState.WAITING_SNAPSHOT
        self.last_update_id = 0
        self.time_ms = 0
        self.resyncs = 0
        """How many times the book lost sync (gap or crossed) since creation."""
        self._bids = _Side()
        self._asks = _Side()
        self._buffer: deque[DepthUpdate] = deque(maxlen=max_buffered)

    # --- sync procedure -------------------------------------------------------------------------------------
    @property
    def needs_snapshot(self) -> bool:
        """True when the caller must fetch (another) snapshot: WAITING_SNAPSHOT or NEEDS_RESYNC."""
        return self.state in (SyncState.WAITING_SNAPSHOT, SyncState.NEEDS_RESYNC)

    @property
    def first_buffered_update_id(self) -> int | None:
        """``U`` of the oldest buffered diff (a snapshot must have ``lastUpdateId >= U - 1``), or None."""
        return self._buffer[0].first_update_id if self._buffer else None

    def on_diff(self, diff: DepthUpdate) -> DiffOutcome:
        """Feed one ``depthUpdate``. Returns what happened; GAP/CROSSED mean the book now NEEDS_RESYNC."""
        if self.needs_snapshot:
            self._buffer.append(diff)
            return DiffOutcome.BUFFERED
        if diff.final_update_id <= self.last_update_id:
            return DiffOutcome.STALE
        if self.state is SyncState.SYNCING:
            if diff.first_update_id > self.last_update_id + 1:
                return self._lose_sync(diff, DiffOutcome.GAP)
        elif diff.first_update_id != self.last_update_id + 1:
            return self._lose_sync(diff, DiffOutcome.GAP)
        self._apply(diff)
        self.state = SyncState.SYNCED
        if self._crossed():
            return self._lose_sync(None, DiffOutcome.CROSSED)
        return DiffOutcome.APPLIED

    def apply_snapshot(self, snapshot: OrderBookSnapshot) -> SnapshotOutcome:
        """Load a REST depth snapshot and replay the buffered diffs that follow it.

        Returns:
            SYNCED (a buffered diff bracketed it and all later ones applied), SYNCING (nothing buffered after it
            yet), TOO_OLD (``lastUpdateId + 1`` < first buffered ``U``: fetch another; buffer kept) or GAP (the
            buffered diffs do not continue it: fetch another).
        """
        first = self.first_buffered_update_id
        if first is not None and snapshot.last_update_id + 1 < first:
            return SnapshotOutcome.TOO_OLD
        self._bids.load(snapshot.bids)
        self._asks.load(snapshot.asks)
        self.last_update_id = snapshot.last_update_id
        self.time_ms = snapshot.time_ms
        self.state = SyncState.SYNCING
        pending = list(self._buffer)
        self._buffer.clear()
        for diff in pending:
            outcome = self.on_diff(diff)
            if outcome in (DiffOutcome.GAP, DiffOutcome.CROSSED):
                # keep what followed the break so the next snapshot can use it
                self._buffer.extend(d for d in pending if d.final_update_id > diff.final_update_id)
                return SnapshotOutcome.GAP
        return SnapshotOutcome.SYNCED if self.state is SyncState.SYNCED else SnapshotOutcome.SYNCING

    def reset(self) -> None:
        """Forget everything (e.g. after a reconnect): back to WAITING_SNAPSHOT with an empty buffer."""
        self._bids.clear()
        self._asks.clear()
        self._buffer.clear()
        self.last_update_id = 0
        self.state = SyncState.WAITING_SNAPSHOT

    def _apply(self, diff: DepthUpdate) -> None:
        bids, asks = self._bids, self._asks
        for level in diff.bids:
            bids.update(level.price, level.qty)
        for level in diff.asks:
            asks.update(level.price, level.qty)
        self.last_update_id = diff.final_update_id
        self.time_ms = diff.time_ms or self.time_ms

    def _crossed(self) -> bool:
        bids, asks = self._bids.prices, self._asks.prices
        return bool(bids and asks and bids[-1] >= asks[0])

    def _lose_sync(self, diff: DepthUpdate | None, outcome: DiffOutcome) -> DiffOutcome:
        self.state = SyncState.NEEDS_RESYNC
        self.resyncs += 1
        self._bids.clear()
        self._asks.clear()
        self._buffer.clear()
        if diff is not None:
            self._buffer.append(diff)
        return outcome

    # --- reading ------------------------------------------------------------------------------------------------
    @property
    def is_synced(self) -> bool:
        """True when the book may be read as the exchange's book (state SYNCED or SYNCING after a snapshot)."""
        return self.state in (SyncState.SYNCED, SyncState.SYNCING)

    def best_bid(self) -> BookLevel | None:
        """Highest bid, or None when the side is empty."""
        prices = self._bids.prices
        return BookLevel(prices[-1], self._bids.levels[prices[-1]]) if prices else None

    def best_ask(self) -> BookLevel | None:
        """Lowest ask, or None when the side is empty."""
        prices = self._asks.prices
        return BookLevel(prices[0], self._asks.levels[prices[0]]) if prices else None

    def bids(self, depth: int = 20) -> tuple[BookLevel, ...]:
        """Top ``depth`` bids, best (highest) first."""
        levels, prices = self._bids.levels, self._bids.prices
        return tuple(BookLevel(p, levels[p]) for p in prices[: -depth - 1 : -1]) if depth > 0 else ()

    def asks(self, depth: int = 20) -> tuple[BookLevel, ...]:
        """Top ``depth`` asks, best (lowest) first."""
        levels = self._asks.levels
        return tuple(BookLevel(p, levels[p]) for p in self._asks.prices[:depth])

    def snapshot(self, depth: int = 20) -> OrderBookSnapshot:
        """Top ``depth`` levels per side as an OrderBookSnapshot carrying ``last_update_id``."""
        return OrderBookSnapshot(self.symbol, self.last_update_id, self.bids(depth), self.asks(depth), self.time_ms)

    def depth_counts(self) -> tuple[int, int]:
        """Number of (bid, ask) levels held."""
        return len(self._bids.prices), len(self._asks.prices)

    def spread(self) -> Decimal | None:
        """Best ask − best bid (quote asset), or None when a side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        return ask.price - bid.price if bid and ask else None

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, or None when a side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        return (bid.price + ask.price) / 2 if bid and ask else None

    def microprice(self) -> Decimal | None:
        """Size-weighted mid: (bid × ask_qty + ask × bid_qty) / (bid_qty + ask_qty), or None."""
        bid, ask = self.best_bid(), self.best_ask()
        if not bid or not ask:
            return None
        return (bid.price * ask.qty + ask.price * bid.qty) / (bid.qty + ask.qty)

    def __repr__(self) -> str:
        nb, na = self.depth_counts()
        return f"LocalOrderBook({self.symbol} {self.state} id={self.last_update_id} bids={nb} asks={na})"
