"""Small shared pieces of the live family: symbol checks and the JSON shapes of tickers and books.

One definition each, from the market-data family (:mod:`tradingmcp.server.market_json`,
:mod:`tradingmcp.server.market_data`), so a resource read and a stream message of the same thing look the same.
"""

from __future__ import annotations

import re

from tradingmcp.server.market_data import SYMBOL_PATTERN, SYMBOL_SCHEMA, exchange_error
from tradingmcp.server.market_json import book_json, ticker_json

SYMBOL_RE = re.compile(SYMBOL_PATTERN)

__all__ = ["SYMBOL_PATTERN", "SYMBOL_RE", "SYMBOL_SCHEMA", "book_json", "exchange_error", "ticker_json"]
