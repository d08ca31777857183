"""``BookSide``: one side of a local order book (sans-I/O), shared by the Bybit and MEXC local books.

Price → quantity, with the prices kept sorted ascending (``bisect``); a quantity of 0 removes the level, as both
venues' depth messages mean it.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from decimal import Decimal

from tradingmcp.server.exchanges.models import BookLevel


class BookSide:
    """Bids (``descending=True``: best = highest) or asks (best = lowest)."""

    __slots__ = ("_descending", "_prices", "_qty")

    def __init__(self, descending: bool) -> None:
        self._qty: dict[Decimal, Decimal] = {}
        self._prices: list[Decimal] = []
        self._descending = descending

    def clear(self) -> None:
        """Remove every level."""
        self._qty.clear()
        self._prices.clear()

    def set(self, price: Decimal, qty: Decimal) -> None:
        """Set the level at ``price`` to the absolute ``qty`` (0 removes it)."""
        if qty == 0:
            if self._qty.pop(price, None) is not None:
                del self._prices[bisect_left(self._prices, price)]
            return
        if price not in self._qty:
            insort(self._prices, price)
        self._qty[price] = qty

    def best(self) -> BookLevel | None:
        """The best level, None when the side is empty."""
        if not self._prices:
            return None
        price = self._prices[-1] if self._descending else self._prices[0]
        return BookLevel(price, self._qty[price])

    def top(self, n: int) -> tuple[BookLevel, ...]:
        """The best ``n`` levels, best first."""
        prices = self._prices[::-1][:n] if self._descending else self._prices[:n]
        return tuple(BookLevel(p, self._qty[p]) for p in prices)

    def __len__(self) -> int:
        return len(self._prices)
