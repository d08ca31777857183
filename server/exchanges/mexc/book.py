"""Local order book for MEXC Spot (sans-I/O): REST snapshot + ``aggre.depth`` diffs, version-checked.

MEXC's procedure (https://mexcdevelop.github.io/apidocs/spot_v3_en/#how-to-properly-maintain-a-local-copy-of-the-order-book):

1. subscribe ``spot@public.aggre.depth.v3.api.pb@(100ms|10ms)@SYMBOL`` and buffer the diffs;
2. fetch ``GET /api/v3/depth?symbol=SYMBOL&limit=1000``; its ``lastUpdateId`` is the snapshot version;
3. drop diffs whose ``toVersion`` <= the snapshot version;
4. the first diff applied must cover the next version: ``fromVersion <= version + 1 <= toVersion`` (MEXC writes
   "version within [fromVersion, toVersion]"; a diff starting exactly at version + 1 is also contiguous and accepted);
   if ``fromVersion`` is beyond that, the snapshot is too old: fetch another;
5. afterwards every diff must have ``fromVersion == previous toVersion + 1``, else packets were lost: resync;
6. quantities are absolute (not deltas); 0 removes the level.

Only levels inside the snapshot's depth are exact: unchanged levels outside it never appear in diffs (MEXC's note).
Diffs are exchange-neutral ``DepthUpdate`` (``first_update_id``/``final_update_id`` = fromVersion/toVersion), so the
JSON-era ``increase.depth`` (one version per message) works too with first = final = ``r``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from tradingmcp.server.exchanges.bookside import BookSide
from tradingmcp.server.exchanges.models import BookLevel, DepthUpdate, OrderBookSnapshot


class SyncState(StrEnum):
    """Where the local book is: waiting for a snapshot (diffs buffered), synced, or needing a new snapshot."""

    WAITING_SNAPSHOT = "waiting_snapshot"
    SYNCED = "synced"
    NEEDS_RESYNC = "needs_resync"


class LocalBook:
    """One symbol's local book kept in sync with MEXC's version numbers.

    Feed it ``on_diff`` for every depth diff (in arrival order) and ``apply_snapshot`` when ``needs_snapshot`` is
    True. It never does I/O: the caller fetches snapshots.

    Args:
        symbol: e.g. ``BTCUSDT``.
        max_buffer: most diffs kept while waiting for a snapshot; older ones are dropped (they would be stale).

    Attributes:
        state: the ``SyncState``.
        version: version of the book (last applied ``toVersion``, or the snapshot's), 0 before the first snapshot.
        resyncs: how many times a gap or a crossed book forced a resync.
    """

    def __init__(self, symbol: str, max_buffer: int = 10_000) -> None:
        self.symbol = symbol
        self.state = SyncState.WAITING_SNAPSHOT
        self.version = 0
        self.resyncs = 0
        self.last_problem = ""
        self.time_ms = 0
        self._first_after_snapshot = False
        self._bids = BookSide(descending=True)
        self._asks = BookSide(descending=False)
        self._buffer: deque[DepthUpdate] = deque(maxlen=max_buffer)

    def __repr__(self) -> str:
        return (
            f"LocalBook({self.symbol}, {self.state.value}, version={self.version}, "
            f"bids={len(self._bids)}, asks={len(self._asks)}, buffered={len(self._buffer)})"
        )

    @property
    def is_synced(self) -> bool:
        """True when the book reflects every diff up to ``version``."""
        return self.state is SyncState.SYNCED

    @property
    def needs_snapshot(self) -> bool:
        """True when the caller should fetch ``depth?limit=1000`` and call ``apply_snapshot``."""
        return self.state is not SyncState.SYNCED

    # ------------------------------------------------------------------------------------------ feeding

    def on_diff(self, diff: DepthUpdate) -> bool:
        """Apply (or buffer) one diff.

        Returns:
            True when the diff changed the synced book; False when it was buffered, stale, or caused a resync
            (then ``needs_snapshot`` is True and ``last_problem`` says why).
        """
        if self.state is not SyncState.SYNCED:
            self._buffer.append(diff)
            return False
        if diff.final_update_id <= self.version:
            return False  # stale: already in the book
        if self._first_after_snapshot and diff.first_update_id <= self.version + 1:
            pass  # the first diff after a snapshot only has to cover version + 1
        elif diff.first_update_id != self.version + 1:
            self._resync(f"gap: fromVersion {diff.first_update_id} != previous toVersion {self.version} + 1", diff)
            return False
        self._apply(diff)
        return self._check_crossed(diff)

    def reset(self) -> None:
        """Forget everything (e.g. the connection dropped): wait for diffs and a new snapshot."""
        self._bids.clear()
        self._asks.clear()
        self._buffer.clear()
        self.state = SyncState.WAITING_SNAPSHOT
        self.version = 0
        self._first_after_snapshot = False

    def apply_snapshot(self, snapshot: OrderBookSnapshot) -> bool:
        """Load a REST snapshot (``lastUpdateId`` = version) and replay the buffered diffs on it.

        Returns:
            True when the book is now synced. False when the buffered diffs start after ``version + 1`` (the
            snapshot is older than the stream: fetch another; the buffer is kept) or a gap/crossing showed up
            while replaying.
        """
        self._bids.clear()
        self._asks.clear()
        for lv in snapshot.bids:
            self._bids.set(lv.price, lv.qty)
        for lv in snapshot.asks:
            self._asks.set(lv.price, lv.qty)
        self.version = snapshot.last_update_id
        self.time_ms = snapshot.time_ms
        pending = [d for d in self._buffer if d.final_update_id > self.version]
        if pending and pending[0].first_update_id > self.version + 1:
            self.state = SyncState.WAITING_SNAPSHOT
            self.last_problem = (
                f"snapshot version {self.version} is older than the first buffered diff "
                f"(fromVersion {pending[0].first_update_id}); fetch a newer snapshot"
            )
            return False
        self._buffer.clear()
        self.state = SyncState.SYNCED
        self.last_problem = ""
        self._first_after_snapshot = not pending
        for diff in pending:
            if self.state is not SyncState.SYNCED:
                self._buffer.append(diff)
            elif diff.first_update_id > self.version + 1:
                self._resync(f"gap in buffered diffs after version {self.version}", diff)
            else:
                self._apply(diff)
                self._check_crossed(diff)
        return self.state is SyncState.SYNCED

    def _apply(self, diff: DepthUpdate) -> None:
        self._first_after_snapshot = False
        for lv in diff.bids:
            self._bids.set(lv.price, lv.qty)
        for lv in diff.asks:
            self._asks.set(lv.price, lv.qty)
        self.version = diff.final_update_id
        if diff.time_ms:
            self.time_ms = diff.time_ms

    def _check_crossed(self, diff: DepthUpdate) -> bool:
        bid, ask = self._bids.best(), self._asks.best()
        if bid is not None and ask is not None and bid.price >= ask.price:
            self._resync(f"crossed book at version {self.version}: bid {bid.price} >= ask {ask.price}", None)
            return False
        return True

    def _resync(self, reason: str, keep: DepthUpdate | None) -> None:
        self.resyncs += 1
        self.last_problem = reason
        self.state = SyncState.NEEDS_RESYNC
        self._bids.clear()
        self._asks.clear()
        self._buffer.clear()
        if keep is not None:
            self._buffer.append(keep)

    def feed(self, diffs: Iterable[DepthUpdate]) -> int:
        """``on_diff`` for each diff; returns how many changed the synced book."""
        return sum(1 for d in diffs if self.on_diff(d))

    # ------------------------------------------------------------------------------------------ reading

    def best_bid(self) -> BookLevel | None:
        """Highest bid, or None."""
        return self._bids.best()

    def best_ask(self) -> BookLevel | None:
        """Lowest ask, or None."""
        return self._asks.best()

    def bids(self, n: int = 20) -> tuple[BookLevel, ...]:
        """Top ``n`` bids, best (highest) first."""
        return self._bids.top(n)

    def asks(self, n: int = 20) -> tuple[BookLevel, ...]:
        """Top ``n`` asks, best (lowest) first."""
        return self._asks.top(n)

    def spread(self) -> Decimal | None:
        """Best ask − best bid (quote asset), None when a side is empty."""
        bid, ask = self._bids.best(), self._asks.best()
        return None if bid is None or ask is None else ask.price - bid.price

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, None when a side is empty."""
        bid, ask = self._bids.best(), self._asks.best()
        return None if bid is None or ask is None else (bid.price + ask.price) / 2

    def snapshot(self, depth: int = 20) -> OrderBookSnapshot:
        """Top ``depth`` levels per side as an ``OrderBookSnapshot`` (``last_update_id`` = version)."""
        return OrderBookSnapshot(self.symbol, self.version, self.bids(depth), self.asks(depth), self.time_ms)
