"""The stream messages the server pushes to the bot, built from the simulator's state (pure).

Shapes of :mod:`tradingmcp.server.tools.market.shapes`; the engine builds the ``book_ticker:`` (``ticker_json``) and
``trades:`` (``trade_json``) messages inline in its hot loop from the recorded frames' wire strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.sim.book import SimBook

__all__ = ["book_message"]


def book_message(symbol: str, book: SimBook, levels: int) -> dict[str, Any]:
    """The ``book:`` stream message for ``book``'s top ``levels`` (the shape of
    :func:`tradingmcp.server.tools.market.shapes.book_json`: wire-string levels best first, ``spread``, ``mid`` and
    ``microprice`` quantized to 1e-8)."""
    depth = book.depth(levels)
    bids, asks = depth["bids"], depth["asks"]
    out: dict[str, Any] = {"symbol": symbol, "last_update_id": depth["lastUpdateId"], "bids": bids, "asks": asks}
    if bids and asks:
        bid, bid_qty, ask, ask_qty = Decimal(bids[0][0]), Decimal(bids[0][1]), Decimal(asks[0][0]), Decimal(asks[0][1])
        out["spread"] = str(ask - bid)
        out["mid"] = str((ask + bid) / 2)
        total = bid_qty + ask_qty
        if total > 0:
            out["microprice"] = str(((bid * ask_qty + ask * bid_qty) / total).quantize(Decimal("1e-8")))
    return out
