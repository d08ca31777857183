"""A seeded synthetic market for when no recording exists (sans-I/O).

It yields :class:`~tradingmcp.sim.replay.MarketEvent` values of exactly the recorded kinds and shapes, so the
rest of the simulator cannot tell the difference: first a REST-shaped snapshot ``{lastUpdateId, bids, asks}``, then
every 100 ms a ``depthUpdate`` diff (``U == previous u + 1``), a ``bookTicker`` matching the rebuilt book, and 0-3
``trade`` events at the touch. Prices follow a random walk in whole ticks; quantities are whole lot steps. The same
seed gives the same market, byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from tradingmcp.sim.replay import EventKind, MarketEvent, merge_events

__all__ = ["SyntheticSpec", "synthetic_events", "synthetic_market"]

_START_MS = 1_700_000_000_000
_STEP_MS = 100
_LEVELS = 20


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    """How one synthetic symbol looks.

    Attributes:
        start_price_ticks: first mid price in ticks (tick 0.01 quote asset: 6_000_000 = 60,000.00).
        price_decimals: decimals of the tick (2 for 0.01).
        qty_decimals: decimals of the lot step (5 for 0.00001).
        max_level_lots: largest resting quantity per level, in lots.
    """

    start_price_ticks: int
    price_decimals: int = 2
    qty_decimals: int = 5
    max_level_lots: int = 200_000


DEFAULT_SPECS = {
    "BTCUSDT": SyntheticSpec(6_000_000, 2, 5, 200_000),
    "ETHUSDT": SyntheticSpec(260_000, 2, 4, 50_000),
}


def _fmt(units: int, decimals: int) -> str:
    """Fixed-point integer to Binance's 8-decimal wire string (``_fmt(12345, 2) == "123.45000000"``)."""
    scale = 10**decimals
    return f"{units // scale}.{units % scale:0{decimals}d}" + "0" * (8 - decimals)


def synthetic_events(
    symbol: str, seed: int, duration_s: float, spec: SyntheticSpec | None = None
) -> Iterator[MarketEvent]:
    """Yield one symbol's synthetic events over ``duration_s`` seconds of exchange time.

    Args:
        symbol: upper-case symbol, e.g. ``"BTCUSDT"``.
        seed: the random seed (same seed and symbol, same events).
        duration_s: span of exchange time to generate (s).
        spec: price/quantity scales; a default for BTCUSDT/ETHUSDT, else a 100.00 market.
    """
    spec = spec or DEFAULT_SPECS.get(symbol, SyntheticSpec(10_000))
    rng = random.Random(f"{seed}:{symbol}")
    pd, qd = spec.price_decimals, spec.qty_decimals
    mid = spec.start_price_ticks
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}

    def target_levels(best_bid: int) -> tuple[dict[int, int], dict[int, int]]:
        nb = {best_bid - i: bids.get(best_bid - i) or rng.randint(1, spec.max_level_lots) for i in range(_LEVELS)}
        na = {
            best_bid + 1 + i: asks.get(best_bid + 1 + i) or rng.randint(1, spec.max_level_lots) for i in range(_LEVELS)
        }
        for side in (nb, na):  # a few quantity changes per step
            for price in rng.sample(sorted(side), 3):
                side[price] = rng.randint(1, spec.max_level_lots)
        return nb, na

    bids, asks = target_levels(mid)
    update_id = 1000
    trade_id = 1
    now_ms = _START_MS
    yield MarketEvent(
        now_ms * 1_000_000,
        symbol,
        EventKind.SNAPSHOT,
        {
            "lastUpdateId": update_id,
            "bids": [[_fmt(p, pd), _fmt(q, qd)] for p, q in sorted(bids.items(), reverse=True)],
            "asks": [[_fmt(p, pd), _fmt(q, qd)] for p, q in sorted(asks.items())],
        },
    )
    steps = int(duration_s * 1000 / _STEP_MS)
    for _ in range(steps):
        now_ms += _STEP_MS
        mid += rng.choice((-2, -1, 0, 0, 0, 1, 2))
        nb, na = target_levels(mid)
        diff_b = [[_fmt(p, pd), _fmt(q, qd)] for p, q in sorted(nb.items(), reverse=True) if bids.get(p) != q]
        diff_b += [[_fmt(p, pd), "0.00000000"] for p in sorted(bids, reverse=True) if p not in nb]
        diff_a = [[_fmt(p, pd), _fmt(q, qd)] for p, q in sorted(na.items()) if asks.get(p) != q]
        diff_a += [[_fmt(p, pd), "0.00000000"] for p in sorted(asks) if p not in na]
        bids, asks = nb, na
        first = update_id + 1
        update_id += len(diff_b) + len(diff_a) or 1
        ns = now_ms * 1_000_000
        yield MarketEvent(
            ns,
            symbol,
            EventKind.DEPTH,
            {"e": "depthUpdate", "E": now_ms, "s": symbol, "U": first, "u": update_id, "b": diff_b, "a": diff_a},
        )
        best_b, best_a = max(bids), min(asks)
        yield MarketEvent(
            ns + 1000,
            symbol,
            EventKind.BOOK_TICKER,
            {
                "u": update_id,
                "s": symbol,
                "b": _fmt(best_b, pd),
                "B": _fmt(bids[best_b], qd),
                "a": _fmt(best_a, pd),
                "A": _fmt(asks[best_a], qd),
            },
        )
        for k in range(rng.choice((0, 0, 1, 1, 2, 3))):
            buyer_is_maker = rng.random() < 0.5
            price = best_b if buyer_is_maker else best_a
            qty = rng.randint(1, max(1, spec.max_level_lots // 20))
            t_ms = now_ms + 10 + k
            yield MarketEvent(
                ns + 2000 + k,
                symbol,
                EventKind.TRADE,
                {
                    "e": "trade",
                    "E": t_ms,
                    "s": symbol,
                    "t": trade_id,
                    "p": _fmt(price, pd),
                    "q": _fmt(qty, qd),
                    "T": t_ms,
                    "m": buyer_is_maker,
                    "M": True,
                },
            )
            trade_id += 1


def synthetic_market(symbols: tuple[str, ...], seed: int, duration_s: float = 600.0) -> Iterator[MarketEvent]:
    """All symbols' synthetic events merged by stamp (see :func:`synthetic_events`)."""
    return merge_events([synthetic_events(s, seed, duration_s) for s in symbols])
