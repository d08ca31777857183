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

import logging
import time
from decimal import Decimal

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.bybit.errors import ERRORS
from tradingmcp.server.exchanges.bybit.params import new_client_order_id, order_body, order_ref
from tradingmcp.server.exchanges.bybit.parse import order as parse_order
from tradingmcp.server.exchanges.bybit.parse import stats, ticker, with_fee_asset
from tradingmcp.server.exchanges.bybit.rest import BybitRestClient
from tradingmcp.server.exchanges.bybit.streams import MarketStreams
from tradingmcp.server.exchanges.bybit.tradews import OrderEntry
from tradingmcp.server.exchanges.bybit.userdata import UserDataStream
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import (
    Balance,
    Fill,
    Order,
    OrderBookSnapshot,
    OrderRequest,
    RateLimitUsage,
    Stats24h,
    SymbolRules,
    Ticker,
    Trade,
)
from tradingmcp.server.exchanges.placing import place_with_lookup
from tradingmcp.server.exchanges.venueadapter import VenueAdapter

log = logging.getLogger(__name__)


class BybitAdapter(VenueAdapter[BybitRestClient, MarketStreams, UserDataStream]):
    """Bybit spot through exchange-neutral models (see :class:`tradingmcp.server.exchanges.base.ExchangeAdapter`).

    Args:
        config: URLs, keys and stream settings (testnet by default).
    """

    name = "bybit"
    errors = ERRORS
    lacks = "the Bybit adapter places no"
    unknown_symbol_code = 170121

    def __init__(self, config: BybitConfig) -> None:
        super().__init__(config, BybitRestClient(config))
        self.config = config
        self.order_entry = OrderEntry(config, self.rest.limiter, self.rest.server_ms) if config.trade_over_ws else None

    def __repr__(self) -> str:
        return f"BybitAdapter({self.config.effective_rest_url}, symbols={len(self._rules)}, reachable={self.reachable})"

    def _new_streams(self) -> MarketStreams:
        return MarketStreams(self.config, self._market_events)

    def _new_user_stream(self) -> UserDataStream:
        return UserDataStream(self.config, self._user_events, self._assets_of)

    async def _fetch_rules(self) -> dict[str, SymbolRules]:
        """``GET /v5/market/instruments-info`` (spot)."""
        return await self.rest.instruments()

    def new_client_order_id(self) -> str:
        """A fresh ``orderLinkId``: ``<prefix><hex>``."""
        return new_client_order_id(self.config.client_order_prefix)

    async def _close_more(self) -> None:
        if self.order_entry is not None:
            await self.order_entry.close()

    # --- market data ---------------------------------------------------------------------------------------------
    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``GET /v5/market/orderbook`` (spot: at most 200 levels per side)."""
        return await self.rest.orderbook(symbol.upper(), limit)

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``GET /v5/market/recent-trade`` (spot: at most 60), oldest first."""
        return await self.rest.recent_trades(symbol.upper(), limit)

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
        self._remember(order)
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

    async def _newest_fills(self, symbol: str, limit: int, order_id: int | str | None) -> list[Fill]:
        """``GET /v5/execution/list``, oldest first (a fill without ``feeCurrency`` gets Bybit's spot fee coin)."""
        fills = await self.rest.executions(symbol.upper(), limit, order_id)
        assets = self._assets_of(symbol.upper())
        return [with_fee_asset(f, *assets) for f in fills] if assets else fills

    async def _fills_window(self, symbol: str, start_ms: int, end_ms: int | None) -> list[Fill]:
        """``GET /v5/execution/list`` with ``startTime`` and ``endTime`` (one page of at most 100 rows)."""
        fills = await self.rest.executions(symbol, 100, start_time_ms=start_ms, end_time_ms=end_ms)
        assets = self._assets_of(symbol)
        return [with_fee_asset(f, *assets) for f in fills] if assets else fills

    def _assets_of(self, symbol: str) -> tuple[str, str] | None:
        found = self._rules.get(symbol)
        return (found.base_asset, found.quote_asset) if found is not None else None

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED``."""
        return await self.rest.balances(non_zero)

    # --- status --------------------------------------------------------------------------------------------------
    @property
    def _on_testnet(self) -> bool:
        return self.config.testnet

    def _rate_limits(self) -> tuple[tuple[RateLimitUsage, ...], int | None]:
        """Per-endpoint limits from the last answers' ``X-Bapi-Limit-*`` headers."""
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
        return usage, banned


def _conforms(adapter: BybitAdapter) -> ExchangeAdapter:
    """Static check (mypy): ``BybitAdapter`` implements the ``ExchangeAdapter`` protocol."""
    return adapter
