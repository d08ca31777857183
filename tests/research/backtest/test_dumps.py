"""Parsers of the data.binance.vision spot dumps, on rows written here (the column orders of
https://github.com/binance/binance-public-data), in CSV and ZIP, ms and µs timestamps."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.research.backtest.dumps import (
    DumpFormatError,
    DumpTrade,
    dump_events,
    dump_files,
    symbol_of,
    trades_of,
)
from tradingmcp.sim.replay import EventKind

TRADES = [
    "51175358,17.80180000,5.69000000,101.29224200,1735689600010866,True,True",  # 2025: µs
    "51175359,17.80190000,1.00000000,17.80190000,1735689600020000,False,True",
]
TRADES_MS = ["100,4300.38,0.233124,1002.521787,1502942585198,True,True"]  # 2017: ms
AGG = ["29,29.20000000,50.00000000,0,0,1735689600010866,False,True"]
KLINE = [
    "1735689600000000,4.15070000,4.15870000,4.15060000,4.15540000,539.23000000,1735693199999999,"
    "2240.39860900,13,401.82000000,1669.98121300,0"
]


def _csv(tmp_path: Path, name: str, rows: list[str], header: str | None = None) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{r}\n" for r in ([header] if header else []) + rows))
    return path


def _zip(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name.replace(".zip", ".csv"), "".join(f"{r}\n" for r in rows))
    return path


def test_trades_csv_microseconds(tmp_path: Path) -> None:
    fmt, trades = trades_of(_csv(tmp_path, "SOLUSDT-trades-2025-01-01.csv", TRADES))
    assert fmt == "trades"
    assert list(trades) == [
        DumpTrade(51175358, "17.80180000", "5.69000000", 1735689600010866, True),
        DumpTrade(51175359, "17.80190000", "1.00000000", 1735689600020000, False),
    ]


def test_trades_zip_milliseconds_become_micros(tmp_path: Path) -> None:
    fmt, trades = trades_of(_zip(tmp_path, "BTCUSDT-trades-2017-08.zip", TRADES_MS))
    assert fmt == "trades"
    (t,) = list(trades)
    assert t.time_us == 1502942585198_000 and t.buyer_maker is True and t.price == "4300.38"


def test_agg_trades_with_header(tmp_path: Path) -> None:
    header = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match"
    fmt, trades = trades_of(_csv(tmp_path, "BNBUSDT-aggTrades-2025-01-01.csv", AGG, header))
    assert fmt == "aggTrades"
    assert list(trades) == [DumpTrade(29, "29.20000000", "50.00000000", 1735689600010866, False)]


def test_kline_becomes_four_trades(tmp_path: Path) -> None:
    fmt, trades = trades_of(_zip(tmp_path, "ADAUSDT-1h-2025-01-01.zip", KLINE))
    assert fmt == "klines"
    got = list(trades)
    # a rising bar (close 4.1554 ≥ open 4.1507): open, low, high, close; each a quarter of 539.23
    assert [t.price for t in got] == ["4.15070000", "4.15060000", "4.15870000", "4.15540000"]
    assert [t.buyer_maker for t in got] == [False, True, False, False]
    assert {t.qty for t in got} == {"134.80750000"}
    assert got[0].time_us == 1735689600000000 and got[-1].time_us == 1735693199999999
    assert [t.time_us for t in got] == sorted(t.time_us for t in got)


def test_unknown_column_count_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DumpFormatError, match="5 columns"):
        trades_of(_csv(tmp_path, "BTCUSDT-x.csv", ["1,2,3,4,5"]))


def test_bad_number_names_the_row(tmp_path: Path) -> None:
    _, trades = trades_of(_csv(tmp_path, "BTCUSDT-trades.csv", [TRADES[0], "7,abc,1,1,1735689600010866,True,True"]))
    with pytest.raises(DumpFormatError, match="row 2"):
        list(trades)


def test_zip_without_csv(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-trades.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("README.txt", "nothing")
    with pytest.raises(DumpFormatError, match=r"no \.csv"):
        trades_of(path)


def test_files_and_symbols(tmp_path: Path) -> None:
    a = _csv(tmp_path, "ETHUSDT-trades-2025-01-02.csv", TRADES)
    b = _zip(tmp_path, "BTCUSDT-aggTrades-2025-01-01.zip", AGG)
    (tmp_path / "notes.txt").write_text("x")
    assert dump_files(tmp_path) == [b, a]
    assert symbol_of(a) == "ETHUSDT"
    with pytest.raises(FileNotFoundError):
        dump_files(tmp_path / "missing")


def test_events_of_a_trade_bracket_it_with_a_one_level_book() -> None:
    trades = [DumpTrade(1, "100.00", "2", 1_000_000, True), DumpTrade(2, "100.01", "1", 2_000_000, False)]
    events = list(dump_events("BTCUSDT", trades, Decimal("0.01")))
    assert [e.kind for e in events] == [EventKind.TRADE, EventKind.SNAPSHOT, EventKind.BOOK_TICKER] * 2
    trade, snap, ticker = events[:3]
    assert trade.data == {"e": "trade", "E": 1000, "s": "BTCUSDT", "t": 1, "p": "100.00", "q": "2", "T": 1000,
                          "m": True, "M": True}  # fmt: skip
    assert trade.local_ns == 1_000_000_000
    assert snap.data == {"lastUpdateId": 1, "bids": [["100.00", "2"]], "asks": [["100.01", "2"]]}  # seller hit bid
    assert (ticker.data["b"], ticker.data["a"]) == ("100.00", "100.01")
    assert (events[4].data["bids"], events[4].data["asks"]) == ([["100.00", "1"]], [["100.01", "1"]])  # buyer lifted
