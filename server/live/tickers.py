"""The latest best bid/ask of each symbol per exchange adapter, as its ``book_ticker`` streams pushed them: the live
reference quote of the order path's pre-trade checks (:mod:`tradingmcp.server.trading.pretrade`).

Written by the market stream bridge of each adapter (:class:`~tradingmcp.server.tools.market.streams.MarketBridge`,
through :func:`tickers_of`), read with :func:`live_ticker`. Only symbols with a subscribed
``book_ticker:<exchange>:<SYMBOL>`` stream have an entry; times are monotonic ns of arrival.
"""

from __future__ import annotations

import time
import weakref

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.models import Ticker

TICKER_MAX_AGE_MS = 2_000
"""How long a streamed best bid/ask is trusted as a reference price (ms since it arrived): a bookTicker stream only
sends changes, but a silent stream cannot be told from a dead one, so older quotes are re-read over REST."""

_latest_tickers: weakref.WeakKeyDictionary[ExchangeAdapter, dict[str, tuple[int, Ticker]]] = weakref.WeakKeyDictionary()
"""adapter → {SYMBOL: (monotonic arrival ns, latest Ticker)}, filled by every market stream bridge."""


def tickers_of(adapter: ExchangeAdapter) -> dict[str, tuple[int, Ticker]]:
    """``adapter``'s table ``{SYMBOL: (monotonic arrival ns, latest Ticker)}``, created on first use: its bridge
    writes each pushed best bid/ask there (and clears it after a stream gap)."""
    return _latest_tickers.setdefault(adapter, {})


def live_ticker(adapter: ExchangeAdapter, symbol: str, max_age_ms: int = TICKER_MAX_AGE_MS) -> Ticker | None:
    """The latest best bid/ask of ``symbol`` pushed by ``adapter``'s ``book_ticker`` stream, when one arrived in the
    last ``max_age_ms`` ms (and the stream did not report a disconnect since); else None (ask REST instead).

    Only symbols with a subscribed ``book_ticker:<exchange>:<SYMBOL>`` stream have one.
    """
    entry = _latest_tickers.get(adapter, {}).get(symbol.upper())
    if entry is None or time.monotonic_ns() - entry[0] > max_age_ms * 1_000_000:
        return None
    return entry[1]
