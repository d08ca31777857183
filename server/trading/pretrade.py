"""Pre-trade checks of one order on one venue: the safety switches, the symbol's filters, then the limits.

Order of checks (cheapest and most fundamental first; the first failure is reported):

1. venue switches: kill switch, ``allow_live`` (:func:`safety.check_gate`);
2. ``allowed_symbols``;
3. the symbol's exchange filters (``GET /api/v3/exchangeInfo`` rules, cached by the adapter, via
   :func:`rules.check_order`, the one order-validation entry point the adapters run too, priced at the mid of the
   reference quote) → ``filter_failure`` with the nearest valid values;
4. ``max_order_notional``, ``price_band_pct`` (every fill price vs the mid, see below), the loss limits
   (``max_daily_loss``, ``max_drawdown``: a tripped one refuses every order that is not risk-reducing) and the exposure
   caps (``max_asset_exposure``, ``max_total_exposure``; :mod:`.losslimits`), ``max_open_orders`` (orders that can
   rest on the book), ``max_daily_notional`` (checked here, reserved at placement).

The price band covers every price the exchange could fill the order at: the limit ``price`` of LIMIT, LIMIT_MAKER,
STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders (:data:`BAND_TYPES`), of a ``replace_order`` replacement, and both legs of
an OCO (its LIMIT_MAKER ``price`` and its ``stop_limit_price``). A stop's trigger (``stop_price``) is not banded: it
says when the order starts to work, not what it can fill at (Binance's own PERCENT_PRICE_BY_SIDE likewise checks the
limit price); the exchange checks it against PRICE_FILTER, and the filters step above does the same. A stop that
executes at market once triggered (an OCO's STOP_LOSS leg without ``stop_limit_price``) carries no price to band.

The reference quote (best bid/ask: the mid for the price band and filters, the touch for a MARKET notional) is the
live one of the venue's ``book_ticker:<exchange>:<SYMBOL>`` stream, or the top of the symbol's maintained order book
while a client follows its ``book`` stream and no book ticker is fresh (``venue.tickers``, a
:class:`~tradingmcp.server.live.tickers.TickerCache`), when a quote arrived within
:data:`~tradingmcp.server.live.tickers.TICKER_MAX_AGE_MS` (2 s); otherwise ``GET /api/v3/ticker/bookTicker`` (one REST
round trip, weight 2). ``CheckedOrder.reference_source`` says which. The venue keeps that stream for every symbol it
was asked to price (``TickerCache.want``), whether or not an MCP client subscribes to it: from the first order of a
symbol on (from the start for the symbols of ``allowed_symbols``), its orders price from the stream.

Nothing here sends an order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import (
    OrderRequest,
    OrderType,
    Side,
    SymbolRules,
    Ticker,
    TimeInForce,
)
from tradingmcp.server.exchanges.rules import PRICED_TYPES, OrderRuleError
from tradingmcp.server.exchanges.rules import check_order as check_rules
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.errors import filter_failure, tool_error
from tradingmcp.server.trading.idempotency import ClientIdRegistry
from tradingmcp.server.trading.losslimits import Breach, DayRails, is_reducing, open_buys, with_open_buys
from tradingmcp.server.trading.open_orders import OpenOrderTracker
from tradingmcp.server.trading.safety import SafetyConfig, VenueSafety
from tradingmcp.server.venues import Venue

BAND_TYPES = PRICED_TYPES
"""Order types whose ``price`` (a price the order fills at) must lie within ``price_band_pct`` of the mid: LIMIT,
LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT."""


@dataclass
class VenueDesk:
    """Per-venue trading state: safety counters, open-order count, recent client order ids."""

    venue: Venue
    safety: VenueSafety
    open_orders: OpenOrderTracker
    ids: ClientIdRegistry
    pending_resting: int = 0
    """Orders being placed right now that may rest on the book (counted against ``max_open_orders``)."""
    pending_buys: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    """Notional of the BUY orders being placed right now by ``(base asset, quote asset)`` (counted against the
    exposure caps, so bids sent at the same moment cannot pass a cap together)."""
    rails: DayRails | None = None
    """The day's loss, drawdown and exposure state (None: no such limit configured)."""
    on_breach: Callable[[Breach], None] | None = field(default=None, repr=False)
    """Told of a loss limit that a check found tripped (the desk audits, pushes and applies ``on_breach``)."""


