"""The ``ExchangeAdapter`` protocol: what the tools layer needs from any exchange (Binance, MEXC).

Every method speaks the exchange-neutral models of :mod:`tradingmcp.server.exchanges.models`. Errors are raised as
the adapter's typed errors, all subclasses of ``ExchangeError`` (each exchange's ``errors`` module), never as a
library exception. Symbols use the exchange's spelling (``BTCUSDT``). Methods an exchange lacks (e.g. OCO on MEXC)
raise ``NotSupported`` (an ``ExchangeError``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Protocol, Self, runtime_checkable

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


@runtime_checkable
class ExchangeAdapter(Protocol):
    """An exchange seen through exchange-neutral models. Use as ``async with adapter:`` (start/close)."""

    @property
    def name(self) -> str:
        """Short exchange name (``binance``, ``mexc``)."""
        ...

    async def start(self) -> None:
        """Open sessions, sync the clock offset and load the symbol rules."""
        ...

    async def close(self) -> None:
        """Close streams and sessions; idempotent."""
        ...

    # --- market data -----------------------------------------------------------------------------------------
    async def exchange_info(self, refresh: bool = False) -> dict[str, SymbolRules]:
        """All symbols' rules, cached; ``refresh`` refetches."""
        ...

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """One symbol's rules (raises InvalidSymbol when unknown)."""
        ...

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBookSnapshot:
        """REST depth snapshot with ``limit`` levels per side."""
        ...

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """Most recent public trades, oldest first."""
        ...

    async def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
    ) -> list[Kline]:
        """Candlesticks, oldest first."""
        ...

    async def ticker_24h(self, symbol: str) -> Stats24h:
        """Rolling 24 h statistics."""
        ...

    async def price(self, symbol: str) -> Decimal:
        """Last trade price."""
        ...

    async def book_ticker(self, symbol: str) -> Ticker:
        """Best bid/ask."""
        ...

    # --- trading -----------------------------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest, validate: bool = True) -> Order:
        """Place an order idempotently (always with a client order id).

        Args:
            request: the order.
            validate: check the symbol rules locally first (raises ``OrderRuleError``, a ``FilterFailure``, without
                sending anything); False when the caller already ran :func:`rules.check_order` on ``request``
                (the trading desk does, in its pre-trade checks).
        """
        ...

    async def test_order(self, request: OrderRequest) -> None:
        """Validate an order on the exchange without placing it."""
        ...

    async def cancel_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """Cancel one order by exchange id or client id."""
        ...

    async def cancel_all_orders(self, symbol: str) -> list[Order]:
        """Cancel every open order on ``symbol``; returns the cancelled orders."""
        ...

    async def get_order(
        self, symbol: str, order_id: int | str | None = None, client_order_id: str | None = None
    ) -> Order:
        """One order's current state."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders on one symbol, or on all symbols when None."""
        ...

    async def all_orders(self, symbol: str, limit: int = 500) -> list[Order]:
        """Order history on ``symbol`` (open, closed, cancelled), oldest first."""
        ...

    async def my_trades(
        self,
        symbol: str,
        limit: int = 500,
        order_id: int | str | None = None,
        *,
        start_time_ms: int | None = None,
        from_id: int | None = None,
    ) -> list[Fill]:
        """Our fills on ``symbol``, oldest first: the newest ``limit``, or with ``start_time_ms`` the first ``limit``
        from that time on, or with ``from_id`` the first ``limit`` from that trade id on (a page after the last one
        read). Raises ``NotSupported`` where the exchange cannot select by ``start_time_ms``/``from_id``."""
        ...

    async def balances(self, non_zero: bool = True) -> list[Balance]:
        """Account balances (only assets with free+locked > 0 when ``non_zero``)."""
        ...

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
        """One-cancels-the-other: a LIMIT_MAKER at ``price`` and a stop(-limit) at ``stop_price``."""
        ...

    async def get_order_list(self, list_client_order_id: str) -> OrderList:
        """The OCO list placed with ``list_client_order_id`` (its members' ids; raises ``UnknownOrder`` when the
        exchange has none, ``NotSupported`` where the exchange has no OCO)."""
        ...

    async def cancel_replace(
        self,
        request: OrderRequest,
        *,
        cancel_order_id: int | str | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        """Cancel an order and place ``request`` in one call (``STOP_ON_FAILURE`` semantics)."""
        ...

    # --- streams -------------------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Add market streams (live, without reconnecting when the exchange allows)."""
        ...

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> None:
        """Remove market streams."""
        ...

    def market_events(self) -> AsyncIterator[MarketEvent]:
        """Market events of every subscribed stream, in arrival order, including ``StreamStatus`` notices."""
        ...

    def local_book(self, symbol: str, depth: int = 20) -> OrderBookSnapshot | None:
        """Top ``depth`` levels of the synced local book of a DEPTH-subscribed symbol, None while not synced."""
        ...

    async def start_user_stream(self) -> None:
        """Open the account's user data stream now and wait until it is subscribed (so no early event is missed).

        Raises:
            TimeoutError: not subscribed in time (the adapter keeps trying in the background).
        """
        ...

    def user_events(self) -> AsyncIterator[UserEvent]:
        """Order and balance updates of the account (opens the user data stream on first use)."""
        ...

    async def server_status(self) -> ServerStatus:
        """Reachability, clock offset and rate-limit headroom."""
        ...


class AdapterLifecycle:
    """``async with adapter:`` for the adapters: ``start()`` on entry (a failed start still closes whatever it had
    opened), ``close()`` on exit. Subclasses define ``start`` and ``close``."""

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
