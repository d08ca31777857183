"""Start-up reconciliation of the intent journal (:mod:`.journal`) with the exchanges.

At start-up :func:`reconcile_intents` (run by :meth:`~.desk.TradingDesk.reconcile_intents`) looks every journaled
intent without an outcome up on the exchange by its client order id (an OCO list's intent by its list client order
id; an intent left open by a crash between dispatch and reply, or by an outcome that stayed unknown) and settles it:
``placed`` (the id is remembered, so a retry is answered with the existing order) or ``not_placed``; each is told to
the desk's rail listeners (the audit log, the ``orders:<exchange>`` stream) and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError, UnknownOrder
from tradingmcp.server.exchanges.models import Order
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.errors import tool_error
from tradingmcp.server.trading.journal import NOT_PLACED, PLACED, Intent, IntentJournal
from tradingmcp.server.trading.pretrade import VenueDesk
from tradingmcp.server.venues import Venue

RECONCILED = "reconciled at start-up"
"""The journal's ``note`` of an intent settled by :func:`reconcile_intents`."""
log = logging.getLogger("tradingmcp.server.trading")

Lookup = Callable[[Venue, str, str], Awaitable[Order | None]]
"""The order a venue has under a client order id (``(venue, symbol, client order id)``), None when it has none or
does not know the symbol; raises ToolError when the exchange cannot tell."""


async def reconcile_intents(
    journal: IntentJournal,
    desks: Iterable[VenueDesk],
    lookup: Lookup,
    tell: Callable[[Venue, dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """Settle every intent of ``journal`` whose outcome is unknown, venue by venue of ``desks`` (see the module
    docstring): look its client order id up on the exchange (``lookup``: ``GET /api/v3/order`` by
    ``origClientOrderId``); found → ``placed`` (and remembered in the venue's client id registry, so a retry of the id
    is answered with that order), the exchange has none → ``not_placed``. An intent the exchange cannot answer for
    stays open (logged; the next start tries again).

    Returns:
        The rail events told through ``tell`` (``(venue, event)``), one per settled intent: ``{"event": "safety",
        "kind": "intent_reconciled", exchange, mode, message, client_order_id, symbol, outcome, order_id, status,
        intent}``.
    """
    events: list[dict[str, Any]] = []
    for desk in desks:
        venue = desk.venue
        for intent in journal.unsettled(venue.name):
            cid = intent.client_order_id
            try:
                found = await _lookup_intent(desk, intent, lookup)
            except ToolError as exc:
                log.warning("%s: intent %s (%s) still unknown: %s", venue.name, cid, intent.symbol, exc)
                continue
            now = safety.now_ms()
            if found is not None:
                order_id, status = found
                desk.ids.remember(cid, intent.symbol, order_id)
                journal.settle(venue.name, cid, PLACED, now, order_id, status, RECONCILED)
                outcome: str = PLACED
            else:
                journal.settle(venue.name, cid, NOT_PLACED, now, note=RECONCILED)
                outcome, order_id, status = NOT_PLACED, None, None
            what = "order list" if intent.is_list else "order"
            message = (
                f"intent {cid} ({intent.type} {intent.side} {intent.quantity or intent.quote_quantity} "
                f"{intent.symbol} by {intent.caller}) reconciled at start-up: {outcome}"
                + (
                    f" as {what} {order_id} ({status})"
                    if order_id is not None
                    else f" (the exchange has no such {what})"
                )
            )
            log.warning("%s: %s", venue.name, message)
            event = {
                "event": "safety",
                "kind": "intent_reconciled",
                "exchange": venue.name,
                "mode": venue.mode,
                "message": message,
                "client_order_id": cid,
                "symbol": intent.symbol,
                "outcome": outcome,
                "order_id": order_id,
                "status": status,
                "intent": intent.json(),
            }
            events.append(event)
            tell(venue, event)
    await journal.flush()  # the outcomes settled here are read from now on (restore_rails, order history)
    return events


async def _lookup_intent(desk: VenueDesk, intent: Intent, lookup: Lookup) -> tuple[int | str, str] | None:
    """``(exchange id, status)`` of what the exchange has under ``intent``'s client order id (an order, or for an
    OCO intent an order list: ``GET /api/v3/orderList`` by ``origClientOrderId``), None when it has nothing.
    A found order is applied to the open-order tracker. Raises ToolError when the exchange cannot tell."""
    cid = intent.client_order_id
    venue = desk.venue
    if not intent.is_list:
        order = await lookup(venue, intent.symbol, cid)
        if order is None:
            return None
        desk.open_orders.on_order(order)
        return order.order_id, str(order.status)
    try:
        order_list = await venue.adapter.get_order_list(cid)
    except UnknownOrder:
        return None
    except ExchangeError as exc:
        raise tool_error(exc, list_client_order_id=cid, outcome_unknown=True) from exc
    return order_list.order_list_id, order_list.list_order_status
