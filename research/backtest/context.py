"""The process conditions a backtest computes in: a fixed decimal context (:func:`money_context`) and the cyclic
garbage collector paused (:func:`paused_gc`), so the same input gives the same bytes, at the same speed, in any
process."""

from __future__ import annotations

import contextlib
import decimal
import gc
from collections.abc import Iterator

__all__ = ["money_context", "paused_gc"]


def money_context() -> decimal.Context:
    """The decimal context a backtest computes in: Python's default (28 digits, ROUND_HALF_EVEN, the usual traps),
    whatever the thread's context is (ccxt's number formatting, for one, sets it to ROUND_HALF_UP), so the same input
    gives the same bytes in any process."""
    return decimal.Context(
        prec=28,
        rounding=decimal.ROUND_HALF_EVEN,
        Emin=-999_999,
        Emax=999_999,
        capitals=1,
        clamp=0,
        flags=[],
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (restored after it, when it was on).

    Reading a recording and replaying it allocate many long-lived objects and few reference cycles; with the collector
    on, every few thousand allocations it walks all of them again. Reference counting still frees what is dropped.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
