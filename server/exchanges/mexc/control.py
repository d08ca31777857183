"""MEXC Spot WebSocket topics and JSON control messages (sans-I/O).

Topics: one builder per family, ``parse_topic`` back, and ``topic_for`` (an exchange-neutral ``StreamSpec`` → the
topic carrying it). Control messages are JSON text frames; market and account data arrive as binary protobuf (see ``parse.pushes``).

* subscribe: ``{"method":"SUBSCRIPTION","params":["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"]}``
  → ``{"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"}`` (the ack echoes the topics,
  comma-joined when several; an ack that does not echo every requested topic is a failure, e.g.
  ``"Not Subscribed successfully! [...]. Reason: Blocked!"``);
* ``UNSUBSCRIPTION`` works the same way;
* keepalive: ``{"method":"PING"}`` → ``{"id":0,"code":0,"msg":"PONG"}``.

Limits: 30 topics per connection; symbols uppercase; the server drops a connection after 30 s without a valid
subscription and after 60 s without data (send PING). API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tradingmcp.server.exchanges.errors import BadParameter, NotSupported
from tradingmcp.server.exchanges.mexc.errors import mexc_error
from tradingmcp.server.exchanges.models import StreamKind, StreamSpec

MAX_TOPICS_PER_CONNECTION = 30
"""MEXC's limit of subscriptions on one WebSocket connection."""

PUSH_INTERVALS = ("100ms", "10ms")
"""Aggregation intervals of the ``aggre.*`` topics."""

KLINE_INTERVALS = ("Min1", "Min5", "Min15", "Min30", "Min60", "Hour4", "Hour8", "Day1", "Week1", "Month1")
"""Kline intervals in MEXC's WebSocket spelling."""

LIMIT_DEPTH_LEVELS = (5, 10, 20)
"""Levels offered by the ``limit.depth`` topic."""

# Binance/REST interval spelling -> MEXC WebSocket spelling (REST klines use 1m,5m,15m,30m,60m,4h,1d,1W,1M).
_KLINE_ALIASES = {
    "1m": "Min1",
    "5m": "Min5",
    "15m": "Min15",
    "30m": "Min30",
    "60m": "Min60",
    "1h": "Min60",
    "4h": "Hour4",
    "8h": "Hour8",
    "1d": "Day1",
    "1W": "Week1",
    "1w": "Week1",
    "1M": "Month1",
}
_KLINE_TO_REST = {
    "Min1": "1m",
    "Min5": "5m",
    "Min15": "15m",
    "Min30": "30m",
    "Min60": "60m",
    "Hour4": "4h",
    "Hour8": "8h",
    "Day1": "1d",
    "Week1": "1W",
    "Month1": "1M",
}
KLINE_INTERVAL_S = {
    "Min1": 60,
    "Min5": 300,
    "Min15": 900,
    "Min30": 1800,
    "Min60": 3600,
    "Hour4": 14400,
    "Hour8": 28800,
    "Day1": 86400,
    "Week1": 604800,
}
"""Length of each fixed kline interval in seconds (Month1 varies)."""


class TopicKind(StrEnum):
    """The MEXC topic families (the part between ``spot@`` and ``.v3.api.pb``)."""

    AGGRE_DEALS = "public.aggre.deals"
    DEALS = "public.deals"
    AGGRE_DEPTH = "public.aggre.depth"
    INCREASE_DEPTH = "public.increase.depth"
    INCREASE_DEPTH_BATCH = "public.increase.depth.batch"
    LIMIT_DEPTH = "public.limit.depth"
    AGGRE_BOOK_TICKER = "public.aggre.bookTicker"
    BOOK_TICKER_BATCH = "public.bookTicker.batch"
    KLINE = "public.kline"
    MINI_TICKER = "public.miniTicker"
    MINI_TICKERS = "public.miniTickers"
    PRIVATE_ORDERS = "private.orders"
    PRIVATE_DEALS = "private.deals"
    PRIVATE_ACCOUNT = "private.account"


