"""The trading desk: places, replaces and cancels orders on the venues behind the checks (the async core of the tools).

Placement of one order (:meth:`TradingDesk.place`):

1. under the in-flight lock of its client order id: a remembered id (or, with ``lookup_unknown_client_ids``, any
   caller-chosen id the exchange knows) is answered with the existing order (``GET /api/v3/order`` by
   ``origClientOrderId``) and ``duplicate=True`` — nothing is sent;
2. :func:`pretrade.check_order` (safety switches, filters, limits);
3. ``dry_run``: ``POST /api/v3/order/test`` and stop;
4. confirmation token when above ``confirm_above_notional``;
5. reserve today's notional and an open-order slot (no ``await`` between the final check and the reservation);
6. write the order's intent to the journal (:mod:`.journal`, durable before anything is sent), when the desk has one
   (:meth:`TradingDesk.send_journaled`, which ``replace_order`` uses for its new order too);
7. ``POST /api/v3/order``. An unknown outcome (timeout, 5xx) is settled by the adapter, which queries the client order
   id and sends again only when the exchange surely has no such order
   (:func:`~tradingmcp.server.exchanges.placing.place_with_lookup`); an outcome that stays unknown is reported as
   ``exchange_error`` with ``outcome_unknown`` and the next step (query the client order id before placing again).
   An exchange "duplicate order" rejection is answered with the existing order. The journal gets the outcome
   (``placed`` / ``rejected``); an unknown one stays open until :meth:`TradingDesk.reconcile_intents` settles it.

At start-up :meth:`TradingDesk.reconcile_intents` settles the intents left open (:mod:`.reconcile`), and
:meth:`TradingDesk.restore_rails` rebuilds the day's loss limits (:mod:`.deskrails`, which also feeds, shows and acts on
them while the server runs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from tradingmcp.server.decimals import InvalidDecimal
from tradingmcp.server.exchanges.errors import (
    BadParameter,
    ExchangeError,
    ExchangeUnavailable,
    OrderRejected,
    UnknownOrder,
)
from tradingmcp.server.exchanges.models import Order, OrderList, OrderRequest, Side
from tradingmcp.server.exchanges.rules import valid_near
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.confirm import ConfirmationBook
from tradingmcp.server.trading.deskrails import DeskRails
from tradingmcp.server.trading.errors import tool_error
from tradingmcp.server.trading.idempotency import ClientIdRegistry, Placed, asks_exchange
from tradingmcp.server.trading.journal import PLACED, REJECTED, Intent, IntentJournal
from tradingmcp.server.trading.open_orders import OpenOrderTracker
from tradingmcp.server.trading.orders import differing_fields, fingerprint, parse_order, request_text
from tradingmcp.server.trading.pretrade import CheckedOrder, VenueDesk, check_order, may_rest, seed_open_orders
from tradingmcp.server.trading.reconcile import reconcile_intents
from tradingmcp.server.trading.safety import SafetyConfig, VenueSafety
from tradingmcp.server.venues import Venue, Venues

T = TypeVar("T")
log = logging.getLogger("tradingmcp.server.trading")


@dataclass(frozen=True)
class Placement:
    """The outcome of :meth:`TradingDesk.place`: the order (None for a dry run), whether it already existed, and
    the checks it passed."""

    order: Order | None
    duplicate: bool
    checked: CheckedOrder | None
    differs: tuple[str, ...] = ()


RailListener = Callable[[Venue, dict[str, Any]], None]
"""Told of each rail event of a venue (``(venue, event)``; ``event`` is JSON: ``{"event": "safety", "kind": ...,
"message": ...}`` and the kind's fields): ``intent_reconciled`` (see :meth:`TradingDesk.reconcile_intents`) and the
loss limits' ``limit_breach`` (:mod:`.deskrails`). Runs synchronously on the event loop; must be cheap."""

PlacementObserver = Callable[[Venue, dict[str, Any], Placement], None]
"""Told of each order placed through the ``place_order`` tools (``(venue, tool arguments as received, placement)``,
see :meth:`TradingDesk.placed`); runs synchronously on the event loop before the tool answers, so it must be cheap
(keep references, do the work elsewhere)."""


class TradingDesk:
    """Per-venue trading state and the placement flow, shared by every trading tool of a server.

    Each venue's ticker cache is asked to keep the symbols of ``allowed_symbols`` streamed from the start, and any other
    symbol from its first order on (see :mod:`.pretrade`).

    Attributes:
        in_flight: order sends under way on every venue (:meth:`send_reserved`: from the reservation until the
            exchange's answer or failure).
        placement_observers: told of each order placed through the ``place_order`` tools (:meth:`placed`).
        journal: where intents are written before an order is sent (None: no journal).
        rail_listeners: told of each rail event (:data:`RailListener`).
    """

    def __init__(self, venues: Venues, config: SafetyConfig, journal: IntentJournal | None = None) -> None:
        self.venues = venues
        self.config = config
        self.journal = journal
        self.confirmations = ConfirmationBook(config.confirm_ttl_s)
        self.in_flight = 0
        self.placement_observers: list[PlacementObserver] = []
        self.rail_listeners: list[RailListener] = []
        self._desks: dict[str, VenueDesk] = {}
        self._rails = DeskRails(config, journal, self._desks, self.rail_event, self.kill)
        for venue in venues:
            for symbol in sorted(config.allowed_symbols or ()):  # streamed from the start (see pretrade)
                venue.tickers.want(symbol)
            tracker = OpenOrderTracker()
            venue.user.add_listener(tracker.on_event)
            desk = self._desks[venue.name] = VenueDesk(
                venue, VenueSafety(venue.name), tracker, ClientIdRegistry(config.recent_client_ids)
            )
            self._rails.follow(desk)

    def desk(self, venue: Venue) -> VenueDesk:
        return self._desks[venue.name]

    def rails(self, venue: Venue) -> dict[str, Any]:
        """Where ``venue`` trades and what applies to its orders (JSON): :meth:`.deskrails.DeskRails.describe`."""
        return self._rails.describe(venue)

    def rails_usage(self, venue: Venue) -> dict[str, Any]:
        """Each loss, drawdown and exposure limit of ``venue`` with its use and state (JSON):
        :meth:`.deskrails.DeskRails.usage`."""
        return self._rails.usage(venue)

    async def restore_rails(self) -> None:
        """Rebuild each venue's day after a start (:meth:`.deskrails.DeskRails.restore`). Call after
        :meth:`reconcile_intents`."""
        await self._rails.restore()

    async def seed_open_orders(self) -> None:
        """Seed every venue's open-order count from the exchange (``GET /api/v3/openOrders``, weight 80 on Binance)
        when the server starts, so that no order pays for it. Call after the venues' user data streams started
        (their events keep the count from then on). A venue whose exchange fails is logged and left unseeded: its
        first order that may rest seeds it."""
        for desk in self._desks.values():
            try:
                await seed_open_orders(desk)
            except ToolError as exc:
                log.warning(
                    "%s: seeding the open orders failed (%s); the first order that may rest seeds them",
                    desk.venue.name,
                    exc,
                )

    # --- arguments -----------------------------------------------------------------------------------------------
    async def parse(self, venue: Venue, args: dict[str, Any], path: str = "arguments") -> OrderRequest:
        """:func:`~.orders.parse_order` of ``args``, a refused decimal :meth:`explain`-ed.

        Raises:
            InvalidDecimal: -32602 naming the argument (and the valid values next to it when it has any).
            ToolError: ``invalid_argument`` as :func:`~.orders.parse_order`.
        """
        try:
            return parse_order(args, path=path)
        except InvalidDecimal as exc:
            raise await self.explain(venue, args, exc) from None

    async def explain(self, venue: Venue, args: dict[str, Any], exc: InvalidDecimal) -> InvalidDecimal:
        """``exc`` naming the valid values next to its number on the symbol's grid (step size, tick size or quote
        precision, :func:`rules.valid_near`) when it is a number refused only for its digits after the point, e.g.
        ``...; nearest valid quantities on BTCUSDT (step size 0.00001): 0.001 or 0.00101``; ``exc`` itself
        otherwise, or when the symbol's rules cannot be had (``args["symbol"]``, from the adapter's cache or
        ``GET /api/v3/exchangeInfo``). Quantities of a MARKET order (``args["type"]``, or no type and no price) are
        named on the MARKET_LOT_SIZE grid."""
        if exc.value is None:
            return exc
        try:
            rules = await venue.adapter.symbol_rules(str(args.get("symbol", "")).upper())
        except ExchangeError:
            return exc
        market = (args.get("type") or ("LIMIT" if args.get("price") is not None else "MARKET")) == "MARKET"
        near = valid_near(rules, exc.field, exc.value, market)
        return exc if near is None else exc.naming(*near)

    # --- checks ------------------------------------------------------------------------------------------------
    async def check(self, venue: Venue, request: OrderRequest, adding_open: int | None = None) -> CheckedOrder:
        """Every pre-trade check (see :func:`pretrade.check_order`)."""
        return await check_order(self.config, self.desk(venue), request, adding_open=adding_open)

    def issue_confirmation(self, principal: str, venue: Venue, request: OrderRequest) -> str:
        return self.confirmations.issue(principal, venue.name, fingerprint(venue.name, request))

    def confirm(
        self, checked: CheckedOrder, principal: str, venue: Venue, token: str | None, fp: str | None = None
    ) -> None:
        """Redeem ``token`` when ``checked`` needs confirmation (raises ConfirmationError)."""
        if not checked.needs_confirmation:
            return
        threshold = self.config.confirm_above_notional or Decimal(0)
        what = (
            f"notional {checked.notional.normalize():f} {checked.quote_asset} is above confirm_above_notional "
            f"{threshold.normalize():f} {checked.quote_asset}"
        )
        fp = fp or fingerprint(venue.name, checked.request)
        self.confirmations.redeem(token, principal, venue.name, fp, what)

    # --- placement ---------------------------------------------------------------------------------------------
    async def place(
        self,
        principal: str,
        venue: Venue,
        request: OrderRequest,
        *,
        token: str | None = None,
        dry_run: bool = False,
        ask_exchange: bool = False,
    ) -> Placement:
        """Place ``request`` (its ``client_order_id`` must be set) behind every check; see the module docstring.

        Args:
            ask_exchange: when the id is not remembered, also ask the exchange whether it has an order with it
                (for ids the caller chose: a retry after a server restart must not place a second order); always
                so for an id derived from a webhook alert (:func:`~.idempotency.asks_exchange`).

        Raises:
            ToolError: ``safety_*``, ``filter_failure``, ``confirmation_required``, ``exchange_error``.
        """
        cid = request.client_order_id
        assert cid, "parse_order sets the client order id"
        ask_exchange = ask_exchange or asks_exchange(cid)
        desk = self.desk(venue)
        async with desk.ids.lock(cid):
            prior = desk.ids.recall(cid)
            if prior is None and self.journal is not None:  # placed before a restart: the journal still knows it
                known = self.journal.get(venue.name, cid)
                if known is not None and known.outcome == PLACED:
                    prior = Placed(known.symbol, known.order_id or "")
            if prior is not None or (ask_exchange and not dry_run):
                symbol = prior.symbol if prior is not None else request.symbol
                existing = await self._lookup(venue, symbol, cid, quiet=prior is None)
                if existing is not None:
                    desk.ids.remember(cid, existing.symbol, existing.order_id)
                    return Placement(existing, True, None, tuple(_differs(request, existing)))
            checked = await self.check(venue, request)
            if dry_run:
                try:
                    await venue.adapter.test_order(request)
                except ExchangeError as exc:
                    raise tool_error(exc) from exc
                return Placement(None, False, checked)
            self.confirm(checked, principal, venue, token)
            order, duplicate = await self.send_journaled(venue, checked, principal, lambda: self._send(venue, request))
            desk.ids.remember(cid, order.symbol, order.order_id)
            if duplicate:  # the exchange already had it: nothing new was accepted today
                desk.safety.release(checked.notional)
            differs = tuple(_differs(request, order)) if duplicate else ()
            return Placement(order, duplicate, checked, differs)

    async def send_journaled(
        self,
        venue: Venue,
        checked: CheckedOrder,
        principal: str,
        send: Callable[[], Awaitable[T]],
        resting: int | None = None,
        intent: Intent | None = None,
    ) -> T:
        """:meth:`send_reserved` with the order's intent (``checked.request``, sent by ``principal``; or ``intent``,
        e.g. an OCO list's under its list client order id) written to the journal first and its outcome after:
        ``placed`` (the order of the result with the intent's client order id, or the order list), ``rejected`` (a
        known failure; the tool error's code as the note), or left open when the outcome is unknown. Without a
        journal, :meth:`send_reserved` alone."""
        journal = self.journal
        request = checked.request
        if intent is None and request.client_order_id:
            intent = Intent.of(venue.name, request, principal, safety.now_ms())
        if journal is None or intent is None:
            return await self.send_reserved(venue, checked, send, resting)
        cid = intent.client_order_id
        await journal.record(intent)  # on disk before the order leaves; the loop serves on meanwhile
        try:
            result = await self.send_reserved(venue, checked, send, resting)
        except ToolError as exc:
            if not exc.details.get("outcome_unknown"):
                journal.settle(venue.name, cid, REJECTED, safety.now_ms(), note=exc.code)
            raise
        order_id, status = _placed_as(result, cid)
        journal.settle(venue.name, cid, PLACED, safety.now_ms(), order_id, status)
        return result

    async def send_reserved(
        self, venue: Venue, checked: CheckedOrder, send: Callable[[], Awaitable[T]], resting: int | None = None
    ) -> T:
        """Reserve the daily notional and open-order slots of ``checked`` (final synchronous check), count a BUY's
        notional as in flight for the exposure caps until the answer (and what it filled as held until the balance
        update, :meth:`~.losslimits.DayRails.settling_buy`), run ``send()`` and release the reservation when it fails
        with a known outcome."""
        desk = self.desk(venue)
        resting = (1 if may_rest(checked.request) else 0) if resting is None else resting
        if resting:
            safety.check_open_orders(self.config, venue.name, desk.open_orders.count + desk.pending_resting, resting)
        reserved = desk.safety.reserve(self.config, checked.notional, checked.quote_asset)
        desk.pending_resting += resting
        buying = (checked.rules.base_asset, checked.quote_asset)
        bid = checked.notional if desk.rails is not None and checked.request.side is Side.BUY else Decimal(0)
        if bid:
            desk.pending_buys[buying] = desk.pending_buys.get(buying, Decimal(0)) + bid
        self.in_flight += 1
        try:
            result = await send()
        except ToolError as exc:
            if not exc.details.get("outcome_unknown"):
                desk.safety.release(reserved)
            raise
        finally:
            self.in_flight -= 1
            desk.pending_resting -= resting
            if bid:
                left = desk.pending_buys[buying] - bid
                if left > 0:
                    desk.pending_buys[buying] = left
                else:
                    del desk.pending_buys[buying]
        for order in _orders_of(result):
            desk.open_orders.on_order(order)
            if bid and order.client_order_id == checked.request.client_order_id and desk.rails is not None:
                desk.rails.settling_buy(buying[0], order.executed_qty, safety.now_ms())
            if desk.safety.killed and order.status.is_open:
                await self._cancel_quietly(venue, order)
        return result

    def placed(self, venue: Venue, args: dict[str, Any], placement: Placement) -> None:
        """Tell every :attr:`placement_observers` that the tool call with arguments ``args`` placed ``placement`` (an
        order the checks passed: not a dry run, not a duplicate found by looking its id up). An observer that raises
        is logged; the placement stands."""
        for observer in self.placement_observers:
            try:
                observer(venue, args, placement)
            except Exception:
                log.exception("placement observer %r failed", observer)

    async def _cancel_quietly(self, venue: Venue, order: Order) -> None:
        """Cancel an order that was in flight while the kill switch tripped (best effort, logged)."""
        try:
            self.desk(venue).open_orders.on_order(
                await venue.adapter.cancel_order(order.symbol, order_id=order.order_id)
            )
        except ExchangeError as exc:
            log.warning("kill switch: cancelling in-flight order %s failed: %s", order.order_id, exc)

    async def _send(self, venue: Venue, request: OrderRequest) -> tuple[Order, bool]:
        """``POST /api/v3/order``; returns (order, duplicate). Raises ToolError."""
        cid = request.client_order_id or ""
        try:
            # the pre-trade checks ran rules.check_order on this request: the adapter need not run the rules again
            return await venue.adapter.place_order(request, validate=False), False
        except ExchangeUnavailable as exc:  # the adapter's lookup by client order id could not settle it
            raise tool_error(
                exc,
                client_order_id=cid,
                outcome_unknown=True,
                next_step=f"query get_order(client_order_id={cid!r}) before placing {request_text(request)} again",
            ) from exc
        except OrderRejected as exc:
            if "duplicate" in str(exc).lower() or "duplicate" in exc.exchange_message.lower():
                found = await self._lookup(venue, request.symbol, cid)
                if found is not None:
                    return found, True
            raise tool_error(exc, client_order_id=cid) from exc
        except ExchangeError as exc:
            raise tool_error(exc, client_order_id=cid) from exc

    async def _lookup(self, venue: Venue, symbol: str, cid: str, quiet: bool = False) -> Order | None:
        """The order with client id ``cid``, None when the exchange has none. Raises ToolError when it cannot tell.

        ``quiet``: a bad parameter (unknown symbol) also answers None; the checks will report it properly.
        """
        try:
            return await venue.adapter.get_order(symbol, client_order_id=cid)
        except UnknownOrder:
            return None
        except BadParameter as exc:
            if quiet:
                return None
            raise tool_error(exc, client_order_id=cid) from exc
        except ExchangeError as exc:
            raise tool_error(exc, client_order_id=cid, outcome_unknown=True) from exc

    # --- intent journal ------------------------------------------------------------------------------------------
    async def reconcile_intents(self) -> list[dict[str, Any]]:
        """Settle every journaled intent whose outcome is unknown (:func:`.reconcile.reconcile_intents`; none without
        a journal) and tell each to :attr:`rail_listeners`. Returns the rail events told (one per settled intent).
        Call once the venues are connected, before serving."""
        if self.journal is None:
            return []
        return await reconcile_intents(
            self.journal,
            self._desks.values(),
            lambda venue, symbol, cid: self._lookup(venue, symbol, cid, quiet=True),
            self.rail_event,
        )

    def rail_event(self, venue: Venue, event: dict[str, Any]) -> None:
        """Tell every :attr:`rail_listeners` of ``event`` on ``venue``; a listener that raises is logged."""
        for listener in self.rail_listeners:
            try:
                listener(venue, event)
            except Exception:
                log.exception("rail listener %r failed", listener)

    # --- kill switch -------------------------------------------------------------------------------------------
    async def kill(self, venue: Venue, reason: str = "") -> tuple[list[Order], list[dict[str, Any]]]:
        """Trip the venue's kill switch (new orders refused until restart), then cancel every open order.

        Returns:
            (cancelled orders, errors as ``{symbol, error}``).
        """
        desk = self.desk(venue)
        desk.safety.killed = True
        desk.safety.killed_reason = reason
        try:
            open_now = await venue.adapter.open_orders(None)
        except ExchangeError as exc:
            raise tool_error(exc, kill_switch="on") from exc
        symbols = sorted({o.symbol for o in open_now})
        results = await asyncio.gather(*(venue.adapter.cancel_all_orders(s) for s in symbols), return_exceptions=True)
        cancelled: list[Order] = []
        errors: list[dict[str, Any]] = []
        for symbol, res in zip(symbols, results, strict=True):
            if isinstance(res, ExchangeError):
                errors.append({"symbol": symbol, "error": str(res), "exchange_error": type(res).__name__})
            elif isinstance(res, BaseException):
                raise res
            else:
                cancelled.extend(res)
        for order in cancelled:
            desk.open_orders.on_order(order)
        desk.open_orders.stale = True
        return cancelled, errors


def _placed_as(result: Any, cid: str) -> tuple[int | str | None, str | None]:
    """``(exchange id, status)`` of what ``result`` placed under client order id ``cid``: an order list's id and
    list order status, else the order with that client order id (``(None, None)`` when the result names none)."""
    if isinstance(result, OrderList):
        return result.order_list_id, result.list_order_status
    placed = [o for o in _orders_of(result) if o.client_order_id == cid]
    return (placed[0].order_id, str(placed[0].status)) if placed else (None, None)


def _orders_of(result: Any) -> list[Order]:
    if isinstance(result, Order):
        return [result]
    if isinstance(result, tuple):
        return [o for o in result if isinstance(o, Order)]
    orders = getattr(result, "orders", None)
    if orders is not None:
        return list(orders)
    new_order = getattr(result, "new_order", None)
    cancelled = getattr(result, "cancelled", None)
    return [o for o in (cancelled, new_order) if isinstance(o, Order)]


def _differs(request: OrderRequest, order: Order) -> list[str]:
    return differing_fields(request, order)
