"""Binance public data dumps (https://data.binance.vision, spot) as replayable market events (pure parsing, no I/O
beyond reading the given files).

Formats (https://github.com/binance/binance-public-data, "SPOT"): CSV without a header (a header line, if present,
is skipped), one file per symbol and day or month, plain ``.csv`` or a ``.zip`` holding one ``.csv``:

- ``trades`` (7 columns): ``trade Id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch``;
- ``aggTrades`` (8 columns): ``Aggregate tradeId, Price, Quantity, First tradeId, Last tradeId, Timestamp,
  Was the buyer the maker, Was the trade the best price match``;
- ``klines`` (12 columns): ``Open time, Open, High, Low, Close, Volume, Close time, Quote asset volume,
  Number of trades, Taker buy base asset volume, Taker buy quote asset volume, Ignore``.

The format is told by the column count. Times are epoch milliseconds before 2025 and microseconds from
2025-01-01 on ("The timestamp for SPOT Data from January 1st 2025 onwards will be in microseconds"): a value of
10^14 or more is read as µs. The symbol is the file name's first ``-`` field (``BTCUSDT-trades-2024-08-08.zip``).

A dump has trades but no order book, so each trade is followed by a synthetic one-level book around it (the trade's
side of the book at the trade price, the other side one tick away, both with the trade's quantity) as a depth
snapshot and a book ticker: the simulator's matching and the bot then run as on the recording. A kline becomes four
trades (open; low and high in the order the bar most likely took, low first for a rising bar; close) spread over
the bar, each a quarter of its volume. Both are approximations: the report of a dump run says which format it came
from.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from tradingmcp.sim.replay import EventKind, MarketEvent

MICROS_FROM = 10**14
"""Epoch timestamps at or above this are microseconds (2025+ spot files); below it milliseconds."""

FORMATS = {7: "trades", 8: "aggTrades", 12: "klines"}
"""Column count → format name."""

_QTY_GRID = Decimal("0.00000001")


class DumpFormatError(ValueError):
    """A dump file cannot be read: unknown column count, a bad number, no CSV inside a ZIP; names file and line."""


@dataclass(frozen=True, slots=True)
class DumpTrade:
    """One trade of a dump: ``time_us`` epoch µs, ``price``/``qty`` wire strings (quote per base / base),
    ``buyer_maker`` (True: the taker sold)."""

    trade_id: int
    price: str
    qty: str
    time_us: int
    buyer_maker: bool


def to_micros(value: int) -> int:
    """An epoch time from a dump (ms before 2025, µs after) in µs."""
    return value if value >= MICROS_FROM else value * 1000


def _bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1")


def read_rows(path: Path) -> Iterator[list[str]]:
    """CSV rows of a ``.csv`` or of the first ``.csv`` inside a ``.zip``; a header line (first field not a number) is
    skipped.

    Raises:
        DumpFormatError: a ZIP without a CSV. OSError: unreadable file.
    """
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise DumpFormatError(f"{path}: no .csv inside the zip")
            with zf.open(names[0]) as raw:
                yield from _rows(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        return
    with open(path, encoding="utf-8", newline="") as fh:
        yield from _rows(fh)


def _rows(fh: Iterable[str]) -> Iterator[list[str]]:
    for index, row in enumerate(csv.reader(fh)):
        if not row:
            continue
        if index == 0 and not row[0].strip().lstrip("-").isdigit():
            continue  # header
        yield row


def trades_of(path: Path) -> tuple[str, Iterator[DumpTrade]]:
    """``(format, trades)`` of one dump file (klines expanded into four trades each).

    Raises:
        DumpFormatError: unknown column count or a bad value (with file and row number).
    """
    rows = read_rows(path)
    first = next(rows, None)
    if first is None:
        return "empty", iter(())
    fmt = FORMATS.get(len(first))
    if fmt is None:
        raise DumpFormatError(
            f"{path}: {len(first)} columns; expected 7 (trades), 8 (aggTrades) or 12 (klines) from data.binance.vision"
        )

    def gen() -> Iterator[DumpTrade]:
        for n, row in enumerate(_chain(first, rows), start=1):
            try:
                yield from _parse(fmt, row)
            except (ValueError, IndexError, ArithmeticError) as exc:
                raise DumpFormatError(f"{path}: row {n}: {exc} ({','.join(row)[:120]})") from None

    return fmt, gen()


def _chain(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


def _parse(fmt: str, row: list[str]) -> Iterator[DumpTrade]:
    if fmt == "trades":
        yield DumpTrade(int(row[0]), _num(row[1]), _num(row[2]), to_micros(int(row[4])), _bool(row[5]))
    elif fmt == "aggTrades":
        yield DumpTrade(int(row[0]), _num(row[1]), _num(row[2]), to_micros(int(row[5])), _bool(row[6]))
    else:
        yield from kline_trades(row)


def _num(text: str) -> str:
    Decimal(text)  # validates
    return text.strip()


def kline_trades(row: list[str]) -> list[DumpTrade]:
    """Four trades for one kline row (see the module docstring); ids are the bar's open time in µs plus 0..3."""
    open_us, close_us = to_micros(int(row[0])), to_micros(int(row[6]))
    o, h, lo, c = (_num(x) for x in row[1:5])
    qty = (Decimal(row[5]) / 4).quantize(_QTY_GRID, rounding=ROUND_DOWN)
    if qty <= 0:
        return []
    q = format(qty, "f")
    rising = Decimal(c) >= Decimal(o)
    mid1, mid2 = ((lo, True), (h, False)) if rising else ((h, False), (lo, True))
    span = max(close_us - open_us, 3)
    times = (open_us, open_us + span // 3, open_us + 2 * span // 3, close_us)
    prices = ((o, not rising), mid1, mid2, (c, not rising))
    return [DumpTrade(open_us + i, p, q, t, m) for i, ((p, m), t) in enumerate(zip(prices, times, strict=True))]


def symbol_of(path: Path) -> str:
    """The symbol a dump file is named for (``BTCUSDT-aggTrades-2025-01-01.zip`` → ``BTCUSDT``)."""
    return path.name.split("-", 1)[0].upper()


def dump_files(path: Path) -> list[Path]:
    """The dump files at ``path`` (a file, or every ``.csv``/``.zip`` in a folder, sorted by name).

    Raises:
        FileNotFoundError: nothing there.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".zip"))
    elif path.exists():
        files = [path]
    else:
        files = []
    if not files:
        raise FileNotFoundError(f"no Binance dump files (.csv/.zip) at {path}")
    return files


def dump_events(symbol: str, trades: Iterable[DumpTrade], tick: Decimal) -> Iterator[MarketEvent]:
    """The market events of a dump's trades: per trade a ``trade`` frame, then the synthetic one-level book as a
    depth snapshot and a ``bookTicker`` (update ids count from 1). ``local_ns`` is the trade time in ns."""
    update_id = 0
    for t in trades:
        update_id += 1
        ms = t.time_us // 1000
        ns = t.time_us * 1000
        trade = {"e": "trade", "E": ms, "s": symbol, "t": t.trade_id, "p": t.price, "q": t.qty, "T": ms,
                 "m": t.buyer_maker, "M": True}  # fmt: skip
        yield MarketEvent(ns, symbol, EventKind.TRADE, trade)
        price = Decimal(t.price)
        if t.buyer_maker:  # the taker sold into the bid
            bid, ask = price, price + tick
        else:
            bid, ask = price - tick, price
        if bid <= 0:
            continue
        b, a = format(bid, "f"), format(ask, "f")
        yield MarketEvent(ns, symbol, EventKind.SNAPSHOT, {"lastUpdateId": update_id, "bids": [[b, t.qty]],
                                                           "asks": [[a, t.qty]]})  # fmt: skip
        yield MarketEvent(ns, symbol, EventKind.BOOK_TICKER, {"u": update_id, "s": symbol, "b": b, "B": t.qty,
                                                              "a": a, "A": t.qty})  # fmt: skip
