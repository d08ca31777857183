"""``BybitAdapter``: the ``ExchangeAdapter`` for Bybit V5 spot, on our own aiohttp REST client and JSON streams.

REST (https://bybit-exchange.github.io/docs/v5/intro) goes through ``BybitRestClient``; with ``trade_over_ws``
placements and cancels go over the order entry WebSocket (``tradews.OrderEntry``, ``/v5/trade``) instead (signing, clock offset,
``X-Bapi-Limit-*`` waits); market streams through ``streams.MarketStreams`` (one connection, reconnect → resubscribe,
local books from snapshot + deltas, resubscribe on a gap); the account through ``userdata.UserDataStream`` (``auth``,
``order``/``execution``/``wallet``).

Idempotent placement: every order carries an ``orderLinkId`` (the caller's client order id or a generated one). When
a placement times out or gets a 5xx (outcome unknown), the adapter looks the order up by ``orderLinkId`` before
sending again (:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`), so a retry never makes a second order.

What this adapter does not offer on Bybit spot: stop/take-profit orders and OCO (``NotSupported``; Bybit has
conditional spot orders, not mapped here), a validate-only order (``test_order`` checks the symbol rules locally:
Bybit has no test endpoint). ``cancel_replace`` is cancel, then place (not atomic; Bybit's amend keeps the order id).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.base import AdapterLifecycle, ExchangeAdapter
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.bybit.errors import (
    BadParameter,
    ExchangeError,
    ExchangeUnavailable,
    InvalidSymbol,
    NotSupported,
    bybit_error,
)
from tradingmcp.server.exchanges.bybit.params import new_client_order_id, order_body, order_ref
from tradingmcp.server.exchanges.bybit.parse import order as parse_order
from tradingmcp.server.exchanges.bybit.parse import stats, ticker, with_fee_asset
from tradingmcp.server.exchanges.bybit.rest import BybitRestClient
from tradingmcp.server.exchanges.bybit.streams import MarketStreams
from tradingmcp.server.exchanges.bybit.tradews import OrderEntry
from tradingmcp.server.exchanges.bybit.userdata import UserDataStream
from tradingmcp.server.exchanges.eventqueue import EventQueue
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
    Trade,
    UserEvent,
)
from tradingmcp.server.exchanges.placing import place_with_lookup

log = logging.getLogger(__name__)


class BybitAdapter(AdapterLifecycle):
    """Bybit spot through exchange-neutral models (see :class:`tradingmcp.server.exchanges.base.ExchangeAdapter`).

    Args:
        config: URLs, keys and stream settings (testnet by default).
    """

    name = "bybit"

    def __init__(self, config: BybitConfig) -> None:
        self.config = config
        self.rest = BybitRestClient(config)
        self.reachable = False
        self._rules: dict[str, SymbolRules] = {}
        self._market_events: EventQueue[MarketEvent] = EventQueue(config.event_queue_size, "market")
        self._user_events: EventQueue[UserEvent] = EventQueue(config.event_queue_size, "user")
        self._streams: MarketStreams | None = None
        self._user: UserDataStream | None = None
        self._user_start: asyncio.Task[None] | None = None
        self.order_entry = OrderEntry(config, self.rest.limiter, self.rest.server_ms) if config.trade_over_ws else None

    def __repr__(self) -> str:
        return f"BybitAdapter({self.config.effective_rest_url}, symbols={len(self._rules)}, reachable={self.reachable})"

    # --- lifecycle ----------------------------------------------------------------------------------------------
    @property
    def streams(self) -> MarketStreams:
        """The market streams (created on first use)."""
        if self._streams is None:
            self._streams = MarketStreams(self.config, self._market_events)
        return self._streams

    async def start(self) -> None:
        """Sync the clock offset and load the symbol rules (``/v5/market/time``, ``/v5/market/instruments-info``)."""
        await self.sync_time()
        await self.exchange_info(refresh=True)

    async def close(self) -> None:
        """Close streams and the HTTP session; idempotent."""
        if self._streams is not None:
            await self._streams.close()
            self._streams = None
        if self._user_start is not None:
            self._user_start.cancel()
            self._user_start = None
        if self._user is not None:
            await self._user.close()
            self._user = None
        if self.order_entry is not None:
            await self.order_entry.close()
        self._market_events.close()
        self._user_events.close()
        await self.rest.close()

    @property
    def clock_offset_ms(self) -> int:
        """Bybit time minus local time (ms)."""
        return self.rest.time_offset_ms

    async def sync_time(self) -> int:
        """Measure the Bybit clock and set the signing offset; returns it (ms)."""
        try:
            offset = await self.rest.sync_time()
        except ExchangeUnavailable:
            self.reachable = False
            raise
        self.reachable = True
        return offset

    # --- market data ---------------------------------------------------------------------------------------------
    async def exchange_info(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """All spot symbols' rules, cached; ``refresh`` refetches."""
        if refresh or not self._rules:
            self._rules = await self.rest.instruments()
        return dict(self._rules)

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """One symbol's rules. Raises InvalidSymbol when Bybit does not list it."""
        found = (await self.exchange_info()).get(symbol.upper())
        if found is None:
            raise bybit_error(InvalidSymbol, 170121, f"unknown symbol {symbol!r}")
        return found

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``GET /v5/market/orderbook`` (spot: at most 200 levels per side)."""
        return await self.rest.orderbook(symbol.upper(), limit)

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``GET /v5/market/recent-trade`` (spot: at most 60), oldest first."""
        return await self.rest.recent_trades(symbol.upper(), limit)

    async def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """``GET /v5/market/kline``, oldest first; ``interval`` in the neutral spelling (``1m``, ``1h``, ``1d``...)."""
        try:
            rows = await self.rest.klines(symbol.upper(), interval, limit, start_time_ms, end_time_ms)
        except ValueError as exc:
            raise bybit_error(BadParameter, None, str(exc)) from None
        return [dataclasses.replace(k, interval=interval) for k in rows]

    async def ticker_24h(self, symbol: str) -> Stats24h:
        """``GET /v5/market/tickers`` → 24 h statistics."""
        return stats(await self.rest.ticker_row(symbol.upper()), self.rest.server_ms())

    async def price(self, symbol: str) -> Decimal:
        """Last trade price (``tickers.lastPrice``)."""
        return ticker(await self.rest.ticker_row(symbol.upper()), self.rest.server_ms()).price

    async def book_ticker(self, symbol: str) -> Ticker:
        """Best bid/ask (``tickers.bid1Price``/``ask1Price``)."""
        return ticker(await self.rest.ticker_row(symbol.upper()), self.rest.server_ms())

    # --- trading -------------------------------------------------------------------------------------------------
    def _normalise(self, request: OrderRequest) -> OrderRequest:
        if request.type not in (OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER):
            raise bybit_error(NotSupported, None, f"the Bybit adapter places no {request.type.value} orders")
        return dataclasses.replace(
            request,
            symbol=request.symbol.upper(),
            client_order_id=request.client_order_id or new_client_order_id(self.config.client_order_prefix),
        )

    async def place_order(self, request: OrderRequest, validate: bool = True) -> Order:
        """``POST /v5/order/create``, idempotent by ``orderLinkId``.

        Bybit acknowledges with ids only, so the adapter reads the order back (``/v5/order/realtime``) to return its
        state (fills of a MARKET/IOC/FOK order included). An unknown outcome (timeout, 5xx, 10016) is settled by
        looking the order up by ``orderLinkId`` before anything is sent again.

        Raises:
            NotSupported: a stop/take-profit type.
            FilterFailure, InsufficientBalance, OrderRejected, ...: Bybit refused it.
            ExchangeUnavailable: the outcome stayed unknown even after the lookup.
        """
        req = self._normalise(request)
        if validate:
            rules.check_order(await self.symbol_rules(req.symbol), req)
        cid = req.client_order_id
        assert cid is not None
        placed = await place_with_lookup(
            lambda: self._send_order(req, cid), lambda: self.rest.get_order(req.symbol, client_order_id=cid), cid
        )
        order = placed.order
        if not placed.found_after_unknown_outcome:
            try:
                order = await self.rest.get_order(req.symbol, order_id=order.order_id)
            except ExchangeError as exc:
                log.info("reading back order %s failed (%s); returning the acknowledgement", cid, exc)
        if self._user is not None:
            self._user.remember(order)
        return order

    async def _send_order(self, req: OrderRequest, cid: str) -> Order:
        """One placement: over the order entry WebSocket when ``trade_over_ws``, else ``POST /v5/order/create``."""
        if self.order_entry is None:
            return await self.rest.place_order(req, cid)
        body = order_body(req, cid)
        data = await self.order_entry.request("order.create", body)
        now = self.rest.server_ms()
        return parse_order({**body, "orderId": data["orderId"], "orderLinkId": data.get("orderLinkId") or cid,
                      "orderStatus": "New", "createdTime": now, "updatedTime": now})  # fmt: skip

    async def test_order(self, request: OrderRequest) -> None:
        """Bybit has no validate-only endpoint: checks the symbol rules locally (raises ``OrderRuleError``)."""
        req = self._normalise(request)
        rules.check_order(await self.symbol_rules(req.symbol), req)

    async def cancel_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``POST /v5/order/cancel`` (or ``order.cancel`` on the order entry WebSocket) by ``orderId`` or
        ``orderLinkId``; returns the order as read back."""
        if self.order_entry is not None:
            ids = await self.order_entry.request("order.cancel", order_ref(symbol.upper(), order_id, client_order_id))
        else:
            ids = await self.rest.cancel_order(symbol.upper(), order_id, client_order_id)
        return await self.rest.get_order(symbol.upper(), order_id=ids["orderId"])

    async def cancel_all_orders(self, symbol: str) -> list[Order]:
        """``POST /v5/order/cancel-all`` on ``symbol``; returns the cancelled orders as read back."""
        ids = await self.rest.cancel_all(symbol.upper())
        return [await self.rest.get_order(symbol.upper(), order_id=row["orderId"]) for row in ids]

    async def get_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """One order in any state. Raises UnknownOrder when absent."""
        return await self.rest.get_order(symbol.upper(), order_id, client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """``GET /v5/order/realtime`` (one symbol, or every spot symbol)."""
        return await self.rest.open_orders(symbol.upper() if symbol else None)

    async def all_orders(self, symbol: str, limit: int = 500) -> list[Order]:
        """``GET /v5/order/history``, oldest first."""
        return await self.rest.order_history(symbol.upper(), limit)

    async def my_trades(self, symbol: str, limit: int = 500, order_id: int | str | None = None) -> list[Fill]:
        """``GET /v5/execution/list``, oldest first (a fill without ``feeCurrency`` gets Bybit's spot fee coin)."""
        fills = await self.rest.executions(symbol.upper(), limit, order_id)
        assets = self._assets_of(symbol.upper())
        return [with_fee_asset(f, *assets) for f in fills] if assets else fills

    def _assets_of(self, symbol: str) -> tuple[str, str] | None:
        found = self._rules.get(symbol)
        return (found.base_asset, found.quote_asset) if found is not None else None

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED``."""
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
        """Not offered by this adapter on Bybit spot: raises NotSupported."""
        raise bybit_error(NotSupported, None, "the Bybit adapter places no OCO orders")

    async def cancel_replace(
        self,
        request: OrderRequest,
        *,
        cancel_order_id: int | str | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        """Cancel an order, then place ``request`` (``STOP_ON_FAILURE``; not atomic: two calls).

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
        """Add market streams (live ``subscribe``). DEPTH specs keep a local book (:meth:`local_book`).

        Raises:
            InvalidSymbol: a symbol Bybit does not list; BadParameter: refused.
        """
        if self._rules:
            for spec in specs:
                await self.symbol_rules(spec.symbol)
        await self.streams.subscribe(specs)

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Remove market streams."""
        await self.streams.unsubscribe(specs)

    def market_events(self) -> AsyncIterator[MarketEvent]:
        """Market events of every subscribed stream plus StreamStatus notices (one consumer)."""
        return aiter(self._market_events)

    def local_book(self, symbol: str, depth: int = 20) -> OrderBookSnapshot | None:
        """Top ``depth`` levels of a DEPTH-subscribed symbol's book; None while it is not synced."""
        book = self._streams.books.get(symbol.upper()) if self._streams is not None else None
        if book is None or not book.is_synced:
            return None
        return book.snapshot(depth)

    def _user_stream(self) -> UserDataStream:
        if self._user is None:
            self._user = UserDataStream(self.config, self._user_events, self._assets_of)
        return self._user

    async def start_user_stream(self) -> None:
        """Open the private stream now, waiting until it is authenticated and subscribed.

        Raises:
            TimeoutError: not subscribed within ``request_timeout_s`` (it keeps trying in the background).
        """
        await self._user_stream().start(self.config.request_timeout_s)

    def user_events(self) -> AsyncIterator[UserEvent]:
        """Order/balance updates (call :meth:`start_user_stream` first so no early event is missed)."""
        user = self._user_stream()
        if self._user_start is None:
            self._user_start = asyncio.get_running_loop().create_task(user.start(self.config.request_timeout_s))
            self._user_start.add_done_callback(lambda t: t.cancelled() or t.exception())
        return aiter(self._user_events)

    async def server_status(self) -> ServerStatus:
        """Re-measure the clock and report the per-endpoint limits from the last answers' headers."""
        try:
            await self.sync_time()
        except ExchangeError:
            self.reachable = False
        now = time.time_ns() // 1_000_000
        usage = tuple(
            RateLimitUsage(endpoint, 1, state.limit - state.remaining, state.limit)
            for endpoint, state in sorted(self.rest.limiter.endpoints.items())
        )
        banned = (
            self.rest.limiter.blocked_until_ms
            if self.rest.limiter.banned and self.rest.limiter.blocked_until_ms > now
            else None
        )
        topics = tuple(self._streams.topics) if self._streams is not None else ()
        return ServerStatus(
            exchange=self.name,
            testnet=self.config.testnet,
            reachable=self.reachable,
            clock_offset_ms=self.clock_offset_ms,
            rate_limits=usage,
            banned_until_ms=banned,
            streams=topics,
        )


def _conforms(adapter: BybitAdapter) -> ExchangeAdapter:
    """Static check (mypy): ``BybitAdapter`` implements the ``ExchangeAdapter`` protocol."""
    return adapter
