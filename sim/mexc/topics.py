"""MEXC Spot v3 WebSocket topic names as the simulator's MEXC face reads and writes them (sans-I/O).

The grammar, from https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams and
#websocket-user-data-streams: ``spot@<family>.v3.api.pb`` followed by ``@``-separated parts that depend on the family:

* ``public.aggre.deals``, ``public.deals``, ``public.aggre.depth``, ``public.aggre.bookTicker``:
  ``@<100ms|10ms>@<SYMBOL>``;
* ``public.kline``: ``@<SYMBOL>@<Min1|Min5|Min15|Min30|Min60|Hour4|Hour8|Day1|Week1|Month1>``;
* ``public.limit.depth``: ``@<SYMBOL>@<5|10|20>``;
* ``public.increase.depth``, ``public.increase.depth.batch``, ``public.bookTicker.batch``, ``public.miniTicker``:
  ``@<SYMBOL>``; ``public.miniTickers``: ``@<timezone>``;
* ``private.orders``, ``private.deals``, ``private.account``: nothing more (the connection's listenKey says whose).

Symbols are uppercase alphanumerics. A push's ``eventType`` is its topic without the symbol part (the interval stays
for the families whose interval comes first).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TOPICS_PER_CONNECTION = 30
"""MEXC's limit of subscriptions on one connection."""
PUSH_INTERVALS = ("100ms", "10ms")
"""Aggregation intervals of the ``aggre.*`` families."""
LIMIT_DEPTH_LEVELS = (5, 10, 20)
"""Levels of the ``limit.depth`` family."""
KLINE_SECONDS = {
    "Min1": 60, "Min5": 300, "Min15": 900, "Min30": 1800, "Min60": 3600, "Hour4": 14400, "Hour8": 28800,
    "Day1": 86400, "Week1": 604800, "Month1": 0,
}  # fmt: skip
"""MEXC's kline intervals → their length in seconds (0: a month has no fixed length)."""
KLINE_ALIASES = {
    "1m": "Min1", "5m": "Min5", "15m": "Min15", "30m": "Min30", "60m": "Min60", "1h": "Min60", "4h": "Hour4",
    "8h": "Hour8", "1d": "Day1", "1W": "Week1", "1w": "Week1", "1M": "Month1",
}  # fmt: skip
"""REST (and Binance) spellings of the kline intervals → MEXC's WebSocket spelling."""

_SUFFIX = ".v3.api.pb"
_INTERVAL_THEN_SYMBOL = frozenset(
    {"public.aggre.deals", "public.deals", "public.aggre.depth", "public.aggre.bookTicker"}
)
_SYMBOL_ONLY = frozenset(
    {"public.increase.depth", "public.increase.depth.batch", "public.bookTicker.batch", "public.miniTicker"}
)
PRIVATE_FAMILIES = frozenset({"private.orders", "private.deals", "private.account"})
"""The families that need a listenKey connection."""
FAMILIES = frozenset(
    {
        *_INTERVAL_THEN_SYMBOL,
        *_SYMBOL_ONLY,
        *PRIVATE_FAMILIES,
        "public.kline",
        "public.limit.depth",
        "public.miniTickers",
    }
)


@dataclass(frozen=True, slots=True)
class Topic:
    """One parsed topic: its ``family`` (``public.aggre.depth``…), ``symbol`` (None for private and
    ``miniTickers``), and the family's extra part: ``interval`` (push interval, kline interval or timezone) or
    ``levels``."""

    family: str
    symbol: str | None = None
    interval: str | None = None
    levels: int | None = None

    @property
    def private(self) -> bool:
        """True for the listenKey families."""
        return self.family in PRIVATE_FAMILIES


def kline_interval(interval: str) -> str:
    """MEXC's WebSocket spelling of ``interval`` (``Min1``… as is; ``1m``/``1h``/``1d``… translated).

    Raises:
        ValueError: not a kline interval.
    """
    if interval in KLINE_SECONDS:
        return interval
    found = KLINE_ALIASES.get(interval)
    if found is None:
        raise ValueError(f"unknown kline interval {interval!r}")
    return found


def _symbol(text: str) -> str:
    if not text or not text.isalnum() or text != text.upper():
        raise ValueError(f"not a MEXC symbol: {text!r}")
    return text


