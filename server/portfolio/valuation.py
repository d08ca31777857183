"""Prices for valuation, fetched from the exchange through the adapter (the thin I/O side of the portfolio).

* :func:`usdt_prices`: each asset's last trade price in USDT (``GET /api/v3/ticker/price`` of ``<ASSET>USDT``);
  USDT itself is 1; an asset with no ``<ASSET>USDT`` symbol on the exchange (per its cached exchangeInfo) or whose
  price request fails is None (unknown), never an error.
* :func:`mark_prices`: a symbol's mark price, the mid of its best bid and ask (``GET /api/v3/ticker/bookTicker``),
  falling back to the last trade price when one side of the book is empty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from decimal import Decimal

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import ExchangeError

log = logging.getLogger("tradingmcp.server.portfolio")
USDT = "USDT"


async def _known_symbols(adapter: ExchangeAdapter) -> set[str]:
    try:
        return set(await adapter.exchange_info())
    except ExchangeError:
        return set()


async def usdt_prices(adapter: ExchangeAdapter, assets: Iterable[str]) -> dict[str, Decimal | None]:
    """Last price in USDT of each asset (USDT → 1, unknown → None); requests run concurrently."""
    wanted = sorted(set(assets))
    known = await _known_symbols(adapter)

    async def one(asset: str) -> Decimal | None:
        if asset == USDT:
            return Decimal(1)
        symbol = f"{asset}{USDT}"
        if known and symbol not in known:
            return None
        try:
            return await adapter.price(symbol)
        except ExchangeError as exc:
            log.debug("no USDT price for %s: %s", asset, exc)
            return None

    values = await asyncio.gather(*(one(a) for a in wanted))
    return dict(zip(wanted, values, strict=True))


async def mark_price(adapter: ExchangeAdapter, symbol: str) -> Decimal | None:
    """Mid of best bid/ask of ``symbol`` (quote per base); last price when a side is empty; None when unavailable."""
    try:
        tick = await adapter.book_ticker(symbol)
        if tick.bid > 0 and tick.ask > 0:
            return (tick.bid + tick.ask) / 2
        return await adapter.price(symbol)
    except ExchangeError as exc:
        log.debug("no mark price for %s: %s", symbol, exc)
        return None


async def mark_prices(adapter: ExchangeAdapter, symbols: Iterable[str]) -> dict[str, Decimal | None]:
    """:func:`mark_price` of each symbol, concurrently."""
    wanted = sorted(set(symbols))
    values = await asyncio.gather(*(mark_price(adapter, s) for s in wanted))
    return dict(zip(wanted, values, strict=True))
