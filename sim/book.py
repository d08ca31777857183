"""One symbol's replayed L2 order book (sans-I/O).

Built from a REST depth snapshot and ``depthUpdate`` diffs exactly as Binance's "How to manage a local order book"
describes (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly):
a diff whose final update id ``u`` is at or below the book's ``lastUpdateId`` is stale and ignored; a diff whose first
update id ``U`` is above ``lastUpdateId + 1`` is a gap; a quantity of ``"0"`` removes the level.

Storage is a dict ``price -> level`` per side plus an ascending list of prices kept sorted with :mod:`bisect`; the
original wire strings are kept so :meth:`SimBook.depth` serves them unchanged.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

WireLevels = Iterable[Sequence[str]]
_ZERO = Decimal(0)


class BookGapError(ValueError):
    """A diff does not follow the book (``U > lastUpdateId + 1``): the replay must resync from a snapshot."""


class _BookSide:
    """One side: ``price -> (qty, price wire string, qty wire string)`` plus ascending sorted prices."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[Decimal, tuple[Decimal, str, str]] = {}
        self.prices: list[Decimal] = []

    def clear(self) -> None:
        self.levels.clear()
        self.prices.clear()

    def load(self, levels: WireLevels) -> None:
        self.clear()
        for price_s, qty_s, *_ in levels:
            qty = Decimal(qty_s)
            if qty != _ZERO:
                self.levels[Decimal(price_s)] = (qty, price_s, qty_s)
        self.prices = sorted(self.levels)


DECIMAL_CACHE_MAX = 1 << 16
"""Wire strings a book keeps parsed (prices and quantities recur); the cache is emptied when it grows past this."""


def _apply_levels(side: _BookSide, updates: WireLevels, parsed: dict[str, Decimal]) -> None:
    """Hot path of :meth:`SimBook.apply_diff` (the body of :meth:`_BookSide.set` inlined). ``parsed`` maps wire
    strings to their Decimal: a Decimal is immutable and caches its hash, so one object per string saves the parse
    and the hashing of every dict lookup."""
    levels = side.levels
    prices = side.prices
    get = parsed.get
    for level in updates:
        price_s = level[0]
        qty_s = level[1]
        price = get(price_s)
        if price is None:
            price = parsed[price_s] = Decimal(price_s)
        qty = get(qty_s)
        if qty is None:
            qty = parsed[qty_s] = Decimal(qty_s)
        if not qty:
            if levels.pop(price, None) is not None:
                del prices[bisect_left(prices, price)]
        else:
            if price not in levels:
                insort(prices, price)
            levels[price] = (qty, price_s, qty_s)


class SimBook:
    """A replayed L2 book for one symbol.

    Args:
        symbol: e.g. ``"BTCUSDT"``.

    Attributes:
        symbol: the symbol.
        last_update_id: the book's ``lastUpdateId`` (0 before any snapshot).
    """

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.last_update_id = 0
        self._bids = _BookSide()
        self._asks = _BookSide()
        self._parsed: dict[str, Decimal] = {}

    def __repr__(self) -> str:
        return (
            f"SimBook({self.symbol}, lastUpdateId={self.last_update_id}, bids={len(self._bids.prices)}, "
            f"asks={len(self._asks.prices)}, best={self.best_bid()}/{self.best_ask()})"
        )

    def load_snapshot(self, last_update_id: int, bids: WireLevels, asks: WireLevels) -> None:
        """Replace the book with a depth snapshot.

        Args:
            last_update_id: the snapshot's ``lastUpdateId``.
            bids / asks: ``[[price, qty], ...]`` wire strings (e.g. ``["61837.63000000", "3.78826000"]``).
        """
        self._bids.load(bids)
        self._asks.load(asks)
        self.last_update_id = last_update_id

    def apply_diff(self, first_update_id: int, final_update_id: int, bids: WireLevels, asks: WireLevels) -> bool:
        """Apply one ``depthUpdate`` (``U`` = ``first_update_id``, ``u`` = ``final_update_id``, ``b``, ``a``).

        Returns:
            True when applied; False when stale (``u <= lastUpdateId``) and ignored.

        Raises:
            BookGapError: ``U > lastUpdateId + 1`` while the book holds a snapshot (``lastUpdateId > 0``).
        """
        if final_update_id <= self.last_update_id:
            return False
        if self.last_update_id and first_update_id > self.last_update_id + 1:
            raise BookGapError(
                f"{self.symbol}: diff U={first_update_id} after lastUpdateId={self.last_update_id} (gap)"
            )
        parsed = self._parsed
        if len(parsed) > DECIMAL_CACHE_MAX:
            parsed.clear()
        _apply_levels(self._bids, bids, parsed)
        _apply_levels(self._asks, asks, parsed)
        self.last_update_id = final_update_id
        return True

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """Highest bid as ``(price, qty)``, or None when the side is empty."""
        prices = self._bids.prices
        if not prices:
            return None
        return prices[-1], self._bids.levels[prices[-1]][0]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """Lowest ask as ``(price, qty)``, or None when the side is empty."""
        prices = self._asks.prices
        if not prices:
            return None
        return prices[0], self._asks.levels[prices[0]][0]

    def mid_price(self) -> Decimal | None:
        """``(best bid + best ask) / 2``, or the one side present, or None for an empty book."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid and ask:
            return (bid[0] + ask[0]) / 2
        if bid:
            return bid[0]
        return ask[0] if ask else None

    def levels(self, side: str) -> Iterator[tuple[Decimal, Decimal]]:
        """The levels an order of ``side`` takes from, best first: asks ascending for a BUY, bids descending for a SELL.

        Yields:
            ``(price, qty)`` Decimals. Do not modify the book while iterating.
        """
        book_side = self._asks if side == "BUY" else self._bids
        levels = book_side.levels
        prices = book_side.prices if side == "BUY" else reversed(book_side.prices)
        for price in prices:
            yield price, levels[price][0]

    def book_ticker(self) -> dict[str, Any] | None:
        """``{"u", "s", "b", "B", "a", "A"}`` with the wire strings, or None when a side is empty."""
        if not self._bids.prices or not self._asks.prices:
            return None
        _, bp, bq = self._bids.levels[self._bids.prices[-1]]
        _, ap, aq = self._asks.levels[self._asks.prices[0]]
        return {"u": self.last_update_id, "s": self.symbol, "b": bp, "B": bq, "a": ap, "A": aq}

    def depth(self, limit: int = 100) -> dict[str, Any]:
        """The ``GET /api/v3/depth`` body: ``{"lastUpdateId", "bids": [[p, q], ...], "asks": [...]}``, best first.

        Args:
            limit: levels per side (Binance allows 1..5000).
        """
        bid_side, ask_side = self._bids, self._asks
        bid_prices = bid_side.prices[-limit:] if limit > 0 else []
        return {
            "lastUpdateId": self.last_update_id,
            "bids": [list(bid_side.levels[p][1:]) for p in reversed(bid_prices)],
            "asks": [list(ask_side.levels[p][1:]) for p in ask_side.prices[: max(limit, 0)]],
        }

    def __len__(self) -> int:
        """Number of price levels on both sides."""
        return len(self._bids.prices) + len(self._asks.prices)
