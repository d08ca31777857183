"""``MexcAdapter``: the ``ExchangeAdapter`` for MEXC Spot v3, on our own aiohttp REST client and protobuf streams.

REST (https://mexcdevelop.github.io/apidocs/spot_v3_en/) goes through ``MexcRestClient`` (signing, clock offset,
per-endpoint weights, 429/418). Market streams go through ``streams.MarketStreams`` (≤ 30 topics per connection,
PING keepalive, reconnect → resubscribe → book resync); the account through ``userdata.UserDataStream``
(listenKey, private protobuf topics, order + deal pushes merged into ``OrderEvent``).

Idempotent placement: every new order carries a ``newClientOrderId`` (the caller's or a generated one). When a
placement times out or gets a 5xx (outcome unknown), the adapter queries ``origClientOrderId`` before re-sending
(:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`), so a retry never creates a second order.

What MEXC Spot lacks: OCO orders and stop orders (``NotSupported``), a 24 h ticker stream (``NotSupported`` from
``subscribe``), open orders across all symbols (a fan-out over the symbols the adapter knows, see
:meth:`MexcAdapter.open_orders`). ``cancel_replace`` is emulated (cancel, then place), so it is not atomic.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.base import AdapterLifecycle, ExchangeAdapter
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.server.exchanges.mexc.errors import (
    BadParameter,
    ExchangeError,
    ExchangeUnavailable,
    InvalidSymbol,
    NotSupported,
    UnknownOrder,
    mexc_error,
)
from tradingmcp.server.exchanges.mexc.rest import MexcRestClient
from tradingmcp.server.exchanges.mexc.streams import MarketStreams
from tradingmcp.server.exchanges.mexc.userdata import UserDataStream
from tradingmcp.server.exchanges.models import (
    Balance,
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
    Stats24h,
    StreamSpec,
    SymbolRules,
    Ticker,
    TimeInForce,
    Trade,
    UserEvent,
)
from tradingmcp.server.exchanges.placing import place_with_lookup

log = logging.getLogger(__name__)

_CLIENT_ID_LENGTH = 32
"""Length of generated client order ids (prefix + hex)."""


class MexcAdapter(AdapterLifecycle):
    """MEXC Spot through exchange-neutral models (see :class:`tradingmcp.server.exchanges.base.ExchangeAdapter`).

    Args:
        config: URLs, keys and stream settings (production MEXC by default; MEXC has no testnet).

    Use ``async with MexcAdapter(cfg) as ex:``; every method raises ``ExchangeError`` subclasses only.
    """

    name = "mexc"

    def __init__(self, config: MexcConfig) -> None:
        self.config = config
        self.rest = MexcRestClient(config)
        self.reachable = False
        self._rules: dict[str, SymbolRules] = {}
        self._account_symbols: set[str] = {s.upper() for s in config.account_symbols}
        self._market_events: EventQueue[MarketEvent] = EventQueue(config.event_queue_size, "market")
        self._user_events: EventQueue[UserEvent] = EventQueue(config.event_queue_size, "user")
        self._streams: MarketStreams | None = None
        self._user: UserDataStream | None = None
        self._user_start: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"MexcAdapter({self.config.rest_url}, symbols={len(self._rules)}, reachable={self.reachable})"

    # --- lifecycle ----------------------------------------------------------------------------------------------
    @property
    def streams(self) -> MarketStreams:
        """The market-stream pool (created on first use)."""
        if self._streams is None:
            self._streams = MarketStreams(self.config, self.order_book, self._market_events)
        return self._streams

    async def start(self) -> None:
        """Sync the clock offset and load the symbol rules (``GET /api/v3/time``, ``GET /api/v3/exchangeInfo``)."""
        await self.sync_time()
        await self.exchange_info(refresh=True)

    async def close(self) -> None:
        """Close streams, the listenKey and the HTTP session; idempotent."""
        if self._streams is not None:
            await self._streams.close()
            self._streams = None
        if self._user_start is not None:
            self._user_start.cancel()
            self._user_start = None
        if self._user is not None:
            await self._user.close()
            self._user = None
        self._market_events.close()
        self._user_events.close()
        await self.rest.close()

    @property
    def clock_offset_ms(self) -> int:
        """MEXC time minus local time (ms), from the last ``sync_time``."""
        return self.rest.time_offset_ms

    def server_ms(self) -> int:
        """Estimated MEXC time (ms): local wall clock + ``clock_offset_ms``."""
        return time.time_ns() // 1_000_000 + self.rest.time_offset_ms

    async def sync_time(self) -> int:
        """Measure the MEXC clock (``GET /api/v3/time``) and set the signing offset; returns it (ms)."""
        try:
            offset = await self.rest.sync_time()
        except ExchangeUnavailable:
            self.reachable = False
            raise
        self.reachable = True
        return offset

    # --- market data ---------------------------------------------------------------------------------------------
    async def exchange_info(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """All symbols' rules (``GET /api/v3/exchangeInfo``, weight 10), cached; ``refresh`` refetches."""
        if refresh or not self._rules:
            self._rules = await self.rest.exchange_info()
        return dict(self._rules)

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """One symbol's rules. Raises InvalidSymbol when MEXC does not list it."""
        found = (await self.exchange_info()).get(symbol.upper())
        if found is None:
            raise mexc_error(InvalidSymbol, None, f"unknown symbol {symbol!r}")
        return found

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``GET /api/v3/depth`` (limit ≤ 5000); ``last_update_id`` is MEXC's book version."""
        return await self.rest.depth(symbol.upper(), limit)

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``GET /api/v3/trades`` (limit ≤ 1000, weight 5), oldest first (MEXC gives no trade ids: -1)."""
        return await self.rest.trades(symbol.upper(), min(limit, 1000))

    async def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """``GET /api/v3/klines``, oldest first; ``interval`` in Binance spelling (``1m``, ``1h``, ``1d``…), echoed
        in the result (MEXC's own spelling, e.g. ``60m``, is used on the wire). MEXC sends no trade counts (0)."""
        try:
            rows = await self.rest.klines(symbol.upper(), interval, min(limit, 1000), start_time_ms, end_time_ms)
        except ValueError as exc:
            raise mexc_error(BadParameter, None, str(exc)) from None
        return [dataclasses.replace(k, interval=interval) for k in rows]

    async def ticker_24h(self, symbol: str) -> Stats24h:
        """``GET /api/v3/ticker/24hr`` for one symbol."""
        return await self.rest.ticker_24h(symbol.upper())

    async def price(self, symbol: str) -> Decimal:
        """``GET /api/v3/ticker/price``: last trade price."""
        return await self.rest.ticker_price(symbol.upper())

    async def book_ticker(self, symbol: str) -> Ticker:
        """``GET /api/v3/ticker/bookTicker``: best bid/ask."""
        return await self.rest.book_ticker(symbol.upper())

    # --- trading -------------------------------------------------------------------------------------------------
    def new_client_order_id(self) -> str:
        """A fresh client order id: ``<prefix><hex>``, 32 characters."""
        prefix = self.config.client_order_prefix
        return prefix + uuid.uuid4().hex[: _CLIENT_ID_LENGTH - len(prefix)]

    def _normalise(self, request: OrderRequest) -> OrderRequest:
        """Upper-case symbol, a client order id, and no stop orders (MEXC Spot has none)."""
        if request.type not in (OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER):
            raise mexc_error(NotSupported, None, f"MEXC Spot has no {request.type.value} orders")
        return dataclasses.replace(
            request,
            symbol=request.symbol.upper(),
            client_order_id=request.client_order_id or self.new_client_order_id(),
        )

    async def place_order(self, request: OrderRequest, validate: bool = True) -> Order:
        """``POST /api/v3/order``, idempotent by ``newClientOrderId``.

        LIMIT (GTC/IOC/FOK), MARKET (``quantity`` or ``quote_order_qty``) and LIMIT_MAKER. MEXC answers a placement
        with a short acknowledgement; for MARKET/IOC/FOK orders (which finish at once) the adapter reads the order
        back so the returned state shows the execution. An unknown outcome (timeout, 5xx) is settled by
        ``GET /api/v3/order`` by ``origClientOrderId`` before anything is sent again
        (:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`).

        Args:
            request: the order.
            validate: check the symbol rules locally first (raises OrderRuleError, a FilterFailure, without
                sending anything).

        Raises:
            NotSupported: a stop/take-profit type.
            FilterFailure, InsufficientBalance, OrderRejected, ...: MEXC refused it.
            ExchangeUnavailable: the outcome stayed unknown even after querying by client order id.
        """
        req = self._normalise(request)
        if validate:
            rules.check_order(await self.symbol_rules(req.symbol), req)
        cid = req.client_order_id
        assert cid is not None
        self._account_symbols.add(req.symbol.upper())
        placed = await place_with_lookup(
            lambda: self.rest.place_order(req), lambda: self.rest.get_order(req.symbol, client_order_id=cid), cid
        )
        order = placed.order
        self._remember(order)
        if placed.found_after_unknown_outcome:  # the lookup's answer already shows the order's state
            return order
        if req.type is OrderType.MARKET or req.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            try:
                order = await self.rest.get_order(req.symbol, order_id=order.order_id)
            except ExchangeError as exc:
                log.info("reading back order %s failed (%s); returning the acknowledgement", cid, exc)
        return order

    def _remember(self, order: Order) -> None:
        if self._user is not None:
            self._user.remember(order)

    async def test_order(self, request: OrderRequest) -> None:
        """``POST /api/v3/order/test``: MEXC validates the order without placing it."""
        await self.rest.test_order(self._normalise(request))

    async def cancel_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``DELETE /api/v3/order`` by ``orderId`` or ``origClientOrderId``."""
        return await self.rest.cancel_order(symbol.upper(), order_id, client_order_id)

    async def cancel_all_orders(self, symbol: str) -> list[Order]:
        """``DELETE /api/v3/openOrders``: cancels every open order on ``symbol`` (none open → [])."""
        try:
            return await self.rest.cancel_open_orders(symbol.upper())
        except UnknownOrder:
            return []

    async def get_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``GET /api/v3/order`` (weight 2). Raises UnknownOrder when absent."""
        return await self.rest.get_order(symbol.upper(), order_id, client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """``GET /api/v3/openOrders`` (weight 3 per symbol).

        MEXC lists open orders per symbol only, so ``symbol=None`` asks for every symbol of
        ``config.account_symbols`` and every symbol this adapter traded or streamed since it started (orders that
        another program placed on other symbols are not seen; pass their symbol).
        """
        if symbol is not None:
            return await self.rest.open_orders(symbol.upper())
        symbols = sorted(self._account_symbols)
        pages = await asyncio.gather(*(self.rest.open_orders(s) for s in symbols))
        return [o for page in pages for o in page]

    async def all_orders(self, symbol: str, limit: int = 500) -> list[Order]:
        """``GET /api/v3/allOrders`` (weight 10; MEXC keeps 7 days, default last 24 h), oldest first."""
        return await self.rest.all_orders(symbol.upper(), min(limit, 1000))

    async def my_trades(self, symbol: str, limit: int = 500, order_id: int | str | None = None) -> list[Fill]:
        """``GET /api/v3/myTrades`` (weight 10, at most 100 rows), oldest first."""
        return await self.rest.my_trades(symbol.upper(), limit, order_id)

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``GET /api/v3/account`` (weight 10): balances (only non-zero ones when ``non_zero``)."""
        return await self.rest.balances(non_zero)

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
        """Not offered by MEXC Spot: raises NotSupported."""
        raise mexc_error(NotSupported, None, "MEXC Spot has no OCO orders")

    async def cancel_replace(
        self,
        request: OrderRequest,
        *,
        cancel_order_id: int | str | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        """Cancel an order, then place ``request`` (``STOP_ON_FAILURE``: no placement when the cancel fails).

        MEXC has no atomic cancel-replace, so this is two calls: between them the old order is gone and the new one
        not yet placed. A failed placement is reported as ``new_order_result`` FAILURE (the cancel stands).

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

    # --- streams -------------------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Add market streams (live SUBSCRIPTION, new connections every 30 topics). DEPTH specs also keep a synced
        local book, readable with :meth:`local_book`.

        Raises:
            InvalidSymbol: a symbol MEXC does not list; NotSupported: a TICKER_24H spec; BadParameter: refused.
        """
        if self._rules:
            for spec in specs:
                await self.symbol_rules(spec.symbol)
        await self.streams.subscribe(specs)
        self._account_symbols.update(spec.symbol.upper() for spec in specs)

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Remove market streams (live UNSUBSCRIPTION)."""
        await self.streams.unsubscribe(specs)

    def market_events(self) -> AsyncIterator[MarketEvent]:
        """Market events of every subscribed stream plus StreamStatus notices, in arrival order (one consumer)."""
        return aiter(self._market_events)

    def local_book(self, symbol: str, depth: int = 20) -> OrderBookSnapshot | None:
        """Top ``depth`` levels of the local book of a DEPTH-subscribed symbol; None while it is not synced."""
        book = self.streams.books.get(symbol.upper()) if self._streams is not None else None
        if book is None or not book.is_synced:
            return None
        return book.snapshot(depth)

    @property
    def user_stream(self) -> UserDataStream | None:
        """The user data stream (listenKey and private topics), once :meth:`start_user_stream` or :meth:`user_events`
        made it; None before that and after :meth:`close`. Read-only: its ``listen_key`` is the key in use and its
        ``merger`` pairs order and deal pushes."""
        return self._user

    def _user_stream(self) -> UserDataStream:
        if self._user is None:
            self._user = UserDataStream(self.rest, self.config, self._user_events)
        return self._user

    async def start_user_stream(self) -> None:
        """Open the user data stream (listenKey + private topics) now, waiting until it is subscribed.

        Raises:
            TimeoutError: not subscribed within ``request_timeout_s`` (it keeps trying in the background).
        """
        await self._user_stream().start(self.config.request_timeout_s)

    def user_events(self) -> AsyncIterator[UserEvent]:
        """Order/balance updates (call :meth:`start_user_stream` first to be sure not to miss early events)."""
        user = self._user_stream()
        if self._user_start is None:
            self._user_start = asyncio.get_running_loop().create_task(user.start(self.config.request_timeout_s))
            self._user_start.add_done_callback(lambda t: t.cancelled() or t.exception())
        return aiter(self._user_events)

    async def server_status(self) -> ServerStatus:
        """Ping MEXC (re-measuring the clock offset) and report per-endpoint weight headroom (500 per 10 s)."""
        try:
            await self.sync_time()
        except ExchangeError:
            self.reachable = False
        limiter = self.rest.limiter
        now = time.monotonic()
        usage = tuple(
            RateLimitUsage(endpoint, int(limiter.window_s), used, limiter.limit)
            for endpoint, used in limiter.usage(now)
        )
        banned_until = None
        if limiter.banned and limiter.blocked_until_s > now:
            banned_until = self.server_ms() + int((limiter.blocked_until_s - now) * 1000)
        topics = tuple(self._streams.topics) if self._streams is not None else ()
        return ServerStatus(
            exchange=self.name,
            testnet=False,
            reachable=self.reachable,
            clock_offset_ms=self.clock_offset_ms,
            rate_limits=usage,
            banned_until_ms=banned_until,
            streams=topics,
        )


def _conforms(adapter: MexcAdapter) -> ExchangeAdapter:
    """Static check (mypy): ``MexcAdapter`` implements the ``ExchangeAdapter`` protocol."""
    return adapter