@dataclass(frozen=True)
class CheckedOrder:
    """An order that passed every check: its rules, the quote it was priced at, and its estimated amounts.

    ``notional`` and ``fee`` are in ``rules.quote_asset``; ``needs_confirmation`` when above
    ``confirm_above_notional``.
    """

    request: OrderRequest
    rules: SymbolRules
    ticker: Ticker
    notional: Decimal
    fee: Decimal
    needs_confirmation: bool
    reference_source: str = "rest"
    """Where ``ticker`` came from: ``stream`` (the live book ticker, or the maintained book's top) or ``rest``
    (``GET /api/v3/ticker/bookTicker``)."""
    mid: Decimal | None = None
    """``mid_price(ticker)`` as the checks computed it (None: computed when rendered)."""

    @property
    def quote_asset(self) -> str:
        return self.rules.quote_asset

    def estimate_json(self) -> dict[str, object]:
        """``{estimated_notional, estimated_fee, quote_asset, reference: {bid, ask, mid, source}}``."""
        t = self.ticker
        mid = self.mid if self.mid is not None else mid_price(t)
        return {
            "estimated_notional": plain(self.notional),
            "estimated_fee": plain(self.fee),
            "quote_asset": self.rules.quote_asset,
            "reference": {"bid": plain(t.bid), "ask": plain(t.ask), "mid": plain(mid), "source": self.reference_source},
        }


def mid_price(t: Ticker) -> Decimal:
    """(bid + ask) / 2; the side present (or the last price) when the book is one-sided."""
    if t.bid > 0 and t.ask > 0:
        return (t.bid + t.ask) / 2
    return t.bid or t.ask or t.price


def notional_of(request: OrderRequest, ticker: Ticker) -> Decimal:
    """The order's notional in the quote asset (see :mod:`safety`); MARKET uses the best ask (BUY) / bid (SELL)."""
    if request.quote_order_qty is not None:
        return request.quote_order_qty
    qty = request.quantity or Decimal(0)
    if request.price is not None:
        return qty * request.price
    touch = ticker.ask if request.side is Side.BUY else ticker.bid
    return qty * (touch or mid_price(ticker))


def may_rest(request: OrderRequest) -> bool:
    """True when the order can stay open on the book (counts against ``max_open_orders``)."""
    if request.type is OrderType.MARKET:
        return False
    return request.time_in_force not in (TimeInForce.IOC, TimeInForce.FOK)


async def fetch_market(desk: VenueDesk, symbol: str) -> tuple[SymbolRules, Ticker, str]:
    """The symbol's rules, its best bid/ask and where that came from (``stream`` or ``rest``, see the module
    docstring); from now on the venue keeps the symbol's stream. Raises ToolError (``exchange_error``) when the
    exchange fails."""
    venue = desk.venue
    adapter = venue.adapter
    try:
        rules = await adapter.symbol_rules(symbol)
        venue.tickers.want(symbol)  # a symbol the exchange lists (its rules came back): stream it from now on
        live = venue.tickers.get(symbol)
        if live is not None and (live.bid > 0 or live.ask > 0):
            return rules, live, "stream"
        return rules, await adapter.book_ticker(symbol), "rest"
    except ExchangeError as exc:
        raise tool_error(exc) from exc


async def seed_open_orders(desk: VenueDesk) -> None:
    """Seed the venue's open-order tracker from the exchange (``GET /api/v3/openOrders`` of every symbol, weight
    80 on Binance).

    Raises:
        ToolError: ``exchange_error`` when the exchange fails (the tracker stays as it was).
    """
    try:
        desk.open_orders.seed(await desk.venue.adapter.open_orders(None))
    except ExchangeError as exc:
        raise tool_error(exc) from exc


async def open_order_count(desk: VenueDesk, limit: int) -> int:
    """Open orders of the venue plus those being placed, re-seeding from the exchange when needed (before the first
    seed, after a kill switch, and at ``limit``, to re-check before refusing)."""
    if desk.open_orders.needs_seed(limit):
        await seed_open_orders(desk)
    return desk.open_orders.count + desk.pending_resting


