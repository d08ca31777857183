"""``VenueAdapter``: what the Bybit and MEXC adapters do alike, on their own REST clients and streams.

Both keep the symbol rules cached from one REST call, a clock offset from another, one market-stream object that
holds the local books, one private stream started on demand, and two event queues; both place only LIMIT, MARKET and
LIMIT_MAKER orders with a client order id always set, have no OCO, and emulate cancel-replace as cancel, then place.
A venue's adapter subclasses this with its REST client, market streams and user data stream as type arguments and
supplies the hooks (``_new_streams``, ``_new_user_stream``, ``_fetch_rules``, ``new_client_order_id``); what differs
(placement, order queries, rate-limit figures) stays in the venue's module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import ClassVar, Generic, Protocol, TypeVar

from tradingmcp.server.exchanges.base import AdapterLifecycle
from tradingmcp.server.exchanges.errors import (
    BadParameter,
    ExchangeError,
    ExchangeUnavailable,
    InvalidSymbol,
    NotSupported,
)
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import (
    CancelReplaceResult,
    Fill,
    Kline,
    MarketEvent,
    Order,
    OrderBookSnapshot,
    OrderList,
    OrderRequest,
    OrderType,
    RateLimitUsage,
    ServerStatus,
    Side,
    StreamSpec,
    SymbolRules,
    UserEvent,
)
from tradingmcp.server.exchanges.venueerrors import VenueErrors

log = logging.getLogger(__name__)


class VenueConfig(Protocol):
    """The settings the shared steps read."""

    @property
    def event_queue_size(self) -> int: ...

    @property
    def request_timeout_s(self) -> float: ...

    @property
    def client_order_prefix(self) -> str: ...


class VenueRest(Protocol):
    """The REST client calls the shared steps make."""

    @property
    def time_offset_ms(self) -> int: ...

    async def sync_time(self) -> int: ...

    async def klines(
        self, symbol: str, interval: str, limit: int, start_ms: int | None, end_ms: int | None, /
    ) -> list[Kline]: ...

    async def close(self) -> None: ...


class VenueBook(Protocol):
    """A local book as the shared steps read it."""

    @property
    def is_synced(self) -> bool: ...

    def snapshot(self, depth: int = 20) -> OrderBookSnapshot: ...


class VenueStreams(Protocol):
    """The market streams as the shared steps drive them."""

    @property
    def books(self) -> Mapping[str, VenueBook]: ...

    @property
    def topics(self) -> list[str]: ...

    async def subscribe(self, specs: Sequence[StreamSpec]) -> list[str]: ...

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> list[str]: ...

    async def close(self) -> None: ...


class VenueUserStream(Protocol):
    """The private stream as the shared steps drive it."""

    async def start(self, timeout_s: float = 10.0) -> None: ...

    def remember(self, order: Order) -> None: ...

    async def close(self) -> None: ...


RestT = TypeVar("RestT", bound=VenueRest)
StreamsT = TypeVar("StreamsT", bound=VenueStreams)
UserT = TypeVar("UserT", bound=VenueUserStream)


class VenueAdapter(AdapterLifecycle, Generic[RestT, StreamsT, UserT]):
    """The shared part of a spot venue adapter (see the module docstring).

    Class attributes a venue sets:
        name: the short exchange name.
        errors: how the venue's errors are built.
        lacks: the start of a "not offered" message (``"MEXC Spot has no"`` + `` OCO orders``).
        unknown_symbol_code: the venue's code for an unknown symbol, or None.
        kline_cap: the most candles one call asks for, or None to pass ``limit`` as given.
    """

    name: ClassVar[str]
    errors: ClassVar[VenueErrors]
    lacks: ClassVar[str]
    unknown_symbol_code: ClassVar[int | None] = None
    kline_cap: ClassVar[int | None] = None
    ORDER_TYPES: ClassVar[tuple[OrderType, ...]] = (OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER)

    def __init__(self, config: VenueConfig, rest: RestT) -> None:
        self.rest = rest
        self.reachable = False
        self._rules: dict[str, SymbolRules] = {}
        self._market_events: EventQueue[MarketEvent] = EventQueue(config.event_queue_size, "market")
        self._user_events: EventQueue[UserEvent] = EventQueue(config.event_queue_size, "user")
        self._streams: StreamsT | None = None
        self._user: UserT | None = None
        self._user_start: asyncio.Task[None] | None = None
        self._request_timeout_s = config.request_timeout_s

    # --- hooks ----------------------------------------------------------------------------------------------------
    def _new_streams(self) -> StreamsT:
        raise NotImplementedError

    def _new_user_stream(self) -> UserT:
        raise NotImplementedError

    async def _fetch_rules(self) -> dict[str, SymbolRules]:
        raise NotImplementedError

    def new_client_order_id(self) -> str:
        """A fresh client order id with the configured prefix."""
        raise NotImplementedError

    async def _close_more(self) -> None:
        """Close what only this venue opens (called after the streams, before the event queues and REST)."""

    # --- lifecycle ------------------------------------------------------------------------------------------------
    @property
    def streams(self) -> StreamsT:
        """The market streams (created on first use)."""
        if self._streams is None:
            self._streams = self._new_streams()
        return self._streams

    async def start(self) -> None:
        """Sync the clock offset and load the symbol rules."""
        await self.sync_time()
        await self.exchange_info(refresh=True)

    async def close(self) -> None:
        """Close the streams, the private stream and the HTTP session; idempotent."""
        if self._streams is not None:
            await self._streams.close()
            self._streams = None
        if self._user_start is not None:
            self._user_start.cancel()
            self._user_start = None
        if self._user is not None:
            await self._user.close()
            self._user = None
        await self._close_more()
        self._market_events.close()
        self._user_events.close()
        await self.rest.close()

    @property
    def clock_offset_ms(self) -> int:
        """The venue's time minus local time (ms), from the last ``sync_time``."""
        return self.rest.time_offset_ms

    async def sync_time(self) -> int:
        """Measure the venue's clock and set the signing offset; returns it (ms).

        Raises:
            ExchangeUnavailable: the venue did not answer (``reachable`` turns False).
        """
        try:
            offset = await self.rest.sync_time()
        except ExchangeUnavailable:
            self.reachable = False
            raise
        self.reachable = True
        return offset

    # --- market data ----------------------------------------------------------------------------------------------
    async def exchange_info(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """All symbols' rules, cached; ``refresh`` refetches."""
        return dict(await self._cached_rules(refresh))

    async def _cached_rules(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """The rules cache itself, fetched first when empty or ``refresh`` (not a copy: lookups on the order path)."""
        if refresh or not self._rules:
            self._rules = await self._fetch_rules()
        return self._rules

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """One symbol's rules. Raises InvalidSymbol when the venue does not list it."""
        found = (await self._cached_rules()).get(symbol.upper())
        if found is None:
            raise self.errors.error(InvalidSymbol, self.unknown_symbol_code, f"unknown symbol {symbol!r}")
        return found

    async def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """Candles, oldest first; ``interval`` in the neutral spelling (``1m``, ``1h``, ``1d``...), echoed in the
        result whatever the venue's own spelling on the wire. Raises BadParameter for an interval the venue lacks."""
        capped = min(limit, self.kline_cap) if self.kline_cap is not None else limit
        try:
            rows = await self.rest.klines(symbol.upper(), interval, capped, start_time_ms, end_time_ms)
        except ValueError as exc:
            raise self.errors.error(BadParameter, None, str(exc)) from None
        return [dataclasses.replace(k, interval=interval) for k in rows]

    # --- trading --------------------------------------------------------------------------------------------------
    def _normalise(self, request: OrderRequest) -> OrderRequest:
        """Upper-case symbol, a client order id, and only the order types the adapter places (else NotSupported)."""
        if request.type not in self.ORDER_TYPES:
            raise self.errors.error(NotSupported, None, f"{self.lacks} {request.type.value} orders")
        return dataclasses.replace(
            request,
            symbol=request.symbol.upper(),
            client_order_id=request.client_order_id or self.new_client_order_id(),
        )

    def _remember(self, order: Order) -> None:
        """Let the private stream know an order it may hear of (it pairs pushes with the order's fields)."""
        if self._user is not None:
            self._user.remember(order)

    async def place_order(self, request: OrderRequest, validate: bool = True) -> Order:
        raise NotImplementedError

    async def cancel_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        raise NotImplementedError

    async def place_oco(
        self,
        symbol: str,
        side: Side,
        *,
        quantity: Decimal,
        price: Decimal,
        stop_price: Decimal,
        stop_limit_price: Decimal | None = None,
        list_client_order_id: str | None = None,
    ) -> OrderList:
        """Not offered: raises NotSupported."""
        raise self.errors.error(NotSupported, None, f"{self.lacks} OCO orders")

    async def get_order_list(self, list_client_order_id: str) -> OrderList:
        """Not offered (no OCO): raises NotSupported."""
        raise self.errors.error(NotSupported, None, f"{self.lacks} OCO orders")

    async def _newest_fills(self, symbol: str, limit: int, order_id: int | str | None) -> list[Fill]:
        raise NotImplementedError

    async def _fills_window(self, symbol: str, start_ms: int, end_ms: int | None) -> list[Fill]:
        """One request: the fills of ``symbol`` from ``start_ms`` to ``end_ms`` (both inclusive, venue time; None: no
        end), at most :attr:`fills_page` of them, in any order."""
        raise NotImplementedError

    fills_page: ClassVar[int] = 100
    """The most fills one request returns (a full answer may have left some out)."""

    async def my_trades(
        self,
        symbol: str,
        limit: int = 500,
        order_id: int | str | None = None,
        *,
        start_time_ms: int | None = None,
        from_id: int | None = None,
    ) -> list[Fill]:
        """Fills on ``symbol``, oldest first: the newest ``limit`` (only ``order_id``'s when given), or with
        ``start_time_ms`` the first ``limit`` from then on (:meth:`_fills_from`). Raises NotSupported for
        ``from_id`` (these venues select fills by time, not by trade id)."""
        if from_id is not None:
            raise self.errors.error(NotSupported, None, "fills are selected by time here, not by trade id (fromId)")
        if start_time_ms is not None:
            return await self._fills_from(symbol.upper(), start_time_ms, limit)
        return await self._newest_fills(symbol, limit, order_id)

    async def _fills_from(self, symbol: str, start_ms: int, limit: int) -> list[Fill]:
        """The first ``limit`` fills of ``symbol`` from ``start_ms`` on, oldest first. Read in time windows, each
        answered whole: a window whose answer is full (:attr:`fills_page`) is split in two and both halves read,
        earliest first, so no fill is left out whichever of the window's fills the venue chose to return. The last
        window has no end (no clock of ours decides what "now" is on the venue); when it is full, it is split at the
        newest time its answer shows. A millisecond holding more than a page is read as answered (logged)."""
        found: dict[tuple[object, ...], Fill] = {}
        windows: list[tuple[int, int | None]] = [(start_ms, None)]  # a stack: the earliest window on top
        while windows and len(found) < limit:
            lo, hi = windows.pop()
            page = await self._fills_window(symbol, lo, hi)
            if len(page) >= self.fills_page:
                top = hi if hi is not None else max(f.time_ms for f in page)
                if top > lo:
                    mid = (lo + top) // 2
                    windows += [(mid + 1, hi), (lo, mid)]
                    continue
                log.warning("%s: %s: more than %d fills in the millisecond %d", self.name, symbol, len(page), lo)
                if hi is None:  # then read what follows that millisecond
                    windows.append((lo + 1, None))
            for f in page:
                found[(f.trade_id, f.order_id, f.time_ms, f.price, f.qty)] = f
        return sorted(found.values(), key=lambda f: (f.time_ms, str(f.trade_id)))[:limit]

    async def cancel_replace(
        self,
        request: OrderRequest,
        *,
        cancel_order_id: int | str | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        """Cancel an order, then place ``request`` (``STOP_ON_FAILURE``: no placement when the cancel fails).

        Not atomic: two calls, between which the old order is gone and the new one not yet placed. A failed placement
        is reported as ``new_order_result`` FAILURE (the cancel stands).

        Raises:
            ExchangeError: the cancel failed (nothing changed).
        """
        cancelled = await self.cancel_order(request.symbol, cancel_order_id, cancel_client_order_id)
        try:
            placed = await self.place_order(request)
        except ExchangeError as exc:
            log.info("cancel_replace: cancel done, placement failed: %s", exc)
            return CancelReplaceResult("SUCCESS", "FAILURE", cancelled, None)
        return CancelReplaceResult("SUCCESS", "SUCCESS", cancelled, placed)

    # --- streams --------------------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Add market streams (live). DEPTH specs also keep a synced local book, readable with :meth:`local_book`.

        Raises:
            InvalidSymbol: a symbol the venue does not list; NotSupported: a kind it lacks; BadParameter: refused.
        """
        if self._rules:
            for spec in specs:
                await self.symbol_rules(spec.symbol)
        await self.streams.subscribe(specs)

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Remove market streams."""
        await self.streams.unsubscribe(specs)

    def market_events(self) -> AsyncIterator[MarketEvent]:
        """Market events of every subscribed stream plus StreamStatus notices, in arrival order (one consumer)."""
        return aiter(self._market_events)

    def local_book(self, symbol: str, depth: int = 20) -> OrderBookSnapshot | None:
        """Top ``depth`` levels of the local book of a DEPTH-subscribed symbol; None while it is not synced."""
        book = self._streams.books.get(symbol.upper()) if self._streams is not None else None
        if book is None or not book.is_synced:
            return None
        return book.snapshot(depth)

    def _user_stream(self) -> UserT:
        if self._user is None:
            self._user = self._new_user_stream()
        return self._user

    async def start_user_stream(self) -> None:
        """Open the private stream now, waiting until it is subscribed.

        Raises:
            TimeoutError: not subscribed within ``request_timeout_s`` (it keeps trying in the background).
        """
        await self._user_stream().start(self._request_timeout_s)

    def user_events(self) -> AsyncIterator[UserEvent]:
        """Order/balance updates (call :meth:`start_user_stream` first to be sure not to miss early events)."""
        user = self._user_stream()
        if self._user_start is None:
            self._user_start = asyncio.get_running_loop().create_task(user.start(self._request_timeout_s))
            self._user_start.add_done_callback(lambda t: t.cancelled() or t.exception())
        return aiter(self._user_events)

    def _rate_limits(self) -> tuple[tuple[RateLimitUsage, ...], int | None]:
        """Per-endpoint usage from the REST client's limiter, and the end of an IP ban in force (ms) or None."""
        raise NotImplementedError

    @property
    def _on_testnet(self) -> bool:
        """True when the adapter talks to the venue's test environment."""
        return False

    async def server_status(self) -> ServerStatus:
        """Re-measure the clock (a failure only marks the venue unreachable) and report the rate-limit headroom."""
        try:
            await self.sync_time()
        except ExchangeError:
            self.reachable = False
        usage, banned_until_ms = self._rate_limits()
        return ServerStatus(
            exchange=self.name,
            testnet=self._on_testnet,
            reachable=self.reachable,
            clock_offset_ms=self.clock_offset_ms,
            rate_limits=usage,
            banned_until_ms=banned_until_ms,
            streams=tuple(self._streams.topics) if self._streams is not None else (),
        )
