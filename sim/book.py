"""One symbol's replayed L2 order book (sans-I/O).

Built from a REST depth snapshot and ``depthUpdate`` diffs exactly as Binance's "How to manage a local order book"
describes (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly):
a diff whose final update id ``u`` is at or below the book's ``lastUpdateId`` is stale and ignored; a diff whose first
update id ``U`` is above ``lastUpdateId + 1`` is a gap; a quantity of ``"0"`` removes the level.

Storage, per side: a dict ``key -> (price string, price string, quantity string)`` and the keys in a list kept sorted
with :mod:`bisect`. A key is the price as an exact integer count of ``10**-scale`` (``"61837.63000000"`` is
``6183763000000`` at the default scale 8; a price with more decimals raises the book's scale), negated on the ask side
so that both lists hold their best level last, where most updates land. Integer keys compare and hash far faster than
``Decimal`` ones, and a wire string with the book's number of decimals becomes its key with one ``int()``. The original wire strings are
kept: :meth:`SimBook.depth` and :meth:`SimBook.book_ticker` serve them unchanged, and the ``Decimal`` values
:meth:`SimBook.best_bid`, :meth:`SimBook.levels` and the others return are parsed from them when read. A level keeps
the price string it was created with (for its ``Decimal``) and the latest one (for the wire), as a dict keyed by the
``Decimal`` value would.

Wire strings are decimals as Binance sends them (``"61837.63000000"``); a price in another spelling (``"99.5"``,
``"6.183763E+4"``) is read through ``Decimal``. A price that is not a finite number, or a quantity that is not a
number, raises :class:`ValueError` when applied.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

WireLevels = Iterable[Sequence[str]]
Level = tuple[str, str, str]
"""``(price string the level was created with, latest price string, quantity string)``."""

DEFAULT_SCALE = 8
"""Decimals of a key to begin with (Binance's wire strings have 8); a price with more raises the book's scale."""

CACHE_MAX = 1 << 16
"""Wire strings the book keeps parsed as ``Decimal`` (those it returns); the cache is emptied when it grows past this."""


class BookGapError(ValueError):
    """A diff does not follow the book (``U > lastUpdateId + 1``): the replay must resync from a snapshot."""


_ZERO_WIRE = "0.00000000"
"""A zero quantity as Binance writes it (told apart by one string comparison)."""

_ZERO_REST = ("", ".")
"""What is left of a zero quantity's wire string without its zeros (``"0.00000000"``, ``"0"``)."""


def _is_zero(qty: str) -> bool:
    """Whether a quantity wire string is zero, as ``Decimal(qty) == 0`` says (a float parse first: a non-zero float
    is a non-zero number; an amount too small for a float is not taken for zero).

    Raises:
        ValueError: not a number.
    """
    if float(qty):
        return False
    try:
        return Decimal(qty).is_zero()
    except InvalidOperation:
        raise ValueError(f"bad quantity {qty!r}") from None


class _BookSide:
    """One side: ``key -> Level`` plus the keys ascending (best last); ``sign`` is +1 for bids, -1 for asks."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []


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
        self._bids = _BookSide(1)
        self._asks = _BookSide(-1)
        self._scale = DEFAULT_SCALE
        self._decimals: dict[str, Decimal] = {}

    def __repr__(self) -> str:
        return (
            f"SimBook({self.symbol}, lastUpdateId={self.last_update_id}, bids={len(self._bids.keys)}, "
            f"asks={len(self._asks.keys)}, best={self.best_bid()}/{self.best_ask()})"
        )

    # ---- keys ----------------------------------------------------------------------------------------------------

    def _key(self, price: str, sign: int) -> int:
        """The key of a price wire string (``sign``: the side's); may raise the book's scale.

        Raises:
            ValueError: not a finite number.
        """
        scale = self._scale
        if len(price) > scale and price[-scale - 1] == ".":
            try:  # int() reads what Decimal() reads in this shape (signs, spaces, "_"), to the same value
                return int(price.replace(".", "", 1)) * sign
            except ValueError:
                pass
        try:
            value = Decimal(price)
        except InvalidOperation:
            raise ValueError(f"{self.symbol}: bad price {price!r}") from None
        if not value.is_finite():
            raise ValueError(f"{self.symbol}: bad price {price!r}")
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > self._scale:
            self._rescale(-exponent)
        return int(value.scaleb(self._scale)) * sign

    def _rescale(self, scale: int) -> None:
        """Re-key both sides at ``scale`` decimals (more than now)."""
        factor = 10 ** (scale - self._scale)
        self._scale = scale
        for side in (self._bids, self._asks):
            side.levels = {key * factor: level for key, level in side.levels.items()}
            side.keys = [key * factor for key in side.keys]

    def _dec(self, text: str) -> Decimal:
        value = self._decimals.get(text)
        if value is None:
            if len(self._decimals) > CACHE_MAX:
                self._decimals.clear()
            value = self._decimals[text] = Decimal(text)
        return value

    # ---- updates -------------------------------------------------------------------------------------------------

    def load_snapshot(self, last_update_id: int, bids: WireLevels, asks: WireLevels) -> None:
        """Replace the book with a depth snapshot.

        Args:
            last_update_id: the snapshot's ``lastUpdateId``.
            bids / asks: ``[[price, qty], ...]`` wire strings (e.g. ``["61837.63000000", "3.78826000"]``).

        Raises:
            ValueError: a price that is not a finite number, a quantity that is not a number.
        """
        sides = ((self._bids, list(bids)), (self._asks, list(asks)))
        scale = -1
        while scale != self._scale:  # once more when a price raised the scale meanwhile
            scale = self._scale
            for side, updates in sides:
                levels: dict[int, Level] = {}
                for price_s, qty_s, *_ in updates:
                    if not _is_zero(qty_s):
                        key = self._key(price_s, side.sign)
                        old = levels.get(key)
                        levels[key] = (price_s if old is None else old[0], price_s, qty_s)
                side.levels = levels
                side.keys = sorted(levels)
        self.last_update_id = last_update_id

    def apply_diff(self, first_update_id: int, final_update_id: int, bids: WireLevels, asks: WireLevels) -> bool:
        """Apply one ``depthUpdate`` (``U`` = ``first_update_id``, ``u`` = ``final_update_id``, ``b``, ``a``).

        Returns:
            True when applied; False when stale (``u <= lastUpdateId``) and ignored.

        Raises:
            BookGapError: ``U > lastUpdateId + 1`` while the book holds a snapshot (``lastUpdateId > 0``).
            ValueError: a price that is not a finite number, a quantity that is not a number (the levels before it
                are applied).
        """
        if final_update_id <= self.last_update_id:
            return False
        if self.last_update_id and first_update_id > self.last_update_id + 1:
            raise BookGapError(
                f"{self.symbol}: diff U={first_update_id} after lastUpdateId={self.last_update_id} (gap)"
            )
        self._apply(self._bids, bids)
        self._apply(self._asks, asks)
        self.last_update_id = final_update_id
        return True

    def _apply(self, side: _BookSide, updates: WireLevels) -> None:
        """The hot path of :meth:`apply_diff`: one side's level updates (:meth:`_key` and :func:`_is_zero` inlined
        for the common shapes: a price with the book's number of decimals, Binance's zero ``"0.00000000"``)."""
        levels = side.levels
        keys = side.keys
        get = levels.get
        pop = levels.pop
        sign = side.sign
        scale = self._scale
        dot = -scale - 1
        for level in updates:
            price_s = level[0]
            qty_s = level[1]
            if len(price_s) > scale and price_s[dot] == ".":
                try:  # int() reads what Decimal() reads in this shape (signs, spaces, "_"), to the same value
                    key = int(price_s.replace(".", "", 1)) * sign
                except ValueError:
                    key = None
            else:
                key = None
            if key is None:
                key = self._key(price_s, sign)
                if scale != self._scale:  # that price re-keyed the book
                    levels, keys, scale = side.levels, side.keys, self._scale
                    get, pop, dot = levels.get, levels.pop, -scale - 1
            if qty_s == _ZERO_WIRE or not (
                float(qty_s) or (qty_s.strip("0") not in _ZERO_REST and not _is_zero(qty_s))
            ):
                if pop(key, None) is not None:
                    del keys[bisect_left(keys, key)]
                continue
            old = get(key)
            if old is None:
                insort(keys, key)
                levels[key] = (price_s, price_s, qty_s)
            else:
                levels[key] = (old[0], price_s, qty_s)

    # ---- reads ---------------------------------------------------------------------------------------------------

    def _best(self, side: _BookSide) -> tuple[Decimal, Decimal] | None:
        if not side.keys:
            return None
        first, _, qty = side.levels[side.keys[-1]]
        return self._dec(first), self._dec(qty)

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """Highest bid as ``(price, qty)``, or None when the side is empty."""
        return self._best(self._bids)

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """Lowest ask as ``(price, qty)``, or None when the side is empty."""
        return self._best(self._asks)

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
        dec = self._dec
        for key in reversed(book_side.keys):
            first, _, qty = levels[key]
            yield dec(first), dec(qty)

    def book_ticker(self) -> dict[str, Any] | None:
        """``{"u", "s", "b", "B", "a", "A"}`` with the wire strings, or None when a side is empty."""
        bids, asks = self._bids, self._asks
        if not bids.keys or not asks.keys:
            return None
        _, bp, bq = bids.levels[bids.keys[-1]]
        _, ap, aq = asks.levels[asks.keys[-1]]
        return {"u": self.last_update_id, "s": self.symbol, "b": bp, "B": bq, "a": ap, "A": aq}

    def depth(self, limit: int = 100) -> dict[str, Any]:
        """The ``GET /api/v3/depth`` body: ``{"lastUpdateId", "bids": [[p, q], ...], "asks": [...]}``, best first.

        Args:
            limit: levels per side (Binance allows 1..5000).
        """
        return {
            "lastUpdateId": self.last_update_id,
            "bids": self._top(self._bids, limit),
            "asks": self._top(self._asks, limit),
        }

    @staticmethod
    def _top(side: _BookSide, limit: int) -> list[list[str]]:
        if limit <= 0:
            return []
        levels = side.levels
        out = []
        for key in reversed(side.keys[-limit:]):
            level = levels[key]
            out.append([level[1], level[2]])
        return out

    def __len__(self) -> int:
        """Number of price levels on both sides."""
        return len(self._bids.keys) + len(self._asks.keys)