def check_rails(
    config: SafetyConfig,
    desk: VenueDesk,
    rails: DayRails,
    request: OrderRequest,
    rules: SymbolRules,
    mid: Decimal,
    notional: Decimal,
) -> None:
    """The loss limits and exposure caps of ``request`` (see :mod:`.losslimits`): a tripped loss limit refuses it unless
    it is risk-reducing; an order that is not is checked against the exposure caps with ``notional`` added (the
    holdings plus the quote the venue's open BUY orders commit, as the open-order tracker holds them, and the BUY
    orders being sent right now; one whose reply and user event race may count twice for a moment, the safe side).

    Raises:
        SafetyRefusal: ``safety_max_daily_loss``, ``safety_max_drawdown``, ``safety_max_asset_exposure``,
            ``safety_max_total_exposure``.
    """
    now = safety.now_ms()
    rails.roll(now)
    rails.expire_settling(now)
    base, quote = rules.base_asset, rules.quote_asset
    rails.know(request.symbol, base, quote)
    breach = rails.evaluate(now)
    if breach is not None and desk.on_breach is not None:
        desk.on_breach(breach)
    qty = request.quantity
    if qty is None and request.quote_order_qty is not None and mid > 0:
        qty = request.quote_order_qty / mid
    held = rails.balances.get(base, Decimal(0)) if rails.balances_known else None  # settling BUYs: not yet sellable
    reducing = is_reducing(request.side, qty, held)
    safety.check_loss_limits(rails.tripped, desk.venue.name, reducing, quote)
    if reducing or (config.max_asset_exposure is None and config.max_total_exposure is None):
        return
    buys = open_buys(desk.open_orders.orders(), rails.assets, quote)
    for (asset, in_quote), value in desk.pending_buys.items():
        if in_quote == quote:
            buys[asset] = buys.get(asset, Decimal(0)) + value
    exposures = with_open_buys(rails.exposures(quote, {base: mid} if mid > 0 else None), buys)
    total = sum(exposures.values(), Decimal(0))
    safety.check_exposure(config, base, exposures.get(base, Decimal(0)), total, notional, quote)


async def check_order(
    config: SafetyConfig, desk: VenueDesk, request: OrderRequest, *, adding_open: int | None = None
) -> CheckedOrder:
    """Run every check on ``request`` (see module docstring) without placing it.

    Args:
        adding_open: how many open orders the order adds (default 1 when it may rest, else 0; 0 for a replace).

    Raises:
        ToolError: ``safety_*``, ``filter_failure`` or ``exchange_error``.
    """
    venue = desk.venue
    safety.check_gate(config, desk.safety, venue.mode)
    safety.check_symbol(config, request.symbol)
    rules, ticker, source = await fetch_market(desk, request.symbol)
    mid = mid_price(ticker)
    try:
        check_rules(rules, request, mid if mid > 0 else None)
    except OrderRuleError as exc:
        raise filter_failure(exc.violations, request.symbol) from None
    notional = notional_of(request, ticker)
    safety.check_order_notional(config, notional, rules.quote_asset)
    if request.type in BAND_TYPES and request.price is not None:
        safety.check_price_band(config, "price", request.price, mid, rules.tick_size, rules.quote_asset)
    if desk.rails is not None:
        capped = config.max_asset_exposure is not None or config.max_total_exposure is not None
        if capped and not desk.open_orders.seeded:  # seeded at start: no await on the common path
            await seed_open_orders(desk)
        check_rails(config, desk, desk.rails, request, rules, mid, notional)
    adding = (1 if may_rest(request) else 0) if adding_open is None else adding_open
    if adding:
        if desk.open_orders.needs_seed(config.max_open_orders):  # seeded at start: no await on the common path
            await seed_open_orders(desk)
        safety.check_open_orders(config, venue.name, desk.open_orders.count + desk.pending_resting, adding)
    desk.safety.check_daily(config, notional, rules.quote_asset)  # check only; reserved when placed
    threshold = config.confirm_above_notional
    return CheckedOrder(
        request,
        rules,
        ticker,
        notional,
        notional * config.fee_rate,
        threshold is not None and notional > threshold,
        source,
        mid,
    )
