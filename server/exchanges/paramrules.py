"""What each venue accepts in the free-text parameters the tools pass on (sans-I/O): client order ids, symbols,
order ids and kline intervals. The tools check every such argument against the rules of the venue it goes to before
anything is sent (:mod:`tradingmcp.server.venue_args`), so a value like ``zz&orderId=1`` or ``a\\nb`` never reaches
a request builder; the builders percent-encode every value besides (:func:`tradingmcp.server.exchanges.wire
.encode_query`).

Binance Spot (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints, and the -1100
"Illegal characters found in parameter '%s'; legal range is '%s'." texts of
https://developers.binance.com/docs/binance-spot-api-docs/errors):

* ``newClientOrderId``, ``origClientOrderId``, ``listClientOrderId``...: ``^[a-zA-Z0-9-_]{1,36}$``;
* ``symbol``: ``^[A-Z0-9-_.]{1,20}$``;
* ``orderId``: a LONG, ``^[0-9]{1,20}$``;
* kline intervals: ``1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M``
  (https://developers.binance.com/docs/binance-spot-api-docs/enums#kline-intervals).

MEXC Spot v3 (https://mexcdevelop.github.io/apidocs/spot_v3_en/) documents no pattern for ``newClientOrderId``; it
refuses illegal characters with 700008 "Illegal characters found in parameter.". Its client order ids are held to
Binance's range here (the simulator's MEXC face answers 700008 outside it). Symbols are upper-case letters and digits
(``BTCUSDT``); order ids are MEXC's strings (``C02__385413065019117569043``); REST klines take
``1m 5m 15m 30m 60m 4h 8h 1d 1W 1M``, given here in Binance's spelling (``1h`` for ``60m``, ``1w`` for ``1W``).

Bybit V5 spot (https://bybit-exchange.github.io/docs/v5/order/create-order): ``orderLinkId`` is at most 36 letters,
digits, ``-`` and ``_`` (Binance's range); symbols are upper-case letters and digits; order ids are Bybit's numeric
strings (``1900000000000000001``; letters and ``-`` are allowed for the UUID-like ids of other categories); klines
take ``1 3 5 15 30 60 120 240 360 720 D W M``, given here in Binance's spelling (``1m``, ``1h``, ``1d``...).

A pattern is a whole-value match (``fullmatch``): Python's ``$`` also matches before a trailing newline, which would
let ``BTCUSDT\\n`` through a ``re.match``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tradingmcp.server.exchanges.bybit.parse.market import KLINE_INTERVALS as BYBIT_KLINE_INTERVALS
from tradingmcp.server.exchanges.mexc.control import kline_interval

__all__ = [
    "BINANCE",
    "BINANCE_KLINE_INTERVALS",
    "BYBIT",
    "CLIENT_ORDER_ID",
    "MEXC",
    "LegalRange",
    "ParamRules",
    "ccxt_rules",
    "rules_for",
]


@dataclass(frozen=True, slots=True)
class LegalRange:
    """A pattern a whole value must match, written as the exchange quotes it (``^[a-zA-Z0-9-_]{1,36}$``)."""

    pattern: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def allows(self, value: str) -> bool:
        """Whether all of ``value`` matches (no trailing newline, no partial match)."""
        return self._regex.fullmatch(value) is not None


BINANCE_KLINE_INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip
"""Binance kline intervals (https://developers.binance.com/docs/binance-spot-api-docs/enums#kline-intervals)."""

CLIENT_ORDER_ID = LegalRange("^[a-zA-Z0-9-_]{1,36}$")
"""Binance's legal range of client order ids (also held for MEXC, see the module docstring)."""


def _mexc_interval(interval: str) -> bool:
    try:
        kline_interval(interval)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ParamRules:
    """One venue's rules for the string parameters tools pass on.

    Attributes:
        venue: ``binance``, ``mexc`` or ``bybit``.
        client_order_id: new and original client order ids, and order list client ids.
        symbol: a symbol in the venue's spelling (upper case).
        order_id: an order id given as a string.
        kline_intervals: the intervals (Binance spelling, as the tools take them) the venue serves.
    """

    venue: str
    client_order_id: LegalRange
    symbol: LegalRange
    order_id: LegalRange
    kline_intervals: tuple[str, ...]


BINANCE = ParamRules(
    venue="binance",
    client_order_id=CLIENT_ORDER_ID,
    symbol=LegalRange("^[A-Z0-9-_.]{1,20}$"),
    order_id=LegalRange("^[0-9]{1,20}$"),
    kline_intervals=BINANCE_KLINE_INTERVALS,
)
MEXC = ParamRules(
    venue="mexc",
    client_order_id=CLIENT_ORDER_ID,
    symbol=LegalRange("^[A-Z0-9]{1,20}$"),
    order_id=LegalRange("^[A-Za-z0-9_]{1,40}$"),
    kline_intervals=tuple(i for i in BINANCE_KLINE_INTERVALS if _mexc_interval(i)),
)
BYBIT = ParamRules(
    venue="bybit",
    client_order_id=CLIENT_ORDER_ID,
    symbol=LegalRange("^[A-Z0-9]{1,20}$"),
    order_id=LegalRange("^[A-Za-z0-9-]{1,40}$"),
    kline_intervals=tuple(i for i in BINANCE_KLINE_INTERVALS if i in BYBIT_KLINE_INTERVALS),
)
_BY_VENUE = {r.venue: r for r in (BINANCE, MEXC, BYBIT)}
CCXT_SYMBOL = LegalRange("^[A-Z0-9._-]{1,20}$")
"""A symbol of a CCXT venue: the exchange's market id (upper-cased), e.g. ``BTCUSDT`` or OKX's ``BTC-USDT``."""
CCXT_ORDER_ID = LegalRange("^[A-Za-z0-9_-]{1,40}$")
"""An order id of a CCXT venue as a string (exchanges' ids are digits, or letters, digits, ``_`` and ``-``)."""


def ccxt_rules(venue: str, intervals: tuple[str, ...]) -> ParamRules:
    """The rules of a CCXT venue named ``venue`` whose exchange offers these candle ``intervals`` (ccxt's
    ``timeframes``, Binance's spelling); the native venues' own rules when it is Binance or MEXC (the same exchange
    behind ccxt)."""
    if venue in _BY_VENUE:
        return _BY_VENUE[venue]
    kept = tuple(i for i in BINANCE_KLINE_INTERVALS if i in intervals)
    return ParamRules(venue, CLIENT_ORDER_ID, CCXT_SYMBOL, CCXT_ORDER_ID, kept)


def rules_for(venue: str) -> ParamRules:
    """The rules of ``venue`` (``binance``, ``mexc``, ``bybit``); Binance's for any other name (the strictest symbol-free
    rules: numeric order ids)."""
    return _BY_VENUE.get(venue, BINANCE)
