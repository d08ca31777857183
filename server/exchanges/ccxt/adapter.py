"""``CcxtAdapter``: the ``ExchangeAdapter`` for any exchange ccxt knows, on ccxt's async REST calls and ``ccxt.pro``
watch methods (https://docs.ccxt.com/#/README?id=unified-api, https://docs.ccxt.com/#/ccxt.pro.manual).

Symbols are the exchange's own spelling (ccxt's market ``id``: ``BTCUSDT``), case-insensitive; ccxt's unified
``BTC/USDT`` is accepted too. Spot markets only. Symbol rules come from ccxt's market precision and limits
(:func:`~tradingmcp.server.exchanges.ccxt.parse.symbol_rules`) and are checked before anything is sent.

Orders: LIMIT (GTC/IOC/FOK), MARKET and LIMIT_MAKER (ccxt ``postOnly``), always with a client order id (ccxt's
``clientOrderId`` parameter: the caller's or a generated one). A placement whose outcome is unknown (ccxt's
``NetworkError``: timeout, 5xx) is looked up by client order id before anything is sent again
(:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`). The lookup asks ``fetch_order`` with the client
order id, or, where ccxt needs an order id for that, searches the open and recent orders.

Streams: ``watch_trades``, ``watch_order_book`` (kept as the local book), ``watch_ticker`` (or ``watch_bids_asks``
when the exchange's tickers carry no bid/ask) for best bid/ask, ``watch_ticker`` for 24 h statistics, ``watch_ohlcv``; the account through ``watch_orders`` and
``watch_balance``, with the fills (their ids and fees) from ``watch_my_trades`` where ccxt offers it
(:mod:`~tradingmcp.server.exchanges.ccxt.streams`). What an exchange lacks in ccxt raises
``NotSupported``; OCO orders are not offered, and ``cancel_replace`` is a cancel then a placement (not atomic).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.base import AdapterLifecycle, ExchangeAdapter
from tradingmcp.server.exchanges.capabilities import stream_families
from tradingmcp.server.exchanges.ccxt import parse
from tradingmcp.server.exchanges.ccxt.config import CcxtConfig
from tradingmcp.server.exchanges.ccxt.errors import ccxt_error
from tradingmcp.server.exchanges.ccxt.exchange import build_exchange
from tradingmcp.server.exchanges.ccxt.streams import BalanceTracker, OrderTracker, WatchLoops, market_watch
from tradingmcp.server.exchanges.errors import (
    BadParameter,
    ExchangeError,
    InvalidSymbol,
    NotSupported,
    UnknownOrder,
)
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
    ServerStatus,
    Side,
    Stats24h,
    StreamKind,
    StreamSpec,
    StreamStatus,
    SymbolRules,
    Ticker,
    TimeInForce,
    Trade,
    UserEvent,
)
from tradingmcp.server.exchanges.placing import place_with_lookup

__all__ = ["ORDER_TYPES", "CcxtAdapter"]

log = logging.getLogger(__name__)
T = TypeVar("T")

ORDER_TYPES = frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER})
"""The order types a CCXT venue places (LIMIT_MAKER only where ccxt offers post-only orders)."""
_CLIENT_ID_LENGTH = 32
_STREAM_METHODS = {
    StreamKind.TRADE: "watchTrades",
    StreamKind.AGG_TRADE: "watchTrades",
    StreamKind.DEPTH: "watchOrderBook",
    StreamKind.BOOK_TICKER: "watchTicker",
    StreamKind.KLINE: "watchOHLCV",
    StreamKind.TICKER_24H: "watchTicker",
}
_USER_SETTLE_S = 0.3
"""Pause after the account watch connections are open, for their subscriptions to be sent (ccxt does not report
when an exchange acknowledges them)."""


class CcxtAdapter(AdapterLifecycle):
    """One ccxt exchange through exchange-neutral models (see :class:`~tradingmcp.server.exchanges.base
    .ExchangeAdapter` and the module docstring). ``name`` is the ccxt id. Every method raises ``ExchangeError``
    subclasses only.

    Raises (at construction):
        NotSupported: ccxt missing, an unknown exchange id, or a live exchange without ``allow_live``.
    """

    def __init__(self, config: CcxtConfig) -> None:
        self.config = config
        self.name = config.exchange_id
        built = build_exchange(config)
        self.exchange: Any = built.exchange
        self.sandbox = built.sandbox
        self.live = built.live
        self.reachable = False
        self.clock_offset_ms = 0
        self._rules: dict[str, SymbolRules] = {}
        self._unified: dict[str, str] = {}  # our symbol (upper-cased id) → ccxt's unified symbol
        self._ours: dict[str, str] = {}  # ccxt's unified symbol → our symbol
        self._account_symbols: set[str] = {s.upper() for s in config.account_symbols}
        self._market_events: EventQueue[MarketEvent] = EventQueue(config.event_queue_size, "market")
        self._user_events: EventQueue[UserEvent] = EventQueue(config.event_queue_size, "user")
        self._market_loops = WatchLoops(self._market_events.put, config.retry_delay_s, config.max_retry_delay_s)
        self._user_loops = WatchLoops(self._user_events.put, config.retry_delay_s, config.max_retry_delay_s)
        self._books: dict[str, OrderBookSnapshot] = {}
        self._orders = OrderTracker(self._symbol_of_order)
        self._balances = BalanceTracker()

    def __repr__(self) -> str:
        return f"CcxtAdapter({self.name}, sandbox={self.sandbox}, symbols={len(self._rules)})"

    # --- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the markets (``load_markets``) and measure the clock offset where the exchange tells its time."""
        await self.exchange_info(refresh=True)
        await self._sync_time()

    async def close(self) -> None:
        """Stop the watch loops and close ccxt's sessions and connections; idempotent."""
        await self._market_loops.close()
        await self._user_loops.close()
        self._market_events.close()
        self._user_events.close()
        try:
            await self.exchange.close()
        except Exception as exc:
            log.info("closing ccxt %s: %s", self.name, exc)

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run one ccxt call, its errors mapped onto ours."""
        try:
            result = await fn()
        except ExchangeError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("ccxt"):
                raise ccxt_error(exc, self.name) from exc
            raise
        self.reachable = True
        return result

    async def _sync_time(self) -> None:
        if not self.exchange.has.get("fetchTime"):
            return
        try:
            before = time.time_ns() // 1_000_000
            server = await self._call(self.exchange.fetch_time)
            after = time.time_ns() // 1_000_000
            self.clock_offset_ms = int(server) - (before + after) // 2
        except ExchangeError as exc:
            log.info("ccxt %s fetch_time: %s", self.name, exc)

    @property
    def capabilities(self) -> dict[str, Any]:
        """What this venue offers: ``{via, order_types, streams, account_streams, sandbox}`` (from ccxt's ``has``)."""
        has = self.exchange.has
        streams = stream_families({k for k, method in _STREAM_METHODS.items() if has.get(method)})
        types = [
            t.value for t in sorted(ORDER_TYPES) if t is not OrderType.LIMIT_MAKER or has.get("createPostOnlyOrder")
        ]
        account = [
            name for name, method in (("orders", "watchOrders"), ("balances", "watchBalance")) if has.get(method)
        ]
        return {"via": "ccxt", "order_types": types, "streams": streams, "account_streams": account,
                "sandbox": self.sandbox}  # fmt: skip

    # --- symbols and market data ---------------------------------------------------------------------------------
    async def exchange_info(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """Every spot market's rules (``load_markets``), cached; ``refresh`` reloads."""
        return dict(await self._cached_rules(refresh))

    async def _cached_rules(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """The rules cache itself, loaded first when empty or ``refresh`` (not a copy: lookups on every call)."""
        if refresh or not self._rules:
            markets = await self._call(lambda: self.exchange.load_markets(refresh))
            types = self._order_types()
            found: dict[str, SymbolRules] = {}
            for unified, market in markets.items():
                if not market.get("spot"):
                    continue
                ours = parse.market_symbol(market)
                found[ours] = parse.symbol_rules(market, self.exchange.precisionMode, types)
                self._unified[ours] = unified
                self._ours[unified] = ours
            self._rules = found
        return self._rules

    def _order_types(self) -> frozenset[OrderType]:
        if self.exchange.has.get("createPostOnlyOrder"):
            return ORDER_TYPES
        return ORDER_TYPES - {OrderType.LIMIT_MAKER}

    def _resolve(self, symbol: str) -> tuple[str, str]:
        """(our symbol, ccxt's unified symbol) of ``symbol`` (an exchange id or a unified symbol)."""
        ours = symbol.upper()
        unified = self._unified.get(ours)
        if unified is not None:
            return ours, unified
        if symbol in self._ours:
            return self._ours[symbol], symbol
        raise InvalidSymbol(f"{self.name}: unknown symbol {symbol!r}", exchange=self.name)

    def _symbol_of_order(self, raw: Mapping[str, Any]) -> str:
        unified = str(raw.get("symbol") or "")
        return self._ours.get(unified, unified.replace("/", "").upper())

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """One symbol's rules. Raises InvalidSymbol when ccxt lists no such spot market."""
        rules = await self._cached_rules()
        ours, _ = self._resolve(symbol)
        return rules[ours]

    async def _unified_of(self, symbol: str) -> tuple[str, str]:
        await self._cached_rules()
        return self._resolve(symbol)

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """``fetch_order_book(limit)``; ``last_update_id`` is ccxt's ``nonce`` (0 when the exchange gives none)."""
        ours, unified = await self._unified_of(symbol)
        raw = await self._call(lambda: self.exchange.fetch_order_book(unified, limit))
        return parse.book(ours, raw, limit)

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """``fetch_trades``, oldest first."""
        ours, unified = await self._unified_of(symbol)
        rows = await self._call(lambda: self.exchange.fetch_trades(unified, None, limit))
        return [parse.trade(ours, r) for r in rows][-limit:]

    async def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """``fetch_ohlcv`` (``interval`` in Binance spelling, as ccxt's timeframes are), oldest first; rows after
        ``end_time_ms`` are dropped. ccxt gives no quote volume or trade counts (0).

        Raises:
            BadParameter: an interval this exchange does not offer.
        """
        ours, unified = await self._unified_of(symbol)
        timeframes = self.exchange.timeframes or {}
        if interval not in timeframes:
            raise BadParameter(
                f"{self.name} has no {interval!r} candles; it offers {', '.join(timeframes)}", exchange=self.name
            )
        rows = await self._call(lambda: self.exchange.fetch_ohlcv(unified, interval, start_time_ms, limit))
        now = time.time_ns() // 1_000_000 + self.clock_offset_ms
        out = [parse.kline(ours, interval, row, now) for row in rows]
        if end_time_ms is not None:
            out = [k for k in out if k.open_time_ms <= end_time_ms]
        return out

    async def _ticker(self, symbol: str) -> tuple[str, Mapping[str, Any]]:
        ours, unified = await self._unified_of(symbol)
        return ours, await self._call(lambda: self.exchange.fetch_ticker(unified))

    async def ticker_24h(self, symbol: str) -> Stats24h:
        """``fetch_ticker``: rolling 24 h statistics."""
        ours, raw = await self._ticker(symbol)
        return parse.stats(ours, raw)

    async def price(self, symbol: str) -> Decimal:
        """``fetch_ticker``'s last price."""
        _, raw = await self._ticker(symbol)
        return parse.dec(raw.get("last"))

    async def book_ticker(self, symbol: str) -> Ticker:
        """Best bid/ask: ``fetch_ticker``, or the top of ``fetch_order_book`` when the ticker has no bid/ask."""
        ours, raw = await self._ticker(symbol)
        quote = parse.ticker(ours, raw)
        if quote.bid and quote.ask:
            return quote
        top = await self.order_book(symbol, 5)
        bid = top.bids[0] if top.bids else None
        ask = top.asks[0] if top.asks else None
        return dataclasses.replace(
            quote,
            bid=bid.price if bid else Decimal(0),
            bid_qty=bid.qty if bid else Decimal(0),
            ask=ask.price if ask else Decimal(0),
            ask_qty=ask.qty if ask else Decimal(0),
        )

    # --- trading ---------------------------------------------------------------------------------------------------
    def new_client_order_id(self) -> str:
        """A fresh client order id: ``<prefix><hex>``, 32 characters."""
        prefix = self.config.client_order_prefix
        return prefix + uuid.uuid4().hex[: _CLIENT_ID_LENGTH - len(prefix)]

    def _normalise(self, request: OrderRequest) -> OrderRequest:
        if request.type not in self._order_types():
            raise NotSupported(f"{self.name} (ccxt) places no {request.type.value} orders", exchange=self.name)
        if request.quote_order_qty is not None:
            raise NotSupported(f"{self.name} (ccxt): give quantity in the base asset", exchange=self.name)
        return dataclasses.replace(
            request,
            symbol=request.symbol.upper(),
            client_order_id=request.client_order_id or self.new_client_order_id(),
        )

    def _create_args(self, req: OrderRequest) -> tuple[str, float | None, dict[str, Any]]:
        params: dict[str, Any] = {"clientOrderId": req.client_order_id}
        kind = "market" if req.type is OrderType.MARKET else "limit"
        if req.type is OrderType.LIMIT_MAKER:
            params["postOnly"] = True
        elif req.type is OrderType.LIMIT and req.time_in_force not in (None, TimeInForce.GTC):
            params["timeInForce"] = req.time_in_force.value if req.time_in_force else "GTC"
        price = float(req.price) if req.price is not None and kind == "limit" else None
        return kind, price, params

    async def place_order(self, request: OrderRequest, validate: bool = True) -> Order:
        """``create_order`` with ``clientOrderId``, idempotent: an unknown outcome is looked up by client order id
        before anything is sent again. MARKET and IOC/FOK orders are read back so the result shows the execution.

        Raises:
            NotSupported: a stop type, or a quote-asset quantity; FilterFailure (OrderRuleError): the symbol rules
            refused it locally; OrderRejected, InsufficientBalance, ...: the exchange refused it;
            ExchangeUnavailable: the outcome stayed unknown.
        """
        req = self._normalise(request)
        ours, unified = await self._unified_of(req.symbol)
        req = dataclasses.replace(req, symbol=ours)
        if validate:
            rules.check_order(self._rules[ours], req)
        cid = req.client_order_id
        assert cid is not None and req.quantity is not None
        kind, price, params = self._create_args(req)
        amount = float(req.quantity)
        self._account_symbols.add(ours)

        async def send() -> Order:
            raw = await self._call(
                lambda: self.exchange.create_order(unified, kind, req.side.value.lower(), amount, price, dict(params))
            )
            return parse.order(ours, raw, cid)

        placed = await place_with_lookup(send, lambda: self._by_client_id(ours, unified, cid), cid)
        order = placed.order
        self._orders.remember(order)
        if placed.found_after_unknown_outcome:
            return order
        if req.type is OrderType.MARKET or req.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            try:
                order = await self.get_order(ours, order_id=order.order_id)
            except ExchangeError as exc:
                log.info("reading back order %s failed (%s); returning the acknowledgement", cid, exc)
        return order

    async def _by_client_id(self, ours: str, unified: str, cid: str) -> Order:
        """The order with client order id ``cid``: ``fetch_order`` with ``clientOrderId``, else a search of the open
        and recent orders. Raises UnknownOrder when the exchange has none."""
        try:
            raw = await self._call(lambda: self.exchange.fetch_order(None, unified, {"clientOrderId": cid}))
            return parse.order(ours, raw, cid)
        except (BadParameter, NotSupported):
            pass
        candidates: list[Mapping[str, Any]] = []
        for method, fn in (
            ("fetchOpenOrders", self.exchange.fetch_open_orders),
            ("fetchOrders", self.exchange.fetch_orders),
            ("fetchClosedOrders", self.exchange.fetch_closed_orders),
        ):
            if self.exchange.has.get(method):
                rows: list[Mapping[str, Any]] = await self._call(partial(fn, unified))
                candidates += rows
        for raw in candidates:
            if raw.get("clientOrderId") == cid:
                return parse.order(ours, raw, cid)
        raise UnknownOrder(f"{self.name}: no order with client order id {cid!r}", exchange=self.name)

    async def test_order(self, request: OrderRequest) -> None:
        """ccxt has no unified test order: the symbol rules are checked here and nothing is sent.

        Raises:
            FilterFailure (OrderRuleError), NotSupported: as :meth:`place_order` would before sending.
        """
        req = self._normalise(request)
        rules.check_order(await self.symbol_rules(req.symbol), req)

    async def cancel_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``cancel_order`` by exchange id (an order given by client order id is looked up first)."""
        ours, unified = await self._unified_of(symbol)
        if order_id is None:
            if client_order_id is None:
                raise BadParameter("give order_id or client_order_id", exchange=self.name)
            order_id = (await self._by_client_id(ours, unified, client_order_id)).order_id
        oid = str(order_id)
        raw = await self._call(lambda: self.exchange.cancel_order(oid, unified))
        return parse.order(ours, raw, client_order_id)

    async def cancel_all_orders(self, symbol: str) -> list[Order]:
        """``cancel_all_orders`` where ccxt offers it, else each open order cancelled."""
        ours, unified = await self._unified_of(symbol)
        if self.exchange.has.get("cancelAllOrders"):
            try:
                rows = await self._call(lambda: self.exchange.cancel_all_orders(unified))
            except UnknownOrder:
                return []
            return [parse.order(ours, r) for r in rows if isinstance(r, Mapping) and r.get("id")]
        return [await self.cancel_order(ours, o.order_id) for o in await self.open_orders(ours)]

    async def get_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """``fetch_order`` by exchange id or client order id. Raises UnknownOrder when absent."""
        ours, unified = await self._unified_of(symbol)
        if order_id is None:
            if client_order_id is None:
                raise BadParameter("give order_id or client_order_id", exchange=self.name)
            return await self._by_client_id(ours, unified, client_order_id)
        oid = str(order_id)
        raw = await self._call(lambda: self.exchange.fetch_order(oid, unified))
        return parse.order(ours, raw, client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """``fetch_open_orders``; with no symbol, across the account where the exchange allows it, else over the
        symbols this adapter traded or streamed and ``config.account_symbols``."""
        if symbol is not None:
            ours, unified = await self._unified_of(symbol)
            rows = await self._call(lambda: self.exchange.fetch_open_orders(unified))
            return [parse.order(ours, r) for r in rows]
        await self._cached_rules()
        try:
            rows = await self._call(self.exchange.fetch_open_orders)
            return [parse.order(self._symbol_of_order(r), r) for r in rows]
        except BadParameter:
            pages = await asyncio.gather(*(self.open_orders(s) for s in sorted(self._account_symbols)))
            return [o for page in pages for o in page]

    async def all_orders(self, symbol: str, limit: int = 500) -> list[Order]:
        """``fetch_orders`` (open, closed and cancelled), oldest first."""
        ours, unified = await self._unified_of(symbol)
        rows = await self._call(lambda: self.exchange.fetch_orders(unified, None, limit))
        return [parse.order(ours, r) for r in rows][-limit:]

    async def my_trades(
        self,
        symbol: str,
        limit: int = 500,
        order_id: int | str | None = None,
        *,
        start_time_ms: int | None = None,
        from_id: int | None = None,
    ) -> list[Fill]:
        """``fetch_my_trades``, oldest first (only ``order_id``'s when given); ``start_time_ms`` is ccxt's ``since``
        (NotSupported for ``from_id``: ccxt pages by time)."""
        if from_id is not None:
            raise NotSupported(f"{self.name} (ccxt): fills are selected by time, not by trade id", exchange=self.name)
        ours, unified = await self._unified_of(symbol)
        rows = await self._call(lambda: self.exchange.fetch_my_trades(unified, start_time_ms, limit))
        fills = [parse.fill(ours, r) for r in rows]
        if order_id is not None:
            fills = [f for f in fills if str(f.order_id) == str(order_id)]
        return fills[-limit:]

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """``fetch_balance``: free and used (locked) per asset."""
        raw = await self._call(self.exchange.fetch_balance)
        return parse.balances(raw, non_zero)

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
        """Not offered through ccxt: raises NotSupported."""
        raise NotSupported(f"{self.name} (ccxt): no OCO orders", exchange=self.name)

    async def get_order_list(self, list_client_order_id: str) -> OrderList:
        """Not offered through ccxt (no OCO): raises NotSupported."""
        raise NotSupported(f"{self.name} (ccxt): no OCO orders", exchange=self.name)

    async def cancel_replace(
        self,
        request: OrderRequest,
        *,
        cancel_order_id: int | str | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        """Cancel, then place ``request`` (``STOP_ON_FAILURE``: nothing placed when the cancel fails); not atomic."""
        cancelled = await self.cancel_order(request.symbol, cancel_order_id, cancel_client_order_id)
        try:
            placed = await self.place_order(request)
        except ExchangeError as exc:
            log.info("cancel_replace: cancel done, placement failed: %s", exc)
            return CancelReplaceResult("SUCCESS", "FAILURE", cancelled, None)
        return CancelReplaceResult("SUCCESS", "SUCCESS", cancelled, placed)

    def _server_ms(self) -> int:
        """The exchange's time (ms): the local clock plus the measured offset."""
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    # --- streams ---------------------------------------------------------------------------------------------------
    def _loop_name(self, spec: StreamSpec, ours: str) -> str:
        return f"{spec.kind.value}:{ours}" + (f":{spec.interval}" if spec.interval else "")

    async def subscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Start a watch loop per spec. DEPTH keeps the latest book, readable with :meth:`local_book`.

        Raises:
            InvalidSymbol: an unknown symbol; NotSupported: ccxt has no such watch method for this exchange;
            BadParameter: a kline interval the exchange does not offer.
        """
        has = self.exchange.has
        for spec in specs:
            ours, unified = await self._unified_of(spec.symbol)
            method = _STREAM_METHODS[spec.kind]
            if not has.get(method):
                raise NotSupported(f"{self.name} (ccxt) has no {method}", exchange=self.name)
            if spec.kind is StreamKind.KLINE and (spec.interval or "") not in (self.exchange.timeframes or {}):
                raise BadParameter(f"{self.name} has no {spec.interval!r} candles", exchange=self.name)
            watch, handle = market_watch(
                self.exchange, spec, ours, unified, self._market_events.put, self._books, self._server_ms
            )
            self._market_loops.start(self._loop_name(spec, ours), watch, handle, ours)
            self._account_symbols.add(ours)

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Stop the specs' watch loops (ccxt keeps the exchange subscription until the connection closes)."""
        for spec in specs:
            try:
                ours, _ = self._resolve(spec.symbol)
            except InvalidSymbol:
                continue  # never subscribed
            await self._market_loops.stop(self._loop_name(spec, ours))
            if spec.kind is StreamKind.DEPTH:
                self._books.pop(ours, None)

    def market_events(self) -> AsyncIterator[MarketEvent]:
        """Events of every watch loop plus StreamStatus notices, in arrival order (one consumer)."""
        return aiter(self._market_events)

    def local_book(self, symbol: str, depth: int = 20) -> OrderBookSnapshot | None:
        """The latest ``watch_order_book`` book of a DEPTH-subscribed symbol (top ``depth`` levels); None before."""
        book = self._books.get(symbol.upper())
        if book is None:
            return None
        return dataclasses.replace(book, bids=book.bids[:depth], asks=book.asks[:depth])

    def _start_user_loops(self) -> bool:
        """Start the account loops; False without credentials (no account to stream)."""
        if not self.config.has_credentials:
            return False
        ex, put = self.exchange, self._user_events.put
        has = ex.has

        def on_orders(rows: Any) -> None:
            for event in self._orders.on_orders(rows):
                put(event)

        def on_balance(raw: Any) -> None:
            event = self._balances.on_balance(raw)
            if event is not None:
                put(event)

        def on_trades(rows: Any) -> None:
            for event in self._orders.on_trades(rows):
                put(event)

        if has.get("watchOrders"):
            self._user_loops.start("orders", ex.watch_orders, on_orders)
        if has.get("watchMyTrades"):
            self._orders.fills_from_trades = True
            self._user_loops.start("trades", ex.watch_my_trades, on_trades)
        if has.get("watchBalance"):
            self._user_loops.start("balance", ex.watch_balance, on_balance)
        return True

    async def start_user_stream(self) -> None:
        """Start the ``watch_orders`` and ``watch_balance`` loops and wait until the connections that carry
        subscriptions are open.

        Without credentials there is no account: nothing is started.

        Raises:
            TimeoutError: not open within ``request_timeout_s`` (the loops keep trying).
        """
        if not self._start_user_loops():
            return
        deadline = time.monotonic() + self.config.request_timeout_s
        while True:
            clients = [c for c in getattr(self.exchange, "clients", {}).values() if getattr(c, "subscriptions", None)]
            if clients and all(c.connected.done() for c in clients):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} (ccxt): account streams not connected in time")
            await asyncio.sleep(0.05)
        await asyncio.sleep(_USER_SETTLE_S)
        self._user_events.put(StreamStatus("subscribed", "orders, balance", None, time.time_ns() // 1_000_000))

    def user_events(self) -> AsyncIterator[UserEvent]:
        """Order and balance events (starts the account loops when :meth:`start_user_stream` did not)."""
        self._start_user_loops()
        return aiter(self._user_events)

    async def server_status(self) -> ServerStatus:
        """``fetch_time`` (clock offset) where offered; the running watch loops as the streams. ccxt paces requests
        itself (``enableRateLimit``) and reports no headroom: no rate limits listed."""
        try:
            if self.exchange.has.get("fetchTime"):
                await self._sync_time()
            else:
                await self._cached_rules()
        except ExchangeError:
            self.reachable = False
        return ServerStatus(
            exchange=self.name,
            testnet=self.sandbox,
            reachable=self.reachable,
            clock_offset_ms=self.clock_offset_ms,
            streams=tuple(self._market_loops.names + self._user_loops.names),
        )


def _conforms(adapter: CcxtAdapter) -> ExchangeAdapter:
    """Static check (mypy): ``CcxtAdapter`` implements the ``ExchangeAdapter`` protocol."""
    return adapter