_SUFFIX = ".v3.api.pb"
_WITH_INTERVAL_FIRST = {TopicKind.AGGRE_DEALS, TopicKind.DEALS, TopicKind.AGGRE_DEPTH, TopicKind.AGGRE_BOOK_TICKER}
_PRIVATE = {TopicKind.PRIVATE_ORDERS, TopicKind.PRIVATE_DEALS, TopicKind.PRIVATE_ACCOUNT}
_SYMBOL_ONLY = {
    TopicKind.INCREASE_DEPTH,
    TopicKind.INCREASE_DEPTH_BATCH,
    TopicKind.BOOK_TICKER_BATCH,
    TopicKind.MINI_TICKER,
}


def kline_interval(interval: str) -> str:
    """MEXC WebSocket kline interval for ``interval`` given as ``Min1``… or ``1m``/``1h``/``1d``….

    Raises:
        ValueError: unknown interval.
    """
    if interval in KLINE_INTERVALS:
        return interval
    try:
        return _KLINE_ALIASES[interval]
    except KeyError:
        raise ValueError(f"unknown kline interval {interval!r}; use one of {', '.join(KLINE_INTERVALS)}") from None


def rest_kline_interval(interval: str) -> str:
    """MEXC REST ``klines`` interval (``1m``, ``5m``, ``15m``, ``30m``, ``60m``, ``4h``, ``1d``, ``1W``, ``1M``)."""
    return _KLINE_TO_REST[kline_interval(interval)]


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its kind, symbol (None for private topics), push interval, kline interval or depth levels."""

    kind: TopicKind
    symbol: str | None = None
    interval: str | None = None
    levels: int | None = None

    @property
    def name(self) -> str:
        """The wire topic, e.g. ``spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT``."""
        base = f"spot@{self.kind.value}{_SUFFIX}"
        if self.kind in _PRIVATE:
            return base
        if self.kind in _WITH_INTERVAL_FIRST:
            return f"{base}@{self.interval}@{self.symbol}"
        if self.kind is TopicKind.KLINE:
            return f"{base}@{self.symbol}@{self.interval}"
        if self.kind is TopicKind.LIMIT_DEPTH:
            return f"{base}@{self.symbol}@{self.levels}"
        if self.kind is TopicKind.MINI_TICKERS:
            return f"{base}@{self.interval}"
        return f"{base}@{self.symbol}"

    @property
    def event_type(self) -> str:
        """The body's ``eventType`` MEXC sends for this topic (the topic without the symbol part)."""
        base = f"spot@{self.kind.value}{_SUFFIX}"
        return f"{base}@{self.interval}" if self.kind in _WITH_INTERVAL_FIRST else base


def _check_symbol(symbol: str) -> str:
    if not symbol or symbol != symbol.upper() or not symbol.isalnum():
        raise ValueError(f"MEXC symbols are uppercase alphanumerics like BTCUSDT, got {symbol!r}")
    return symbol


def _check_interval(interval: str) -> str:
    if interval not in PUSH_INTERVALS:
        raise ValueError(f"push interval must be one of {PUSH_INTERVALS}, got {interval!r}")
    return interval


def aggre_deals_topic(symbol: str, interval: str = "100ms") -> str:
    """``spot@public.aggre.deals.v3.api.pb@<100ms|10ms>@<SYMBOL>`` (trades)."""
    return Topic(TopicKind.AGGRE_DEALS, _check_symbol(symbol), _check_interval(interval)).name


def aggre_depth_topic(symbol: str, interval: str = "100ms") -> str:
    """``spot@public.aggre.depth.v3.api.pb@<100ms|10ms>@<SYMBOL>`` (diff depth with fromVersion/toVersion)."""
    return Topic(TopicKind.AGGRE_DEPTH, _check_symbol(symbol), _check_interval(interval)).name


def aggre_book_ticker_topic(symbol: str, interval: str = "100ms") -> str:
    """``spot@public.aggre.bookTicker.v3.api.pb@<100ms|10ms>@<SYMBOL>`` (best bid/ask)."""
    return Topic(TopicKind.AGGRE_BOOK_TICKER, _check_symbol(symbol), _check_interval(interval)).name


def book_ticker_batch_topic(symbol: str) -> str:
    """``spot@public.bookTicker.batch.v3.api.pb@<SYMBOL>``."""
    return Topic(TopicKind.BOOK_TICKER_BATCH, _check_symbol(symbol)).name


