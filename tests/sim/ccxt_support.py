"""What the ccxt interop tests of every simulator face check alike: ccxt.pro's watch calls against a running face."""

from __future__ import annotations

import asyncio
from typing import Any

SYMBOL = "BTC/USDT"
WAIT_S = 30.0


async def watch_streams(ex: Any) -> tuple[Any, Any]:
    """Watch the ticker, book, trades and candles of ``SYMBOL``, then the orders and balance streams around a market
    buy of 0.001; asserts each stream's first answer and returns ``(ticker, book)`` for venue-specific checks."""
    async with asyncio.timeout(WAIT_S):
        ticker = await ex.watch_ticker(SYMBOL)
        assert ticker["symbol"] == SYMBOL and (ticker["last"] or ticker["bid"]) > 0  # MEXC's is a book ticker
        book = await ex.watch_order_book(SYMBOL)
        assert book["bids"] and book["asks"]
        trades = await ex.watch_trades(SYMBOL)
        assert trades and trades[0]["price"] > 0
        candles = await ex.watch_ohlcv(SYMBOL, "1m")
        assert candles and candles[-1][4] > 0
        orders = asyncio.ensure_future(ex.watch_orders(SYMBOL))
        balance = asyncio.ensure_future(ex.watch_balance())
        try:
            await asyncio.sleep(1.0)  # ccxt subscribes on the first call; let it settle before the order
            await ex.create_order(SYMBOL, "market", "buy", 0.001)
            seen = await orders
            assert seen[-1]["symbol"] == SYMBOL and seen[-1]["side"] == "buy"
            assert (await balance)["free"]["BTC"] > 1
        finally:
            for task in (orders, balance):
                task.cancel()
    return ticker, book
