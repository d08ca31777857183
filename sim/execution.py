"""Pure helpers of the matching engine: walking book levels, trigger rules, commission rounding, id generation.

No state lives here; :mod:`tradingmcp.sim.core` applies the results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from tradingmcp.sim.book import SimBook
from tradingmcp.sim.state import ZERO, Order

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class TakerPlan(NamedTuple):
    """What a taker order would get from the book (a NamedTuple: immutable and cheap to build, one per order).

    Attributes:
        fills: ``[(price, qty), ...]`` best first (quote per base, base asset).
        exhausted: the walk ran out of levels (or reached the limit price) before the order was done.
    """

    fills: list[tuple[Decimal, Decimal]]
    exhausted: bool

    @property
    def qty(self) -> Decimal:
        """Total base quantity."""
        return sum((q for _, q in self.fills), ZERO)

    @property
    def quote(self) -> Decimal:
        """Total quote amount (``Σ price × qty``)."""
        return sum((p * q for p, q in self.fills), ZERO)


def plan_taker(
    levels: Iterable[tuple[Decimal, Decimal]],
    side: str,
    *,
    limit_price: Decimal | None = None,
    quantity: Decimal | None = None,
    quote_qty: Decimal | None = None,
    step_size: Decimal = ZERO,
) -> TakerPlan:
    """Walk the levels an order takes from (asks for a BUY, bids for a SELL; best first).

    Each level gives at most its own quantity at its own price. The replayed book is not depleted by the walk.

    Args:
        levels: ``(price, qty)`` best first (from :meth:`SimBook.levels`).
        side: ``"BUY"`` or ``"SELL"``.
        limit_price: stop at levels worse than this (None for MARKET).
        quantity: base quantity wanted; or
        quote_qty: quote amount to spend (BUY) / receive (SELL), each level's take rounded down to ``step_size``.
        step_size: LOT_SIZE step for ``quote_qty`` walks (0: no rounding).

    Returns:
        The plan; ``exhausted`` is False only when the order's whole size was found.
    """
    fills: list[tuple[Decimal, Decimal]] = []
    left_qty = quantity
    left_quote = quote_qty
    for price, level_qty in levels:
        if limit_price is not None and (price > limit_price if side == "BUY" else price < limit_price):
            return TakerPlan(fills, True)
        if left_qty is not None:
            take = min(level_qty, left_qty)
            left_qty -= take
        else:
            assert left_quote is not None
            take = min(level_qty, left_quote / price)
            if step_size:
                take = (take / step_size).to_integral_value(ROUND_DOWN) * step_size
            if take <= ZERO:
                return TakerPlan(fills, False)
            left_quote -= take * price
        if take > ZERO:
            fills.append((price, take))
        if (left_qty is not None and left_qty <= ZERO) or (left_quote is not None and left_quote <= ZERO):
            return TakerPlan(fills, False)
    return TakerPlan(fills, True)


def taker_plan(order: Order, book: SimBook | None) -> TakerPlan:
    """What ``order`` would take from its replayed ``book`` now: its remaining quantity (limit price bound for all but
    MARKET), or for a MARKET order by quote its ``origQuoteOrderQty``."""
    if book is None:
        return TakerPlan([], True)
    if order.type != "MARKET":
        best = book.best_ask() if order.side == "BUY" else book.best_bid()
        if best is None or not would_cross(order.side, order.price, best[0]):
            return TakerPlan([], True)  # a resting limit order: the walk would stop at the first level
    lot_size = order.info.lot_size
    quote_based = order.type == "MARKET" and order.orig_quote_order_qty > ZERO
    return plan_taker(
        book.levels(order.side),
        order.side,
        limit_price=None if order.type == "MARKET" else order.price,
        quantity=None if quote_based else order.remaining,
        quote_qty=order.orig_quote_order_qty if quote_based else None,
        step_size=lot_size.step_size if lot_size else ZERO,
    )


def would_trigger(order: Order, reference_price: Decimal) -> bool:
    """Whether a stop order's stopPrice is reached at ``reference_price`` (last trade price).

    STOP_LOSS_LIMIT: a SELL triggers at ``price <= stopPrice``, a BUY at ``price >= stopPrice``.
    TAKE_PROFIT_LIMIT: a SELL triggers at ``price >= stopPrice``, a BUY at ``price <= stopPrice``.
    """
    falling = (order.type == "STOP_LOSS_LIMIT") == (order.side == "SELL")
    return reference_price <= order.stop_price if falling else reference_price >= order.stop_price


def would_cross(side: str, price: Decimal, best_opposite: Decimal | None) -> bool:
    """Whether a limit order at ``price`` would take liquidity (BUY at or above best ask, SELL at or below best bid)."""
    if best_opposite is None:
        return False
    return price >= best_opposite if side == "BUY" else price <= best_opposite


def commission(amount: Decimal, rate: Decimal, digits: int) -> Decimal:
    """``amount × rate`` rounded half-up to ``digits`` decimals (the commission asset's precision)."""
    return (amount * rate).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


_PAIRS = [_ALPHABET[i % 62] + _ALPHABET[i // 62] for i in range(62 * 62)]
"""Two base62 digits at once, least significant first (``_PAIRS[r] == _ALPHABET[r % 62] + _ALPHABET[r // 62]``)."""


def make_id(namespace: str, counter: int, length: int = 22) -> str:
    """A deterministic Binance-looking id (base62, ``length`` chars) from a namespace and a counter.

    The digits of the SHA-256 of ``namespace:counter`` in base 62, least significant first, taken two at a time.
    """
    digest = int.from_bytes(hashlib.sha256(f"{namespace}:{counter}".encode()).digest(), "big")
    chars = []
    for _ in range(length >> 1):
        digest, rem = divmod(digest, 3844)
        chars.append(_PAIRS[rem])
    if length & 1:
        chars.append(_ALPHABET[digest % 62])
    return "".join(chars)