def increase_depth_batch_topic(symbol: str) -> str:
    """``spot@public.increase.depth.batch.v3.api.pb@<SYMBOL>``."""
    return Topic(TopicKind.INCREASE_DEPTH_BATCH, _check_symbol(symbol)).name


def limit_depth_topic(symbol: str, levels: int = 20) -> str:
    """``spot@public.limit.depth.v3.api.pb@<SYMBOL>@<5|10|20>`` (partial book snapshots).

    Raises:
        ValueError: levels not 5, 10 or 20.
    """
    if levels not in LIMIT_DEPTH_LEVELS:
        raise ValueError(f"levels must be one of {LIMIT_DEPTH_LEVELS}, got {levels}")
    return Topic(TopicKind.LIMIT_DEPTH, _check_symbol(symbol), levels=levels).name


def kline_topic(symbol: str, interval: str = "Min1") -> str:
    """``spot@public.kline.v3.api.pb@<SYMBOL>@<Min1|…|Month1>``; accepts ``1m``/``1h``/``1d`` spellings too."""
    return Topic(TopicKind.KLINE, _check_symbol(symbol), kline_interval(interval)).name


def topic_for(spec: StreamSpec, push_interval: str = "100ms") -> str:
    """The MEXC topic carrying ``spec``.

    TRADE and AGG_TRADE → ``aggre.deals`` (MEXC only pushes aggregated deals); DEPTH → ``aggre.depth``;
    BOOK_TICKER → ``aggre.bookTicker``; KLINE → ``kline`` (interval ``1m``… or ``Min1``…).

    Raises:
        NotSupported: TICKER_24H (MEXC's mini tickers have no neutral model yet).
        BadParameter: a KLINE spec without a valid interval, or a malformed symbol.
    """
    sym = spec.symbol.upper()
    try:
        if spec.kind in (StreamKind.TRADE, StreamKind.AGG_TRADE):
            return aggre_deals_topic(sym, push_interval)
        if spec.kind is StreamKind.DEPTH:
            return aggre_depth_topic(sym, push_interval)
        if spec.kind is StreamKind.BOOK_TICKER:
            return aggre_book_ticker_topic(sym, push_interval)
        if spec.kind is StreamKind.KLINE:
            if not spec.interval:
                raise ValueError("a kline stream needs an interval (1m, 5m, 1h, ...)")
            return kline_topic(sym, spec.interval)
    except ValueError as exc:
        raise mexc_error(BadParameter, None, str(exc)) from None
    raise mexc_error(NotSupported, None, f"MEXC streams have no {spec.kind.value} equivalent; use ticker_24h (REST)")


PRIVATE_ORDERS_TOPIC = Topic(TopicKind.PRIVATE_ORDERS).name
"""``spot@private.orders.v3.api.pb`` (needs a listenKey connection)."""
PRIVATE_DEALS_TOPIC = Topic(TopicKind.PRIVATE_DEALS).name
"""``spot@private.deals.v3.api.pb``."""
PRIVATE_ACCOUNT_TOPIC = Topic(TopicKind.PRIVATE_ACCOUNT).name
"""``spot@private.account.v3.api.pb``."""


def parse_topic(name: str) -> Topic:
    """Parse a wire topic back into a ``Topic`` (e.g. which symbol's book a depth topic feeds).

    Raises:
        ValueError: not a MEXC ``.v3.api.pb`` topic, or malformed.
    """
    parts = name.split("@")
    if len(parts) < 2 or parts[0] != "spot" or not parts[1].endswith(_SUFFIX):
        raise ValueError(f"not a MEXC protobuf topic: {name!r}")
    try:
        kind = TopicKind(parts[1][: -len(_SUFFIX)])
    except ValueError:
        raise ValueError(f"unknown MEXC topic kind in {name!r}") from None
    rest = parts[2:]
    topic: Topic
    if kind in _PRIVATE and not rest:
        topic = Topic(kind)
    elif kind in _WITH_INTERVAL_FIRST and len(rest) == 2:
        topic = Topic(kind, _check_symbol(rest[1]), _check_interval(rest[0]))
    elif kind is TopicKind.KLINE and len(rest) == 2:
        topic = Topic(kind, _check_symbol(rest[0]), kline_interval(rest[1]))
    elif kind is TopicKind.LIMIT_DEPTH and len(rest) == 2 and rest[1].isdigit() and int(rest[1]) in LIMIT_DEPTH_LEVELS:
        topic = Topic(kind, _check_symbol(rest[0]), levels=int(rest[1]))
    elif kind is TopicKind.MINI_TICKERS and len(rest) == 1:
        topic = Topic(kind, interval=rest[0])
    elif len(rest) == 1 and kind in _SYMBOL_ONLY:
        topic = Topic(kind, _check_symbol(rest[0]))
    else:
        raise ValueError(f"malformed MEXC topic {name!r}")
    return topic


