"""The replay core without sockets: reading the real recording, shifting, pacing, the market it feeds, synthetic data."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.sim.data import binance_recordings
from tradingmcp.sim.market import SymbolMarket, bucket_start
from tradingmcp.sim.replay import (
    EventKind,
    IdShift,
    MarketEvent,
    PassTracker,
    ReplayClock,
    merge_events,
    pace_delay_s,
    read_recording,
    shift_event,
)
from tradingmcp.sim.synthetic import synthetic_events, synthetic_market


def _head(symbol: str, data_dir: Path, n: int) -> list[MarketEvent]:
    return list(itertools.islice(read_recording(symbol, binance_recordings(symbol, data_dir)), n))


def test_reader_kinds_and_snapshot_position(data_dir: Path) -> None:
    events = _head("BTCUSDT", data_dir, 50)
    kinds = [e.kind for e in events]
    assert kinds.index(EventKind.SNAPSHOT) == 7  # README: the REST snapshot is line 8
    assert {EventKind.DEPTH, EventKind.BOOK_TICKER, EventKind.TRADE} <= set(kinds)
    assert all(e.symbol == "BTCUSDT" for e in events)
    assert events[0].exchange_ms == 1723161255208
    assert [e.local_ns for e in events] == sorted(e.local_ns for e in events)


def test_merge_is_ordered_by_local_stamp(data_dir: Path) -> None:
    merged = list(
        itertools.islice(
            merge_events([read_recording(s, binance_recordings(s, data_dir)) for s in ("BTCUSDT", "ETHUSDT")]), 3000
        )
    )
    stamps = [e.local_ns for e in merged]
    assert stamps == sorted(stamps)
    assert {e.symbol for e in merged} == {"BTCUSDT", "ETHUSDT"}


def test_shift_moves_times_and_ids_only() -> None:
    trade = MarketEvent(1, "BTCUSDT", EventKind.TRADE, {"e": "trade", "E": 10, "T": 9, "t": 5, "p": "1.0", "m": True})
    depth = MarketEvent(
        2, "BTCUSDT", EventKind.DEPTH, {"e": "depthUpdate", "E": 10, "U": 100, "u": 105, "b": [], "a": []}
    )
    snap = MarketEvent(3, "BTCUSDT", EventKind.SNAPSHOT, {"lastUpdateId": 99, "bids": [], "asks": []})
    shift = IdShift(1000, {"BTCUSDT": 50}, {"BTCUSDT": 7})
    assert shift_event(trade, shift) == {"e": "trade", "E": 1010, "T": 1009, "t": 12, "p": "1.0", "m": True}
    assert shift_event(depth, shift) | {} == {"e": "depthUpdate", "E": 1010, "U": 150, "u": 155, "b": [], "a": []}
    assert shift_event(snap, shift)["lastUpdateId"] == 149
    assert trade.data["E"] == 10  # the recorded event is untouched


def test_pass_tracker_moves_next_pass_past_every_id() -> None:
    tracker = PassTracker()
    tracker.see(MarketEvent(1, "BTCUSDT", EventKind.SNAPSHOT, {"lastUpdateId": 100, "bids": [], "asks": []}))
    tracker.see(MarketEvent(2, "BTCUSDT", EventKind.DEPTH, {"E": 5000, "U": 101, "u": 120, "b": [], "a": []}))
    tracker.see(MarketEvent(3, "BTCUSDT", EventKind.TRADE, {"E": 9000, "T": 9000, "t": 7, "p": "1", "q": "1", "m": 1}))
    tracker.see(MarketEvent(4, "BTCUSDT", EventKind.TRADE, {"E": 9500, "T": 9500, "t": 9, "p": "1", "q": "1", "m": 1}))
    nxt = tracker.advance(IdShift(0, {}, {}), gap_ms=1000)
    assert nxt.update_id["BTCUSDT"] == 21  # next pass snapshot 100 + 21 = 121 > last u 120
    assert nxt.trade_id["BTCUSDT"] == 3  # trade 7 + 3 = 10 > last 9
    assert nxt.time_ms == 4500 + 1000


def test_clock_and_pacing() -> None:
    clock = ReplayClock(speed=10.0, start_ms=0)
    clock.on_event(1_000_000, wall_s=100.0)
    assert clock.now_ms(100.5) == 1_005_000  # 0.5 s of wall time at 10x
    clock.on_event(1_001_000, wall_s=100.6)
    assert clock.now_ms(100.6) == 1_005_000  # never backwards
    manual = ReplayClock(speed=0, start_ms=0)
    manual.on_event(42, wall_s=1.0)
    assert manual.now_ms(500.0) == 42
    assert pace_delay_s(2_000_000_000, 0, start_wall_s=10.0, now_wall_s=10.0, speed=4.0) == 0.5
    assert pace_delay_s(2_000_000_000, 0, start_wall_s=10.0, now_wall_s=11.0, speed=4.0) == 0.0
    assert pace_delay_s(2_000_000_000, 0, 10.0, 10.0, float("inf")) == 0.0


def _feed(market: SymbolMarket, event: MarketEvent) -> None:
    if event.kind is EventKind.SNAPSHOT:
        market.on_snapshot(event.data)
    elif event.kind is EventKind.DEPTH:
        market.on_depth(event.data)
    elif event.kind is EventKind.BOOK_TICKER:
        market.on_book_ticker(event.data)
    else:
        market.on_trade(event.data)


def test_market_book_matches_recorded_book_ticker_oracle(data_dir: Path) -> None:
    """README oracle: where a bookTicker's u equals an applied diff's u, its best bid/ask equal the rebuilt book."""
    market = SymbolMarket("BTCUSDT", lambda s, p: None, lambda s: False)
    tickers: dict[int, tuple[str, str]] = {}
    books: dict[int, tuple[str, str]] = {}
    for event in _head("BTCUSDT", data_dir, 30_000):
        if event.kind is EventKind.BOOK_TICKER:
            tickers[event.data["u"]] = (event.data["b"], event.data["a"])
        _feed(market, event)
        if event.kind in (EventKind.DEPTH, EventKind.SNAPSHOT) and market.snapshot_loaded:
            bid, ask = market.book.best_bid(), market.book.best_ask()
            assert bid is not None and ask is not None
            books[market.book.last_update_id] = (f"{bid[0]:.8f}", f"{ask[0]:.8f}")
    common = tickers.keys() & books.keys()
    assert len(common) > 100
    assert all(tickers[u] == books[u] for u in common)


def _derived(data_dir: Path, name: str, n: int) -> list[dict[str, Any]]:
    out = []
    with gzip.open(data_dir / "binance" / "derived" / name, "rb") as fh:
        for line in itertools.islice(fh, n):
            out.append(orjson.loads(line.partition(b" ")[2])["data"])
    return out


def test_derived_agg_trades_and_klines_match_the_derived_files(data_dir: Path) -> None:
    frames: list[tuple[str, dict[str, Any]]] = []
    wanted = {"btcusdt@aggTrade", "btcusdt@kline_1m"}
    market = SymbolMarket("BTCUSDT", lambda s, p: frames.append((s, p)), wanted.__contains__)
    for event in _head("BTCUSDT", data_dir, 40_000):
        _feed(market, event)
    market.end_of_batch()
    expected = _derived(data_dir, "binance_spot_btcusdt_aggTrade.DERIVED.gz", 500)
    got = [p for s, p in frames if s == "btcusdt@aggTrade"][:500]
    assert [(g["a"], g["p"], g["q"], g["f"], g["l"], g["T"], g["m"]) for g in got] == [
        (e["a"], e["p"], e["q"], e["f"], e["l"], e["T"], e["m"]) for e in expected
    ]
    closed_expected = [
        k["k"] for k in _derived(data_dir, "binance_spot_btcusdt_kline_1m.DERIVED.gz", 2000) if k["k"]["x"]
    ]
    closed_got = [p["k"] for s, p in frames if s == "btcusdt@kline_1m" and p["k"]["x"]]
    keys = ("t", "T", "o", "h", "l", "c", "v", "n", "q", "V", "Q", "f", "L")
    expected_by_t = {k["t"]: [k[x] for x in keys] for k in closed_expected}  # whole minutes only
    whole = [k for k in closed_got if k["t"] in expected_by_t]
    assert whole, "no closed whole 1m bar in 40k events"
    assert [[k[x] for x in keys] for k in whole] == [expected_by_t[k["t"]] for k in whole]
    rows = market.bars("5m")
    assert rows and rows[0].t == bucket_start(rows[0].t, "5m")
    assert sum(b.n for b in rows) == len(market.trades)


def test_synthetic_is_seeded_and_self_consistent() -> None:
    a = list(synthetic_events("BTCUSDT", seed=7, duration_s=20))
    b = list(synthetic_events("BTCUSDT", seed=7, duration_s=20))
    c = list(synthetic_events("BTCUSDT", seed=8, duration_s=20))
    assert [orjson.dumps(e.data) for e in a] == [orjson.dumps(e.data) for e in b]
    assert [orjson.dumps(e.data) for e in a] != [orjson.dumps(e.data) for e in c]
    market = SymbolMarket("BTCUSDT", lambda s, p: None, lambda s: False)
    last_u = None
    tickers = 0
    for event in a:
        if event.kind is EventKind.DEPTH:
            if last_u is not None:
                assert event.data["U"] == last_u + 1
            last_u = event.data["u"]
        if event.kind is EventKind.BOOK_TICKER:
            bid, ask = market.book.best_bid(), market.book.best_ask()
            assert bid is not None and ask is not None and bid[0] < ask[0]
            assert (f"{bid[0]:.8f}", f"{ask[0]:.8f}") == (event.data["b"], event.data["a"])
            tickers += 1
        _feed(market, event)
    assert tickers == 200
    merged = list(synthetic_market(("BTCUSDT", "ETHUSDT"), seed=1, duration_s=5))
    assert [e.local_ns for e in merged] == sorted(e.local_ns for e in merged)


def test_kline_aggregation_from_mid_bucket_start_time(data_dir: Path) -> None:
    market = SymbolMarket("BTCUSDT", lambda s, p: None, lambda s: False)
    for event in _head("BTCUSDT", data_dir, 40_000):
        _feed(market, event)
    full = market.bars("5m")
    assert len(full) >= 2
    second = full[1]
    again = market.bars("5m", start_ms=second.t + 90_000)  # inside the second bar: the whole bar, not a part
    assert again[0].t == second.t and again[0].n == second.n and again[0].o == second.o
    assert sum(b.n for b in market.bars("1m", second.t, second.T)) == second.n
