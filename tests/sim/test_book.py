"""SimBook: rebuilt from the real BTCUSDT recording and checked against the recorded bookTicker (the oracle)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from engine_support import Replayer, book_after, recording

from tradingmcp.sim.book import BookGapError, SimBook


def _oracle_run(diffs: int | None) -> tuple[int, int, Replayer]:
    """Replay; after each applied diff, compare with the recorded bookTicker carrying the same ``u`` (tickers are
    real-time, so one may be recorded before or after its 100 ms diff). Returns (checked, applied, replayer)."""
    rec = recording("BTCUSDT")
    tickers = {data["u"]: data for kind, data in rec.events if kind == "bookTicker"}
    rp = Replayer(rec)
    checked = 0
    applied_before = 0
    while diffs is None or rp.applied < diffs:
        if rp.step() is None:
            break
        if rp.applied == applied_before:
            continue
        applied_before = rp.applied
        data = tickers.get(rp.book.last_update_id)
        if data is None:
            continue
        bid, ask = rp.book.best_bid(), rp.book.best_ask()
        assert bid == (Decimal(data["b"]), Decimal(data["B"])), data
        assert ask == (Decimal(data["a"]), Decimal(data["A"])), data
        ticker = rp.book.book_ticker()
        assert ticker is not None
        assert (ticker["b"], ticker["B"], ticker["a"], ticker["A"]) == (data["b"], data["B"], data["a"], data["A"])
        checked += 1
    return checked, rp.applied, rp


def test_oracle_first_2000_diffs(data_dir: Path) -> None:
    checked, applied, rp = _oracle_run(2000)
    assert applied == 2000
    assert checked >= 200  # the oracle fires on ~1/6 of diffs
    bid, ask = rp.book.best_bid(), rp.book.best_ask()
    assert bid is not None and ask is not None and bid[0] < ask[0]


def test_oracle_whole_recording_and_speed(data_dir: Path) -> None:
    recording("BTCUSDT")  # parse outside the timing
    started = time.perf_counter()
    checked, applied, _ = _oracle_run(None)
    elapsed = time.perf_counter() - started
    assert checked == 1072  # README: 1,072 of 1,072 for BTCUSDT
    assert applied > 6400
    assert elapsed < 20.0, f"replaying {applied} diffs took {elapsed:.1f}s"


def test_stale_diff_ignored_and_gap_raises(data_dir: Path) -> None:
    book = book_after(10)
    last = book.last_update_id
    before = book.depth(5)
    assert book.apply_diff(last - 5, last, [["1.00000000", "1.00000000"]], []) is False
    assert book.depth(5) == before
    with pytest.raises(BookGapError):
        book.apply_diff(last + 2, last + 3, [], [])
    assert book.last_update_id == last


def test_zero_qty_removes_level_and_depth_keeps_wire_strings() -> None:
    book = SimBook("BTCUSDT")
    book.load_snapshot(
        100,
        [["100.00000000", "1.00000000"], ["99.50000000", "2.00000000"], ["99.00000000", "0.00000000"]],
        [["101.00000000", "3.00000000"], ["102.00000000", "4.00000000"]],
    )
    assert book.best_bid() == (Decimal("100"), Decimal("1"))
    assert len(book) == 4  # the zero level of the snapshot is not kept
    assert book.apply_diff(101, 102, [["100.00000000", "0.00000000"], ["99.75", "5"]], [["100.50000000", "0.1"]])
    assert book.last_update_id == 102
    assert book.best_bid() == (Decimal("99.75"), Decimal("5"))
    assert book.best_ask() == (Decimal("100.5"), Decimal("0.1"))
    assert book.depth(2) == {
        "lastUpdateId": 102,
        "bids": [["99.75", "5"], ["99.50000000", "2.00000000"]],
        "asks": [["100.50000000", "0.1"], ["101.00000000", "3.00000000"]],
    }
    assert list(book.levels("BUY")) == [(Decimal("100.5"), Decimal("0.1")), (Decimal(101), 3), (Decimal(102), 4)]
    assert [p for p, _ in book.levels("SELL")] == [Decimal("99.75"), Decimal("99.5")]
    assert book.mid_price() == Decimal("100.125")
    # removing an absent level is harmless
    assert book.apply_diff(103, 103, [["1.00000000", "0.00000000"]], [])
    assert len(book) == 5


def test_empty_book() -> None:
    book = SimBook("ETHUSDT")
    assert book.best_bid() is None and book.best_ask() is None and book.mid_price() is None
    assert book.depth(10) == {"lastUpdateId": 0, "bids": [], "asks": []}
    assert book.book_ticker() is None
    assert list(book.levels("BUY")) == []


def test_prices_in_other_spellings_and_more_decimals_keep_their_order() -> None:
    book = SimBook("BTCUSDT")
    book.load_snapshot(1, [["100.00000000", "1.00000000"], ["99.5", "2"]], [["101.00000000", "3.00000000"]])
    # the same price spelled otherwise updates its level (keeping the level's first spelling for its Decimal, the
    # latest for the wire), a price with more decimals than the book's keys re-keys the book, exponents are read too
    assert book.apply_diff(
        2, 2, [["100.0", "4"], ["99.999999999", "1"], ["9.95E+1", "0"]], [["100.5000000001", "1"], ["1.01e2", "5"]]
    )
    assert book.best_bid() == (Decimal("100.00000000"), Decimal(4))
    assert str(book.best_bid()[0]) == "100.00000000"  # type: ignore[index]
    assert book.depth(5) == {
        "lastUpdateId": 2,
        "bids": [["100.0", "4"], ["99.999999999", "1"]],
        "asks": [["100.5000000001", "1"], ["1.01e2", "5"]],
    }
    assert [p for p, _ in book.levels("BUY")] == [Decimal("100.5000000001"), Decimal(101)]
    assert book.apply_diff(3, 3, [["99.99999999900", "0.000"]], [["100.5000000001", "0"]])
    assert book.depth(5)["bids"] == [["100.0", "4"]] and book.depth(5)["asks"] == [["1.01e2", "5"]]
    assert len(book) == 2


def test_a_price_that_is_not_a_number_is_refused() -> None:
    book = SimBook("BTCUSDT")
    book.load_snapshot(1, [["100", "1"]], [["101", "1"]])
    for bad in ("abc", "NaN", "Infinity", ""):
        with pytest.raises(ValueError, match="bad price"):
            book.apply_diff(2, 2, [[bad, "1"]], [])


def test_a_snapshot_price_with_more_decimals_keys_the_whole_snapshot_alike() -> None:
    book = SimBook("BTCUSDT")
    book.load_snapshot(1, [["100.00000000", "1"], ["100.000000001", "2"], ["99", "3"]], [["101", "1e-400"]])
    assert [p for p, _ in book.levels("SELL")] == [Decimal("100.000000001"), Decimal(100), Decimal(99)]
    assert book.best_ask() == (Decimal(101), Decimal("1e-400"))  # too small for a float, yet not zero
    with pytest.raises(ValueError):
        book.apply_diff(2, 2, [], [["102", "lots"]])
