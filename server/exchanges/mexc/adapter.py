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
import logging
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import ExchangeError, UnknownOrder
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.server.exchanges.mexc.errors import ERRORS
from tradingmcp.server.exchanges.mexc.rest import MexcRestClient
from tradingmcp.server.exchanges.mexc.streams import MarketStreams
from tradingmcp.server.exchanges.mexc.userdata import UserDataStream
from tradingmcp.server.exchanges.models import (
    Balance,
    Fill,
    Order,
    OrderBookSnapshot,
    OrderRequest,
    OrderType,
    RateLimitUsage,
    Stats24h,
    StreamSpec,
    SymbolRules,
    Ticker,
    TimeInForce,
    Trade,
)
from tradingmcp.server.exchanges.placing import place_with_lookup
from tradingmcp.server.exchanges.venueadapter import VenueAdapter

log = logging.getLogger(__name__)

_CLIENT_ID_LENGTH = 32
"""Length of generated client order ids (prefix + hex)."""


class MexcAdapter(VenueAdapter[MexcRestClient, MarketStreams, UserDataStream]):
    """MEXC Spot through exchange-neutral models (see :class:`tradingmcp.server.exchanges.base.ExchangeAdapter`).

    Args:
        config: URLs, keys and stream settings (production MEXC by default; MEXC has no testnet).

    Use ``async with MexcAdapter(cfg) as ex:``; every method raises ``ExchangeError`` subclasses only.
    """

    name = "mexc"
    errors = ERRORS
    lacks = "MEXC Spot has no"
    kline_cap = 1000

    def __init__(self, config: MexcConfig) -> None:
        super().__init__(config, MexcRestClient(config))
        self.config = config
        self._account_symbols: set[str] = {s.upper() for s in config.account_symbols}

    def __repr__(self) -> str:
        return f"MexcAdapter({self.config.rest_url}, symbols={len(self._rules)}, reachable={self.reachable})"

    def _new_streams(self) -> MarketStreams:
        return MarketStreams(self.config, self.order_book, self._market_events)

    def _new_user_stream(self) -> UserDataStream:
        return UserDataStream(self.rest, self.config, self._user_events)

    async def _fetch_rules(self) -> dict[str, SymbolRules]:
        """``GET /api/v3/exchangeInfo`` (weight 10)."""
        return await self.rest.exchange_info()

    def server_ms(self) -> int:
        """Estimated MEXC time (ms): local wall clock + ``clock_offset_ms``."""
        return time.time_ns() // 1_000_000 + self.rest.time_offset_ms

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``GET /api/v3/depth`` (limit ≤ 5000); ``last_update_id`` is MEXC's book version."""
        return await self.rest.depth(symbol.upper(), limit)

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``GET /api/v3/trades`` (limit ≤ 1000, weight 5), oldest first (MEXC gives no trade ids: -1)."""
        return await self.rest.trades(symbol.upper(), min(limit, 1000))

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

    async def _newest_fills(self, symbol: str, limit: int, order_id: int | str | None) -> list[Fill]:
        """``GET /api/v3/myTrades`` (weight 10, at most 100 rows), oldest first."""
        return await self.rest.my_trades(symbol.upper(), limit, order_id)

    async def _fills_window(self, symbol: str, start_ms: int, end_ms: int | None) -> list[Fill]:
        """``GET /api/v3/myTrades`` with ``startTime`` and ``endTime`` (weight 10, at most 100 rows)."""
        return await self.rest.my_trades(symbol, 100, start_time_ms=start_ms, end_time_ms=end_ms)

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``GET /api/v3/account`` (weight 10): balances (only non-zero ones when ``non_zero``)."""
        return await self.rest.balances(non_zero)

    # --- streams -------------------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Add market streams (live SUBSCRIPTION, new connections every 30 topics); the symbols join those whose open
        orders :meth:`open_orders` lists.

        Raises:
            InvalidSymbol: a symbol MEXC does not list; NotSupported: a TICKER_24H spec; BadParameter: refused.
        """
        await super().subscribe(specs)
        self._account_symbols.update(spec.symbol.upper() for spec in specs)

    @property
    def user_stream(self) -> UserDataStream | None:
        """The user data stream (listenKey and private topics), once :meth:`start_user_stream` or :meth:`user_events`
        made it; None before that and after :meth:`close`. Read-only: its ``listen_key`` is the key in use and its
        ``merger`` pairs order and deal pushes."""
        return self._user

    def _rate_limits(self) -> tuple[tuple[RateLimitUsage, ...], int | None]:
        """Per-endpoint weight headroom (500 per 10 s) from the REST client's own count."""
        limiter = self.rest.limiter
        now = time.monotonic()
        usage = tuple(
            RateLimitUsage(endpoint, int(limiter.window_s), used, limiter.limit)
            for endpoint, used in limiter.usage(now)
        )
        banned_until = None
        if limiter.banned and limiter.blocked_until_s > now:
            banned_until = self.server_ms() + int((limiter.blocked_until_s - now) * 1000)
        return usage, banned_until


def _conforms(adapter: MexcAdapter) -> ExchangeAdapter:
    """Static check (mypy): ``MexcAdapter`` implements the ``ExchangeAdapter`` protocol."""
    return adapter
