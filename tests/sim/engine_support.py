"""Real recorded Binance data for the simulator core tests (parsed once per process).

Lines are ``<ns> <json>``; the REST depth snapshot is a bare ``{lastUpdateId, bids, asks}`` body, everything else a
combined-stream frame ``{"stream": "btcusdt@depth@100ms", "data": {...}}``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
import pytest

from tradingmcp.sim.book import SimBook
from tradingmcp.sim.data import binance_recordings
from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.matching import MatchingEngine


@dataclass(frozen=True)
class Recording:
    """One symbol's recording in file order: ``events`` are ``(kind, data)`` with kind ``snapshot``, ``depth``,
    ``bookTicker`` or ``trade``."""

    symbol: str
    events: tuple[tuple[str, dict[str, Any]], ...]


@lru_cache(maxsize=4)
def recording(symbol: str = "BTCUSDT") -> Recording:
    """All events of the real recording of ``symbol`` (both days). Missing data raises (never skips)."""
    events: list[tuple[str, dict[str, Any]]] = []
    for path in binance_recordings(symbol):
        with gzip.open(path, "rb") as fh:
            for line in fh:
                frame = orjson.loads(line.split(b" ", 1)[1])
                if "lastUpdateId" in frame:
                    events.append(("snapshot", frame))
                    continue
                stream: str = frame["stream"]
                kind = "depth" if "@depth" in stream else stream.split("@", 1)[1]
                events.append((kind, frame["data"]))
    return Recording(symbol, tuple(events))


@lru_cache(maxsize=1)
def exchange_info() -> ExchangeInfo:
    """The real exchangeInfo body."""
    return ExchangeInfo.load()


class Replayer:
    """Feeds a recording into a :class:`SimBook` the way the simulator's replay does (buffer diffs until the
    snapshot, drop stale ones, then apply in order).

    Attributes:
        book: the book being rebuilt.
        position: index of the next event.
        applied: diffs applied so far.
    """

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.book = SimBook(rec.symbol)
        self.position = 0
        self.applied = 0
        self._loaded = False
        self._buffer: list[dict[str, Any]] = []

    def step(self) -> tuple[str, dict[str, Any]] | None:
        """Process one event; returns it, or None at the end."""
        if self.position >= len(self.rec.events):
            return None
        kind, data = self.rec.events[self.position]
        self.position += 1
        if kind == "snapshot":
            self.book.load_snapshot(data["lastUpdateId"], data["bids"], data["asks"])
            self._loaded = True
            for diff in self._buffer:
                self.applied += self.book.apply_diff(diff["U"], diff["u"], diff["b"], diff["a"])
            self._buffer.clear()
        elif kind == "depth":
            if self._loaded:
                self.applied += self.book.apply_diff(data["U"], data["u"], data["b"], data["a"])
            else:
                self._buffer.append(data)
        return kind, data

    def until_applied(self, diffs: int) -> SimBook:
        """Run until ``diffs`` diffs are applied (or the recording ends); returns the book."""
        while self.applied < diffs and self.step() is not None:
            pass
        return self.book


def book_after(diffs: int, symbol: str = "BTCUSDT") -> SimBook:
    """A real book rebuilt over the first ``diffs`` applied diffs."""
    return Replayer(recording(symbol)).until_applied(diffs)


# ---- engine test helpers ------------------------------------------------------------------------------------

D = Decimal
T0 = 1723161300000
FEE = D("0.001")
START = {"USDT": D("1000000"), "BTC": D("3")}


class Clock:
    """A settable simulator clock (epoch ms)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def make_engine(book: SimBook, clock: Clock) -> MatchingEngine:
    """An engine over ``book`` (real exchangeInfo) with account ``alice`` holding START."""
    eng = MatchingEngine(exchange_info(), {"BTCUSDT": book}, clock_ms=clock)
    eng.add_account("alice", START)
    return eng


def balances(engine: MatchingEngine, key: str = "alice") -> dict[str, tuple[D, D]]:
    """``{asset: (free, locked)}`` read through ``GET /api/v3/account``."""
    return {b["asset"]: (D(b["free"]), D(b["locked"])) for b in engine.account(key, {})["balances"]}


def levels(book: SimBook, side: str, n: int) -> list[tuple[D, D]]:
    """The first ``n`` levels from the wire depth (independent of SimBook.levels)."""
    rows = book.depth(n)["asks" if side == "BUY" else "bids"]
    return [(D(p), D(q)) for p, q in rows]


def order(**params: str) -> dict[str, str]:
    """Request params on BTCUSDT."""
    return {"symbol": "BTCUSDT", **params}


def limit(side: str, qty: str, price: D | str, tif: str = "GTC", **extra: str) -> dict[str, str]:
    """A LIMIT order's params."""
    return order(side=side, type="LIMIT", timeInForce=tif, quantity=qty, price=str(price), **extra)


def rejects(call: Callable[[], Any], code: int, msg: str) -> BinanceError:
    """Assert ``call`` raises the exact Binance error; return it."""
    with pytest.raises(BinanceError) as exc:
        call()
    assert (exc.value.code, exc.value.msg) == (code, msg)
    return exc.value


def assert_conserved(engine: MatchingEngine, key: str = "alice") -> None:
    """Per asset: free + locked == initial + received − paid − commission, all read back through the API."""
    expected = dict(START)
    for trade in engine.my_trades(key, order(limit="1000")):
        qty, quote, fee = D(trade["qty"]), D(trade["quoteQty"]), D(trade["commission"])
        base_delta, quote_delta = (qty, -quote) if trade["isBuyer"] else (-qty, quote)
        expected["BTC"] += base_delta
        expected["USDT"] += quote_delta
        expected[trade["commissionAsset"]] -= fee
    for asset, (free, locked) in balances(engine, key).items():
        assert free >= 0 and locked >= 0, asset
        assert free + locked == expected.get(asset, D(0)), asset


def events_of(engine: MatchingEngine, kind: str) -> list[dict[str, Any]]:
    """Drain events and keep those of type ``kind``."""
    return [e for _, e in engine.drain_events() if e["e"] == kind]
