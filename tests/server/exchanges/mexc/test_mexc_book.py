"""The local book over real MEXC version sequences, and its gap/stale/resync rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.mexc.book import LocalBook, SyncState
from tradingmcp.server.exchanges.mexc.proto import tradingmcp_mexc_pb2 as pb
from tradingmcp.server.exchanges.models import BookLevel, DepthUpdate, OrderBookSnapshot
from tradingmcp.sim.mexc import encode

SOL_FILE = "mexc_spot_json_v3_SOLUSDT_20250112_hftbacktest_docstring.txt"


def _json_era_to_pb(frame: dict[str, Any]) -> bytes:
    """Re-encode a JSON-era frame (limit.depth / increase.depth, ``r`` = version) as the protobuf push."""
    d = frame["d"]
    bids = [(lv["p"], lv["v"]) for lv in d.get("bids", [])]
    asks = [(lv["p"], lv["v"]) for lv in d.get("asks", [])]
    if "limit.depth" in frame["c"]:
        levels = int(frame["c"].rsplit("@", 1)[1])
        return encode.encode_limit_depth(
            frame["s"], bids=bids, asks=asks, version=int(d["r"]), levels=levels, send_time_ms=frame["t"]
        )
    w = pb.PushDataV3ApiWrapper(
        channel=f"spot@public.increase.depth.v3.api.pb@{frame['s']}", symbol=frame["s"], sendTime=frame["t"]
    )
    body = w.publicIncreaseDepths
    for p, q in bids:
        body.bids.add(price=p, quantity=q)
    for p, q in asks:
        body.asks.add(price=p, quantity=q)
    body.eventType, body.version = "spot@public.increase.depth.v3.api.pb", d["r"]
    return bytes(w.SerializeToString())


def _sol_events(mexc_dir: Path) -> list[DepthUpdate | OrderBookSnapshot]:
    out: list[DepthUpdate | OrderBookSnapshot] = []
    for line in (mexc_dir / SOL_FILE).read_text().splitlines():
        if not line.strip():
            continue
        _, raw = line.split(" ", 1)
        for ev in parse.to_events(parse.decode_push(_json_era_to_pb(json.loads(raw)))):
            assert isinstance(ev, DepthUpdate | OrderBookSnapshot)
            out.append(ev)
    return out


def test_real_solusdt_sequence_syncs_and_matches_later_snapshots(mexc_dir: Path) -> None:
    events = _sol_events(mexc_dir)
    assert len(events) == 7
    kinds = ["S" if isinstance(e, OrderBookSnapshot) else "D" for e in events]
    assert kinds == ["S", "D", "D", "S", "S", "D", "D"]
    book = LocalBook("SOLUSDT")
    first = events[0]
    assert isinstance(first, OrderBookSnapshot)
    assert book.needs_snapshot and book.apply_snapshot(first) and book.version == 4474505330
    applied = 0
    for ev in events[1:]:
        if isinstance(ev, DepthUpdate):
            applied += book.on_diff(ev)
        else:  # a later limit-depth snapshot at the same version is an oracle for the top 10 levels
            assert ev.last_update_id == book.version == 4474505332
            assert book.bids(10) == ev.bids and book.asks(10) == ev.asks
    assert applied == 4 and book.is_synced and book.version == 4474505334 and book.resyncs == 0
    assert book.best_ask() == BookLevel(Decimal("186.70"), Decimal("339.74"))  # version 333 changed it
    assert book.best_bid() == BookLevel(Decimal("186.69"), Decimal("46.87"))
    assert Decimal("186.20") not in [lv.price for lv in book.bids(100)]  # version 334 removed it (was absent anyway)
    assert Decimal("187.26") in [lv.price for lv in book.asks(100)]  # version 332 added it beyond the top 10
    assert book.spread() == Decimal("0.01") and book.mid() == Decimal("186.695")


def _diff(
    first: int, last: int, bids: Sequence[tuple[str, str]] = (), asks: Sequence[tuple[str, str]] = ()
) -> DepthUpdate:
    return DepthUpdate(
        "BTCUSDT",
        first,
        last,
        tuple(BookLevel(Decimal(p), Decimal(q)) for p, q in bids),
        tuple(BookLevel(Decimal(p), Decimal(q)) for p, q in asks),
    )


def _snap(version: int) -> OrderBookSnapshot:
    return OrderBookSnapshot(
        "BTCUSDT",
        version,
        (BookLevel(Decimal(100), Decimal(1)), BookLevel(Decimal(99), Decimal(2))),
        (BookLevel(Decimal(101), Decimal(1)), BookLevel(Decimal(102), Decimal(3))),
    )


def test_buffer_then_snapshot_drops_stale_and_applies_bracketing_diff() -> None:
    book = LocalBook("BTCUSDT")
    assert not book.on_diff(_diff(5, 8, bids=[("100", "9")]))  # buffered; stale once the snapshot is at 10
    assert not book.on_diff(_diff(9, 12, asks=[("101", "0")]))  # brackets 11: applied
    assert not book.on_diff(_diff(13, 13, bids=[("100.5", "4")]))
    assert book.state is SyncState.WAITING_SNAPSHOT
    assert book.apply_snapshot(_snap(10))
    assert book.version == 13 and book.best_bid() == BookLevel(Decimal("100.5"), Decimal(4))
    assert book.best_ask() == BookLevel(Decimal(102), Decimal(3)) and book.bids(5)[1].qty == 1  # 100 kept at 1
    assert not book.on_diff(_diff(12, 13))  # stale, ignored
    assert book.is_synced and book.on_diff(_diff(14, 20, asks=[("101.5", "2")]))
    assert book.snapshot(1) == OrderBookSnapshot(
        "BTCUSDT", 20, (BookLevel(Decimal("100.5"), Decimal(4)),), (BookLevel(Decimal("101.5"), Decimal(2)),)
    )


def test_gap_forces_resync_and_a_later_snapshot_heals() -> None:
    book = LocalBook("BTCUSDT")
    assert book.apply_snapshot(_snap(10))
    assert book.on_diff(_diff(11, 11, bids=[("99", "0")]))
    assert not book.on_diff(_diff(13, 14))  # 12 lost
    assert book.state is SyncState.NEEDS_RESYNC and book.resyncs == 1 and "gap" in book.last_problem
    assert book.best_bid() is None  # never serve a book known to be wrong
    assert not book.on_diff(_diff(15, 16, asks=[("101", "7")]))  # buffered meanwhile
    assert not book.apply_snapshot(_snap(11))  # older than the buffered 13: fetch a newer one
    assert book.needs_snapshot and "older" in book.last_problem
    assert book.apply_snapshot(_snap(14))  # 13..14 dropped as stale, 15..16 applied
    assert book.version == 16 and book.best_ask() == BookLevel(Decimal(101), Decimal(7))


def test_crossed_book_forces_resync() -> None:
    book = LocalBook("BTCUSDT")
    book.apply_snapshot(_snap(1))
    assert not book.on_diff(_diff(2, 2, bids=[("101.5", "1")]))
    assert book.state is SyncState.NEEDS_RESYNC and "crossed" in book.last_problem


def test_snapshot_before_any_diff_accepts_a_bracketing_first_diff_then_reset() -> None:
    book = LocalBook("BTCUSDT")
    assert book.apply_snapshot(_snap(10))  # nothing buffered yet (the snapshot won the race)
    assert book.on_diff(_diff(8, 12, bids=[("100", "5")]))  # covers 11: contiguous with the snapshot
    assert book.version == 12 and book.best_bid() == BookLevel(Decimal(100), Decimal(5))
    assert not book.on_diff(_diff(12, 14))  # from now on fromVersion must be exactly 13
    assert book.state is SyncState.NEEDS_RESYNC
    book.reset()
    assert (book.state, book.version, book.best_bid()) == (SyncState.WAITING_SNAPSHOT, 0, None)
    assert book.apply_snapshot(_snap(20)) and not book.on_diff(_diff(22, 23))  # 21 missing: gap, not accepted
    assert book.state is SyncState.NEEDS_RESYNC
