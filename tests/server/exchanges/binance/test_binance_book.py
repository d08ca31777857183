"""The local order book rebuilt from the REAL recordings must match every recorded bookTicker at the same ``u``."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.book import DiffOutcome, LocalOrderBook, SnapshotOutcome, SyncState
from tradingmcp.server.exchanges.models import BookLevel, DepthUpdate, OrderBookSnapshot, Ticker

from .recordings import cryptofeed_frames, recorded_frames

pytestmark = pytest.mark.data

D = Decimal


Event = OrderBookSnapshot | DepthUpdate | Ticker


@functools.cache
def events_of(symbol: str, root: Path) -> list[Event]:
    """Parsed events of both days (cached: several tests replay the same recording)."""
    out: list[Event] = []
    for frame in recorded_frames(symbol, root):
        if "lastUpdateId" in frame:
            out.append(parse.depth(symbol, frame))
        elif isinstance(ev := parse.stream_event(frame["data"]), DepthUpdate | Ticker):
            out.append(ev)
    return out


@dataclass
class Replay:
    """Outcome of one replay: oracle checks, mismatches and counters."""

    checked: int = 0
    mismatches: list[tuple[int, Ticker]] = field(default_factory=list)
    applied: int = 0
    stale: int = 0
    outcomes: list[DiffOutcome] = field(default_factory=list)
    early: dict[int, Ticker] = field(default_factory=dict)  # bookTickers that arrived before their diff


def check_ticker(book: LocalOrderBook, tick: Ticker, result: Replay) -> None:
    """Compare a bookTicker with the book at the same ``u`` (now, or when that diff is applied)."""
    assert tick.update_id is not None
    if tick.update_id > book.last_update_id:
        result.early[tick.update_id] = tick  # bookTicker is real-time, the diff comes with the next 100 ms batch
        return
    if tick.update_id != book.last_update_id or book.state is not SyncState.SYNCED:
        return
    result.checked += 1
    if (book.best_bid(), book.best_ask()) != (BookLevel(tick.bid, tick.bid_qty), BookLevel(tick.ask, tick.ask_qty)):
        result.mismatches.append((book.last_update_id, tick))


def feed_diff(book: LocalOrderBook, diff: DepthUpdate, result: Replay) -> None:
    outcome = book.on_diff(diff)
    result.outcomes.append(outcome)
    result.applied += outcome is DiffOutcome.APPLIED
    result.stale += outcome is DiffOutcome.STALE
    if outcome is DiffOutcome.APPLIED:
        if (early := result.early.pop(diff.final_update_id, None)) is not None:
            check_ticker(book, early, result)
        if len(result.early) > 10_000:
            result.early.clear()


def replay(symbol: str, events: list[Event]) -> tuple[LocalOrderBook, Replay]:
    book = LocalOrderBook(symbol)
    result = Replay()
    for event in events:
        if isinstance(event, OrderBookSnapshot):
            assert book.apply_snapshot(event) in (SnapshotOutcome.SYNCED, SnapshotOutcome.SYNCING)
        elif isinstance(event, DepthUpdate):
            feed_diff(book, event, result)
        else:
            check_ticker(book, event, result)
    return book, result


@pytest.mark.parametrize(("symbol", "expected"), [("BTCUSDT", 1072), ("ETHUSDT", 1056)])
def test_rebuild_matches_every_book_ticker(symbol: str, expected: int, data_dir: Path) -> None:
    book, result = replay(symbol, events_of(symbol, data_dir))
    assert result.mismatches == []
    assert result.checked == expected
    assert book.state is SyncState.SYNCED and book.resyncs == 0
    assert DiffOutcome.GAP not in result.outcomes and DiffOutcome.CROSSED not in result.outcomes
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None and bid.price < ask.price
    spread, mid, micro = book.spread(), book.mid(), book.microprice()
    assert spread is not None and spread > 0 and mid is not None and micro is not None
    assert bid.price <= micro <= ask.price and mid == (bid.price + ask.price) / 2
    top = book.snapshot(5)
    assert len(top.bids) == 5 and top.bids[0] == bid and top.asks[0] == ask
    assert all(a.price > b.price for a, b in zip(top.bids, top.bids[1:], strict=False))
    assert all(a.price < b.price for a, b in zip(top.asks, top.asks[1:], strict=False))


@pytest.mark.parametrize("damage", ["delete", "swap"])
def test_gap_is_detected_and_healed_by_resync(damage: str, data_dir: Path) -> None:
    original = events_of("BTCUSDT", data_dir)
    diffs = [i for i, e in enumerate(original) if isinstance(e, DepthUpdate)]
    victim, after = diffs[len(diffs) // 2], diffs[len(diffs) // 2 + 1]
    damaged = list(original)
    if damage == "delete":
        del damaged[victim]
    else:
        damaged[victim], damaged[after] = damaged[after], damaged[victim]

    reference = LocalOrderBook("BTCUSDT")  # the undamaged book, advanced lazily to build "later" snapshots
    source = iter(original)

    def advance_reference(update_id: int) -> None:
        while reference.last_update_id < update_id:
            ev = next(source)
            if isinstance(ev, OrderBookSnapshot):
                reference.apply_snapshot(ev)
            elif isinstance(ev, DepthUpdate):
                reference.on_diff(ev)

    book = LocalOrderBook("BTCUSDT")
    result = Replay()
    pending: list[DepthUpdate] = []
    for ev in damaged:
        if isinstance(ev, OrderBookSnapshot):
            assert book.apply_snapshot(ev) in (SnapshotOutcome.SYNCED, SnapshotOutcome.SYNCING)
        elif isinstance(ev, DepthUpdate):
            feed_diff(book, ev, result)
            if book.state is SyncState.NEEDS_RESYNC:
                assert book.best_bid() is None  # a book out of sync is never readable
                pending.append(ev)
                if len(pending) == 3:  # the REST snapshot "arrives" while diffs keep coming
                    advance_reference(pending[1].final_update_id)
                    assert book.apply_snapshot(reference.snapshot(100_000)) is SnapshotOutcome.SYNCED
                    pending.clear()
        else:
            check_ticker(book, ev, result)
    assert result.outcomes.count(DiffOutcome.GAP) == 1 and book.resyncs == 1
    assert book.state is SyncState.SYNCED
    assert result.mismatches == [] and result.checked > 1000
    advance_reference(book.last_update_id)
    assert book.snapshot(5000) == reference.snapshot(5000)


def test_snapshot_too_old_and_buffer_rules() -> None:
    book = LocalOrderBook("X")
    lvl = (BookLevel(D(1), D(1)),)
    ask = (BookLevel(D(2), D(1)),)
    assert book.on_diff(DepthUpdate("X", 100, 105, lvl, ask)) is DiffOutcome.BUFFERED
    assert book.first_buffered_update_id == 100
    assert book.apply_snapshot(OrderBookSnapshot("X", 50, lvl, ask)) is SnapshotOutcome.TOO_OLD
    assert book.needs_snapshot and book.first_buffered_update_id == 100
    # a snapshot newer than every buffered diff: SYNCING, then the next diff must bracket it
    assert book.apply_snapshot(OrderBookSnapshot("X", 110, lvl, ask)) is SnapshotOutcome.SYNCING
    assert book.on_diff(DepthUpdate("X", 106, 110, (), ())) is DiffOutcome.STALE
    assert book.on_diff(DepthUpdate("X", 109, 112, (BookLevel(D(1), D(0)),), ())) is DiffOutcome.APPLIED
    assert book.best_bid() is None and book.last_update_id == 112 and book.state is SyncState.SYNCED
    # a crossed book is a loss of sync
    assert book.on_diff(DepthUpdate("X", 113, 113, (BookLevel(D(3), D(1)),), ())) is DiffOutcome.CROSSED
    assert book.state is SyncState.NEEDS_RESYNC


def test_cryptofeed_captures_sync(data_dir: Path) -> None:
    frames, snapshots = cryptofeed_frames(data_dir)
    assert set(snapshots) == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
    books = {s: LocalOrderBook(s) for s in snapshots}
    results = {s: Replay() for s in snapshots}
    pending = dict(snapshots)
    for frame in frames:
        for symbol, (stamp, body) in list(pending.items()):
            if stamp <= frame["_recv_s"]:  # the snapshot arrived before this frame
                assert books[symbol].apply_snapshot(parse.depth(symbol, body)) is not SnapshotOutcome.TOO_OLD
                del pending[symbol]
        event = parse.stream_event(frame["data"])
        if isinstance(event, DepthUpdate):
            feed_diff(books[event.symbol], event, results[event.symbol])
        elif isinstance(event, Ticker):
            check_ticker(books[event.symbol], event, results[event.symbol])
    for symbol, book in books.items():
        res = results[symbol]
        assert book.state is SyncState.SYNCED, symbol
        assert DiffOutcome.BUFFERED in res.outcomes  # the snapshot arrived after the first diffs
        assert DiffOutcome.GAP not in res.outcomes and book.resyncs == 0
        assert res.mismatches == [], symbol
    assert sum(r.checked for r in results.values()) > 0
