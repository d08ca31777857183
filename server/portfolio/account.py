"""One venue's portfolio state: the fills ledger fed by the account's user events and backfilled from ``myTrades``,
the last known balances and prices, and the sampled equity curve.

Feeding: every ``OrderEvent`` with execution type TRADE adds its ``last_fill`` to the ledger (deduplicated by
(symbol, trade_id), so a fill seen both live and in a backfill counts once). The first time a tool asks about a
symbol, its recent history is backfilled from ``GET /api/v3/myTrades`` (the last ``backfill_limit`` fills; older
ones are not fetched). When the user data stream reconnects (events may have been missed) every symbol is marked for
a new backfill on next use. Balance updates (``outboundAccountPosition``) update the cached balances and add an
equity sample valued at the last known prices (a fill's price updates its base asset's price first).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradingmcp.server.exchanges.errors import ExchangeError, InvalidSymbol
from tradingmcp.server.exchanges.models import (
    Balance,
    BalanceEvent,
    ExecutionType,
    OrderEvent,
    StreamStatus,
    SymbolRules,
    UserEvent,
)
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.portfolio.ledger import Ledger, PositionState
from tradingmcp.server.portfolio.risk import EquitySeries
from tradingmcp.server.portfolio.valuation import USDT, mark_prices, usdt_prices
from tradingmcp.server.venues import Venue

ZERO = Decimal(0)


def now_ms() -> int:
    return int(time.time() * 1000)


def exchange_error(exc: ExchangeError) -> ToolError:
    """An adapter error as a tool error (``unknown_symbol`` for an invalid symbol, else ``exchange_error``)."""
    if isinstance(exc, InvalidSymbol):
        return ToolError(str(exc), "unknown_symbol")
    return ToolError(str(exc), "exchange_error", {"exchange_error": type(exc).__name__})


@dataclass(frozen=True, slots=True)
class ValuedBalance:
    """A balance with its USDT price (None = unknown) and value (None when the price is unknown)."""

    balance: Balance
    price_usdt: Decimal | None

    @property
    def value_usdt(self) -> Decimal | None:
        return None if self.price_usdt is None else self.balance.total * self.price_usdt


@dataclass(frozen=True, slots=True)
class ValuedPosition:
    """A position with its mark price (None = unavailable) and the USDT value of one unit of its quote asset."""

    state: PositionState
    mark: Decimal | None
    quote_usdt: Decimal | None

    @property
    def unrealized_pnl(self) -> Decimal | None:
        return None if self.mark is None else self.state.unrealized_pnl(self.mark)


class VenuePortfolio:
    """The portfolio of one venue. Create before the venue's user bus starts (so no event is missed)."""

    def __init__(self, venue: Venue, backfill_limit: int = 1000, max_equity_samples: int = 10_000) -> None:
        self.venue = venue
        self.adapter = venue.adapter
        self.backfill_limit = backfill_limit
        self.ledger = Ledger()
        self.equity = EquitySeries(max_equity_samples)
        self.balances: dict[str, Decimal] = {}
        self.prices: dict[str, Decimal | None] = {}
        self._assets: dict[str, tuple[str, str]] = {}
        self._synced: set[str] = set()
        self._syncing: dict[str, asyncio.Task[None]] = {}
        self.remove_listener = venue.user.add_listener(self.on_event)

    # --- feeding (sync, on the event loop) -------------------------------------------------------------------------
    def on_event(self, ev: UserEvent) -> None:
        """User-bus listener: fills into the ledger, balances into the cache and the equity curve."""
        if isinstance(ev, OrderEvent):
            if ev.execution_type is ExecutionType.TRADE and ev.last_fill is not None:
                fill = ev.last_fill
                self.ledger.add(fill, ev.order.side)
                assets = self._assets.get(fill.symbol)
                if assets is not None and assets[1] == USDT:
                    self.prices[assets[0]] = fill.price
        elif isinstance(ev, BalanceEvent):
            if ev.balances:
                for b in ev.balances:
                    self.balances[b.asset] = b.total
                self.sample()
        elif isinstance(ev, StreamStatus) and ev.state == "reconnecting":
            self._synced.clear()  # events may be lost while the stream is down: backfill again on next use

    def sample(self, time_ms: int | None = None) -> Decimal | None:
        """Add an equity sample from the cached balances and prices; None (no sample) before the first valuation."""
        if not self.prices or not self.balances:
            return None
        equity = sum(
            (qty * price for asset, qty in self.balances.items() if (price := self.prices.get(asset)) is not None),
            ZERO,
        )
        self.equity.add(time_ms or now_ms(), equity)
        return equity

    # --- backfill ------------------------------------------------------------------------------------------------
    async def rules(self, symbol: str) -> SymbolRules:
        """The symbol's rules (cached by the adapter); remembers its base/quote assets. Raises ToolError."""
        try:
            rules = await self.adapter.symbol_rules(symbol)
        except ExchangeError as exc:
            raise exchange_error(exc) from exc
        self._assets[symbol] = (rules.base_asset, rules.quote_asset)
        return rules

    def known_assets(self, symbol: str) -> tuple[str, str] | None:
        """(base, quote) of ``symbol`` when its rules were loaded, else None (no I/O)."""
        return self._assets.get(symbol)

    async def assets(self, symbol: str) -> tuple[str, str]:
        """(base asset, quote asset) of ``symbol``. Raises ToolError."""
        known = self._assets.get(symbol)
        if known is None:
            rules = await self.rules(symbol)
            known = rules.base_asset, rules.quote_asset
        return known

    async def sync(self, symbols: Iterable[str]) -> None:
        """Backfill each symbol not yet synced from ``myTrades`` (concurrently; one request per symbol at a time).

        Raises:
            ToolError: ``unknown_symbol`` / ``exchange_error``.
        """
        tasks = []
        for symbol in set(symbols):
            if symbol in self._synced:
                continue
            task = self._syncing.get(symbol)
            if task is None:
                task = asyncio.ensure_future(self._backfill(symbol))
                self._syncing[symbol] = task
                task.add_done_callback(self._sync_done(symbol))
            tasks.append(task)
        if tasks:
            await asyncio.gather(*tasks)

    def _sync_done(self, symbol: str) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._syncing.pop(symbol, None)
            if not task.cancelled():
                task.exception()  # retrieved: the awaiting callers got it

        return done

    async def _backfill(self, symbol: str) -> None:
        await self.rules(symbol)
        try:
            fills = await self.adapter.my_trades(symbol, limit=self.backfill_limit)
        except ExchangeError as exc:
            raise exchange_error(exc) from exc
        self.ledger.add_many(fills)
        self._synced.add(symbol)

    def is_synced(self, symbol: str) -> bool:
        return symbol in self._synced

    # --- valuation -------------------------------------------------------------------------------------------------
    async def valued_balances(self) -> list[ValuedBalance]:
        """Non-zero balances with USDT prices (sorted by value, unknown last); refreshes the caches and samples
        equity. Raises ToolError on an exchange failure."""
        try:
            balances = await self.adapter.balances(non_zero=True)
        except ExchangeError as exc:
            raise exchange_error(exc) from exc
        prices = await usdt_prices(self.adapter, [b.asset for b in balances])
        self.balances = {b.asset: b.total for b in balances}
        self.prices.update(prices)
        self.sample()
        out = [ValuedBalance(b, prices.get(b.asset)) for b in balances]
        out.sort(key=lambda v: (v.value_usdt is None, -(v.value_usdt or ZERO), v.balance.asset))
        return out

    async def default_symbols(self, limit: int = 20) -> list[str]:
        """Symbols to report when none is named: those with fills, plus ``<ASSET>USDT`` of held assets (bounded)."""
        symbols = set(self.ledger.symbols())
        try:
            known = set(await self.adapter.exchange_info())
            held = [b.asset for b in await self.adapter.balances(non_zero=True)]
        except ExchangeError as exc:
            raise exchange_error(exc) from exc
        for asset in held:
            if len(symbols) >= limit:
                break
            if f"{asset}{USDT}" in known:
                symbols.add(f"{asset}{USDT}")
        return sorted(symbols)

    async def positions(self, symbols: list[str]) -> list[ValuedPosition]:
        """Backfill ``symbols`` and value their positions at the mark (mid) price; symbols without fills skipped."""
        await self.sync(symbols)
        states = []
        for symbol in symbols:
            if not self.ledger.count(symbol):
                continue
            base, quote = await self.assets(symbol)
            state = self.ledger.position(symbol, base, quote)
            if state.fees_other:  # third-asset commissions: value them in the quote asset when prices are known
                px = await usdt_prices(self.adapter, [*state.fees_other, quote])
                q = px.get(quote)
                in_quote = {a: p / q for a in state.fees_other if (p := px.get(a)) is not None and q}
                state = self.ledger.position(symbol, base, quote, in_quote)
            states.append(state)
        marks = await mark_prices(self.adapter, [s.symbol for s in states])
        quote_px = await usdt_prices(self.adapter, {s.quote_asset for s in states})
        return [ValuedPosition(s, marks.get(s.symbol), quote_px.get(s.quote_asset)) for s in states]