# ---------------------------------------------------------------------------------------------- control messages


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def subscription(topics: list[str] | tuple[str, ...]) -> str:
    """``{"method":"SUBSCRIPTION","params":[...]}``.

    Raises:
        ValueError: no topics, or more than 30 (MEXC's per-connection limit).
    """
    if not topics or len(topics) > MAX_TOPICS_PER_CONNECTION:
        raise ValueError(f"subscribe 1..{MAX_TOPICS_PER_CONNECTION} topics at a time, got {len(topics)}")
    return _dumps({"method": "SUBSCRIPTION", "params": list(topics)})


def unsubscription(topics: list[str] | tuple[str, ...]) -> str:
    """``{"method":"UNSUBSCRIPTION","params":[...]}``."""
    if not topics:
        raise ValueError("unsubscribe at least one topic")
    return _dumps({"method": "UNSUBSCRIPTION", "params": list(topics)})


def ping() -> str:
    """``{"method":"PING"}`` (answered with msg ``PONG``)."""
    return _dumps({"method": "PING"})


class ControlError(Exception):
    """A control reply that reports (or implies) failure; ``reply`` holds the parsed message."""

    def __init__(self, message: str, reply: ControlReply | None = None) -> None:
        super().__init__(message)
        self.reply = reply


@dataclass(frozen=True, slots=True)
class ControlReply:
    """A parsed JSON reply ``{"id", "code", "msg"}`` from MEXC's WebSocket."""

    id: int
    code: int
    msg: str

    @property
    def is_pong(self) -> bool:
        """True for the answer to PING."""
        return self.code == 0 and self.msg == "PONG"

    @property
    def echoed_topics(self) -> tuple[str, ...]:
        """The topics the ack echoes (``msg`` split on commas)."""
        return tuple(t.strip() for t in self.msg.split(",") if t.strip())


def parse_reply(text: str | bytes) -> ControlReply:
    """Parse a JSON text frame from MEXC.

    Raises:
        ControlError: not JSON, or not an ``{"id","code","msg"}`` object.
    """
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ControlError(f"control reply is not JSON: {text[:120]!r}") from exc
    if not isinstance(obj, dict) or "msg" not in obj:
        raise ControlError(f"unexpected control reply: {str(obj)[:120]}")
    try:
        return ControlReply(id=int(obj.get("id", 0) or 0), code=int(obj.get("code", 0) or 0), msg=str(obj["msg"]))
    except (TypeError, ValueError) as exc:
        raise ControlError(f"malformed control reply: {str(obj)[:120]}") from exc


def check_ack(reply: ControlReply, topics: list[str] | tuple[str, ...]) -> None:
    """Check a SUBSCRIPTION/UNSUBSCRIPTION ack against the topics requested.

    Raises:
        ControlError: ``code`` is not 0, or ``msg`` does not echo every requested topic (MEXC answers e.g.
            ``"Not Subscribed successfully! [topic].  Reason： Blocked! "`` with code 0 for a refused topic).
    """
    if reply.code != 0:
        raise ControlError(f"MEXC refused {list(topics)}: code {reply.code}: {reply.msg}", reply)
    missing = set(topics) - set(reply.echoed_topics)
    if missing:
        raise ControlError(f"MEXC did not confirm {sorted(missing)}: {reply.msg}", reply)
