"""``BinanceAdapter``: the ``ExchangeAdapter`` for Binance Spot (python-binance 1.0.37's ``AsyncClient`` for the HTTP
session; requests built in :mod:`.rest`).

REST endpoints (https://developers.binance.com/docs/binance-spot-api-docs/rest-api) go through one choke point,
:meth:`~tradingmcp.server.exchanges.binance.rest.BinanceRest._rest` (in :mod:`.rest`, the base class), which builds
the request (every parameter percent-encoded, the signature over exactly the encoded query), waits in the
weight-aware limiter, reads the ``X-MBX-*`` usage headers, turns failures into typed errors, honours 429/418, and on
-1021 resyncs the clock offset and retries.

Order placement, cancel and cancel-replace go over the WebSocket API (``order.place``, ``order.cancel``,
``order.cancelReplace``) on a lean connection of our own (:mod:`.wsapi`, opened by :meth:`BinanceAdapter.start` and
reopened after a drop) — one frame each way instead of an HTTP request — under the same limiter and error mapping;
while that connection is not open (nothing was sent) they go over REST. The user data stream rides the same connection
(:mod:`.userdata`: subscribed first on every connection, events parsed in the frame callback); python-binance gives
the REST HTTP session only.

Idempotent placement: every new order carries a ``newClientOrderId`` (the caller's or a generated one). When a
placement times out or gets a 5xx (outcome unknown), the adapter queries ``origClientOrderId`` before re-sending
(:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`), so a retry can never create a second order.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

from binance.ws.constants import WSListenerState

from tradingmcp.server.exchanges import rules, wire
from tradingmcp.server.exchanges.base import AdapterLifecycle
from tradingmcp.server.exchanges.binance import params, parse
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.binance.errors import ExchangeError, InvalidSymbol
from tradingmcp.server.exchanges.binance.rest import BinanceRest
from tradingmcp.server.exchanges.binance.streams import MarketStreams
from tradingmcp.server.exchanges.binance.userdata import UserDataStream
from tradingmcp.server.exchanges.binance.wsapi import error_data as ws_error_data
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


class BinanceAdapter(BinanceRest, AdapterLifecycle):
    """Binance Spot through exchange-neutral models (see :class:`tradingmcp.server.exchanges.base.ExchangeAdapter`).

    Args:
        config: URLs, keys and limits (Spot Testnet by default).

    Use ``async with BinanceAdapter(cfg) as ex:``; every method raises ``ExchangeError`` subclasses only.
    The client, limiter, clock (``server_ms``, ``sync_time``, ``clock_offset_ms``) and ``_rest`` come from
    :class:`~tradingmcp.server.exchanges.binance.rest.BinanceRest`.
    """

    name = "binance"

    def __init__(self, config: BinanceConfig) -> None:
        super().__init__(config)
        self._rules: dict[str, SymbolRules] = {}
        self._market_events: EventQueue[MarketEvent] = EventQueue(config.event_queue_size, "market")
        self._user_events: EventQueue[UserEvent] = EventQueue(config.event_queue_size, "user")
        self.streams = MarketStreams(config, self.order_book, self._market_events)
        self._user: UserDataStream | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Sync the clock offset, load exchangeInfo (symbol rules and rate limits) and open the WS API order channel
        (with an API key; if it cannot connect, orders use REST until it reconnects in the background)."""
        await self.sync_time()
        await self.exchange_info(refresh=True)
        await self.start_orders()

    async def close(self) -> None:
        """Close streams, the WS API connection and the HTTP session; idempotent."""
        await self.ws.close()
        await self.streams.close()
        if self._user is not None:
            await self._user.close()
            self._user = None
        self._market_events.close()
        self._user_events.close()
        ws_api = self.client.ws_api
        if ws_api is not None and ws_api.ws is not None:  # only if someone used python-binance's ws_* calls
            # stop python-binance's read loop now instead of after its 10 s recv timeout
            ws_api.ws_state = WSListenerState.EXITING
            with contextlib.suppress(Exception):
                await ws_api.ws.close()
        await self.client.close_connection()

    # --- market data ---------------------------------------------------------------------------------------------
    async def exchange_info(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """All symbols' rules (``GET /api/v3/exchangeInfo``, weight 20), cached; also loads the rate limits."""
        return dict(await self._cached_rules(refresh))

    async def _cached_rules(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """The rules cache itself, loaded first when empty or ``refresh`` (not a copy: lookups on the order path)."""
        if refresh or not self._rules:
            body = await self._rest(20, "GET", "exchangeInfo")
            self._rules = parse.exchange_info(body)
            if body.get("rateLimits"):
                self.limiter.core.configure(body["rateLimits"])
        return self._rules

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """One symbol's rules. Raises InvalidSymbol when the exchange does not list it."""
        rules_ = (await self._cached_rules()).get(symbol.upper())
        if rules_ is None:
            raise InvalidSymbol(f"unknown symbol {symbol!r}; {InvalidSymbol.hint}", exchange="binance", code=-1121)
        return rules_

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``GET /api/v3/depth`` (weight 5..250 by ``limit``)."""
        body = await self._rest(params.depth_weight(limit), "GET", "depth", {"symbol": symbol.upper(), "limit": limit})
        return parse.depth(symbol.upper(), body, self.server_ms())

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``GET /api/v3/trades`` (weight 25), oldest first."""
        rows = await self._rest(25, "GET", "trades", {"symbol": symbol.upper(), "limit": limit})
        return [parse.rest_trade(symbol.upper(), r) for r in rows]

    async def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """``GET /api/v3/klines`` (weight 2), oldest first; the last one may still be open (``closed`` False)."""
        query: dict[str, Any] = {"symbol": symbol.upper(), "interval": interval, "limit": limit}
        if start_time_ms is not None:
            query["startTime"] = start_time_ms
        if end_time_ms is not None:
            query["endTime"] = end_time_ms
        rows = await self._rest(2, "GET", "klines", query)
        now = self.server_ms()
        return [parse.rest_kline(symbol.upper(), interval, r, now) for r in rows]

    async def ticker_24h(self, symbol: str) -> Stats24h:
        """``GET /api/v3/ticker/24hr`` for one symbol (weight 2)."""
        return parse.stats_24h(await self._rest(2, "GET", "ticker/24hr", {"symbol": symbol.upper()}))

    async def price(self, symbol: str) -> Decimal:
        """``GET /api/v3/ticker/price`` (weight 2): last trade price."""
        body = await self._rest(2, "GET", "ticker/price", {"symbol": symbol.upper()})
        return Decimal(body["price"])

    async def book_ticker(self, symbol: str) -> Ticker:
        """``GET /api/v3/ticker/bookTicker`` (weight 2): best bid/ask."""
        body = await self._rest(2, "GET", "ticker/bookTicker", {"symbol": symbol.upper()})
        return parse.book_ticker(body, self.server_ms())

    # --- trading -------------------------------------------------------------------------------------------------
    def new_client_order_id(self) -> str:
        """A fresh client order id with the configured prefix (≤ 36 characters)."""
        return params.new_client_order_id(self.config.client_order_prefix)

    async def place_order(self, request: OrderRequest, validate: bool = True) -> Order:
        """``order.place`` (WS API) / ``POST /api/v3/order`` (weight 1, one order), idempotent by ``newClientOrderId``.

        An unknown outcome (timeout, 5xx, connection lost after sending) is settled by ``GET /api/v3/order`` by
        ``origClientOrderId`` before anything is sent again
        (:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`).

        Args:
            request: the order.
            validate: check the symbol rules locally first (raises OrderRuleError, a FilterFailure, without
                sending anything).

        Raises:
            FilterFailure, InsufficientBalance, OrderRejected, ...: the exchange refused it.
            ExchangeUnavailable: the outcome stayed unknown even after querying by client order id.
        """
        if validate:
            rules.check_order(await self.symbol_rules(request.symbol), request)
        cid = request.client_order_id or self.new_client_order_id()
        req = params.order_params(request, cid)

        async def send() -> Order:
            body = await self._order_call("order.place", "POST", "order", req, is_order=True)
            return parse.order(body)

        placed = await place_with_lookup(send, lambda: self.get_order(request.symbol, client_order_id=cid), cid)
        return placed.order

    async def test_order(self, request: OrderRequest) -> None:
        """``POST /api/v3/order/test`` (weight 1): the exchange validates the order without placing it."""
        req = params.order_params(request, request.client_order_id or self.new_client_order_id())
        await self._rest(1, "POST", "order/test", req, signed=True)

    async def cancel_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``order.cancel`` (WS API) / ``DELETE /api/v3/order`` (weight 1) by ``orderId`` or ``origClientOrderId``."""
        ref = params.order_ref(symbol, order_id, client_order_id)
        return parse.order(await self._order_call("order.cancel", "DELETE", "order", ref, is_order=False))

    async def cancel_all_orders(self, symbol: str) -> list[Order]:
        """``DELETE /api/v3/openOrders`` (weight 1): cancels every open order (and order list) on ``symbol``."""
        try:
            rows = await self._rest(1, "DELETE", "openOrders", {"symbol": symbol.upper()}, signed=True)
        except ExchangeError as exc:
            if exc.code == -2011:  # "Unknown order sent." = nothing open
                return []
            raise
        out: list[Order] = []
        for row in rows:
            if "orderReports" in row:
                out.extend(parse.order(r) for r in row["orderReports"])
            else:
                out.append(parse.order(row))
        return out

    async def get_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``GET /api/v3/order`` (weight 4). Raises UnknownOrder (-2013) when absent."""
        ref = params.order_ref(symbol, order_id, client_order_id)
        return parse.order(await self._rest(4, "GET", "order", ref, signed=True))

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """``GET /api/v3/openOrders`` (weight 6 for one symbol, 80 for all)."""
        if symbol is None:
            rows = await self._rest(80, "GET", "openOrders", signed=True)
        else:
            rows = await self._rest(6, "GET", "openOrders", {"symbol": symbol.upper()}, signed=True)
        return [parse.order(r) for r in rows]

    async def all_orders(self, symbol: str, limit: int = 500) -> list[Order]:
        """``GET /api/v3/allOrders`` (weight 20), oldest first."""
        rows = await self._rest(20, "GET", "allOrders", {"symbol": symbol.upper(), "limit": limit}, signed=True)
        return [parse.order(r) for r in rows]

    async def my_trades(
        self,
        symbol: str,
        limit: int = 500,
        order_id: int | str | None = None,
        *,
        start_time_ms: int | None = None,
        from_id: int | None = None,
    ) -> list[Fill]:
        """``GET /api/v3/myTrades`` (weight 20, or 5 with ``orderId``; at most 1000 rows), oldest first;
        ``start_time_ms`` → ``startTime`` (the first ``limit`` fills of the 24 h from then), ``from_id`` → ``fromId``
        (the first ``limit`` fills from that trade id on)."""
        query: dict[str, Any] = {"symbol": symbol.upper(), "limit": limit}
        if order_id is not None:
            query["orderId"] = order_id
        if start_time_ms is not None:
            query["startTime"] = start_time_ms
        if from_id is not None:
            query["fromId"] = from_id
        rows = await self._rest(5 if order_id is not None else 20, "GET", "myTrades", query, signed=True)
        return [parse.my_trade(r) for r in rows]

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``GET /api/v3/account`` (weight 20): balances (only non-zero ones when ``non_zero``)."""
        body = await self._rest(
            20, "GET", "account", {"omitZeroBalances": "true" if non_zero else "false"}, signed=True
        )
        return wire.balances(body, non_zero)

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
        """``POST /api/v3/orderList/oco`` (weight 1, two orders): a LIMIT_MAKER at ``price`` and a stop at
        ``stop_price`` (STOP_LOSS_LIMIT at ``stop_limit_price`` when given, else STOP_LOSS).

        A SELL OCO has the LIMIT_MAKER above the market and the stop below; a BUY OCO the reverse.
        """
        req = params.oco_params(
            symbol,
            side,
            quantity,
            price,
            stop_price,
            stop_limit_price,
            list_client_order_id or self.new_client_order_id(),
        )
        return parse.order_list(await self._rest(1, "POST", "orderList/oco", req, signed=True, is_order=True))

    async def get_order_list(self, list_client_order_id: str) -> OrderList:
        """``GET /api/v3/orderList`` by ``origClientOrderId`` (weight 4): the OCO list with its members' ids.
        Raises UnknownOrder (-2018 NO_SUCH_ORDER_LIST) when the exchange has no such list."""
        body = await self._rest(4, "GET", "orderList", {"origClientOrderId": list_client_order_id}, signed=True)
        return parse.order_list(body)

    async def cancel_replace(
        self,
        request: OrderRequest,
        *,
        cancel_order_id: int | str | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        """``order.cancelReplace`` (WS API) / ``POST /api/v3/order/cancelReplace`` (weight 1, STOP_ON_FAILURE): cancel,
        then place ``request``.

        Raises:
            ExchangeError: when nothing succeeded; a partial success (HTTP 409) is returned as a result whose
                ``new_order_result`` is ``FAILURE``.
        """
        cid = request.client_order_id or self.new_client_order_id()
        req = params.cancel_replace_params(request, cid, cancel_order_id, cancel_client_order_id)
        try:
            body = await self._order_call("order.cancelReplace", "POST", "order/cancelReplace", req, is_order=True)
        except ExchangeError as exc:
            data = params.error_data(exc) or ws_error_data(exc)
            if exc.status == 409 and data is not None:
                return parse.cancel_replace(data)
            raise
        return parse.cancel_replace(body)

    # --- streams -------------------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Add market streams (live SUBSCRIBE; the connection opens on the first call). DEPTH specs also keep a
        synced local book, readable with :meth:`local_book`."""
        await self.streams.subscribe(specs)

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Remove market streams (live UNSUBSCRIBE)."""
        await self.streams.unsubscribe(specs)

    def market_events(self) -> AsyncIterator[MarketEvent]:
        """Market events of every subscribed stream plus StreamStatus notices, in arrival order (one consumer)."""
        return aiter(self._market_events)

    def local_book(self, symbol: str, depth: int = 20) -> OrderBookSnapshot | None:
        """Top ``depth`` levels of the local book of a DEPTH-subscribed symbol; None while it is not synced."""
        book = self.streams.books.get(symbol.upper())
        if book is None or not book.is_synced:
            return None
        return book.snapshot(depth)

    @property
    def user_stream(self) -> UserDataStream | None:
        """The user data stream on the order channel, once :meth:`start_user_stream` or :meth:`user_events` made it;
        None before that and after :meth:`close`. Read-only: its ``subscription_id`` and ``subscriptions`` say whether
        and how often the exchange acknowledged the subscription."""
        return self._user

    def _user_stream(self) -> UserDataStream:
        if self._user is None:
            self._user = UserDataStream(
                self.ws, self._user_events, self.config.reconnect_delay_s, self.config.ws_api_reconnect_max_s
            )
        return self._user

    async def start_user_stream(self) -> None:
        """Subscribe to the account's user data (``userDataStream.subscribe.signature`` on the WS API order channel)
        now, waiting for the acknowledgement; it is made again on every reconnect.

        Raises:
            TimeoutError: the subscription was not acknowledged in time (it keeps trying in the background).
        """
        await self._user_stream().start(self.config.request_timeout_s)

    def user_events(self) -> AsyncIterator[UserEvent]:
        """Order/balance updates and StreamStatus notices (``connected``; ``reconnecting``: re-read open orders and
        balances), put on the queue in the frame callback. Call :meth:`start_user_stream` first to be sure not to
        miss early events; ``.listen(callback)`` on the result delivers them synchronously, with no task hop."""
        if self._user is None:
            self._user_stream().start_soon(self.config.request_timeout_s)
        return aiter(self._user_events)

    async def server_status(self) -> ServerStatus:
        """Ping the exchange (re-measuring the clock offset) and report rate-limit headroom."""
        try:
            await self.sync_time()
        except ExchangeError:
            self.reachable = False
        return ServerStatus(
            exchange=self.name,
            testnet=self.config.testnet,
            reachable=self.reachable,
            clock_offset_ms=self.clock_offset_ms,
            rate_limits=self.limiter.usage(),
            banned_until_ms=self.limiter.core.banned_until_ms,
            streams=tuple(self.streams.wanted),
        )