def parse_topic(name: str) -> Topic:
    """Read a topic a client sent.

    Raises:
        ValueError: not ``spot@<family>.v3.api.pb…``, an unknown family, or parts that do not fit the family.
    """
    head, _, tail = name.partition("@")
    family_part, _, rest = tail.partition("@")
    if head != "spot" or not family_part.endswith(_SUFFIX):
        raise ValueError(f"not a MEXC protobuf topic: {name!r}")
    family = family_part[: -len(_SUFFIX)]
    if family not in FAMILIES:
        raise ValueError(f"unknown MEXC topic family in {name!r}")
    parts = rest.split("@") if rest else []
    if family in PRIVATE_FAMILIES and not parts:
        return Topic(family)
    if family in _INTERVAL_THEN_SYMBOL and len(parts) == 2 and parts[0] in PUSH_INTERVALS:
        return Topic(family, _symbol(parts[1]), parts[0])
    if family == "public.kline" and len(parts) == 2:
        return Topic(family, _symbol(parts[0]), kline_interval(parts[1]))
    if family == "public.limit.depth" and len(parts) == 2 and parts[1] in {str(n) for n in LIMIT_DEPTH_LEVELS}:
        return Topic(family, _symbol(parts[0]), levels=int(parts[1]))
    if family == "public.miniTickers" and len(parts) == 1:
        return Topic(family, interval=parts[0])
    if family in _SYMBOL_ONLY and len(parts) == 1:
        return Topic(family, _symbol(parts[0]))
    raise ValueError(f"malformed MEXC topic {name!r}")


def _family(family: str) -> str:
    return f"spot@{family}{_SUFFIX}"


def _push_interval(interval: str) -> str:
    if interval not in PUSH_INTERVALS:
        raise ValueError(f"push interval must be one of {PUSH_INTERVALS}, got {interval!r}")
    return interval


def aggre_deals(symbol: str, interval: str = "100ms") -> str:
    """``spot@public.aggre.deals.v3.api.pb@<interval>@<SYMBOL>``."""
    return f"{_family('public.aggre.deals')}@{_push_interval(interval)}@{_symbol(symbol)}"


def aggre_depth(symbol: str, interval: str = "100ms") -> str:
    """``spot@public.aggre.depth.v3.api.pb@<interval>@<SYMBOL>``."""
    return f"{_family('public.aggre.depth')}@{_push_interval(interval)}@{_symbol(symbol)}"


def aggre_book_ticker(symbol: str, interval: str = "100ms") -> str:
    """``spot@public.aggre.bookTicker.v3.api.pb@<interval>@<SYMBOL>``."""
    return f"{_family('public.aggre.bookTicker')}@{_push_interval(interval)}@{_symbol(symbol)}"


def limit_depth(symbol: str, levels: int) -> str:
    """``spot@public.limit.depth.v3.api.pb@<SYMBOL>@<5|10|20>``."""
    if levels not in LIMIT_DEPTH_LEVELS:
        raise ValueError(f"levels must be one of {LIMIT_DEPTH_LEVELS}, got {levels}")
    return f"{_family('public.limit.depth')}@{_symbol(symbol)}@{levels}"


def kline(symbol: str, interval: str) -> str:
    """``spot@public.kline.v3.api.pb@<SYMBOL>@<Min1…>`` (``interval`` in either spelling)."""
    return f"{_family('public.kline')}@{_symbol(symbol)}@{kline_interval(interval)}"


def event_type(topic: str) -> str:
    """The ``eventType`` MEXC puts in a push body: the topic without its symbol (``…@100ms`` stays for the
    interval-first families)."""
    family_part = topic.split("@", 2)[1]
    if family_part[: -len(_SUFFIX)] in _INTERVAL_THEN_SYMBOL:
        return topic.rsplit("@", 1)[0]
    return f"spot@{family_part}"


PRIVATE_ORDERS = _family("private.orders")
"""``spot@private.orders.v3.api.pb``."""
PRIVATE_DEALS = _family("private.deals")
"""``spot@private.deals.v3.api.pb``."""
PRIVATE_ACCOUNT = _family("private.account")
"""``spot@private.account.v3.api.pb``."""
