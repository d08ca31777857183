"""The ``wait_for_event`` tool: block until a market or order condition holds, or a timeout (≤ 300 s, default 30).

Arguments: ``condition`` (see :mod:`.conditions`), ``symbol``, ``level`` (decimal string, quote asset: a price or a
spread), ``order_id`` / ``client_order_id`` (order conditions), ``timeout_s``, ``exchange``. The condition is checked
against the current state first (current price, book ticker or order status over REST), then against the shared
streams: an internal subscriber of ``trades:``/``book_ticker:<exchange>:<SYMBOL>`` (one exchange stream for everyone,
released when the call ends, is cancelled with ``notifications/cancelled`` or its connection drops), or the venue's
account events for orders. With ``_meta.progressToken`` it reports ``notifications/progress`` about once a second
(``progress`` = seconds waited, ``total`` = ``timeout_s``).

Result: ``{exchange, condition, symbol, met, timed_out, waited_ms, value, last_value, event, source}``: ``value`` the
deciding price/spread/status, ``event`` the trade / book ticker / order event that decided (None on timeout),
``source`` ``current`` (already true at the start) or ``stream``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradingmcp.server.decimals import PLAIN_PATTERN, decimal_arg
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import OrderEvent, UserEvent
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError, ToolResult
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.live.conditions import CONDITIONS, MARKET_CONDITIONS, Condition, Outcome
from tradingmcp.server.tools.live.feeds import InternalSubscriber
from tradingmcp.server.tools.market.args import SYMBOL_SCHEMA, exchange_error
from tradingmcp.server.tools.market.shapes import ticker_json
from tradingmcp.server.tools.shapes import order_event_json, order_json
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.transport.jsonrpc import JsonRpcError

MAX_TIMEOUT_S = 300.0
DEFAULT_TIMEOUT_S = 30.0
PROGRESS_INTERVAL_S = 1.0


def wait_schema(venues: Venues) -> dict[str, Any]:
    """JSON Schema of the ``wait_for_event`` arguments."""
    return {
        "type": "object",
        "properties": {
            "condition": {
                "type": "string",
                "enum": list(CONDITIONS),
                "description": "price_above/price_below: last trade price >=/<= level; spread_below: ask-bid <= level;"
                " order_filled: the order reaches FILLED; order_done: it reaches any final status",
            },
            "symbol": SYMBOL_SCHEMA,
            "level": {
                "type": "string",
                "format": "decimal",
                "pattern": PLAIN_PATTERN,
                "description": "price or spread level, decimal string in the quote asset (market conditions); at "
                "most 20 digits before and 20 after the point",
            },
            "order_id": {"type": ["integer", "string"], "description": "exchange order id (order conditions)"},
            "client_order_id": {"type": "string", "minLength": 1, "maxLength": 64},
            "timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": MAX_TIMEOUT_S,
                "description": f"give up after this many seconds (default {DEFAULT_TIMEOUT_S:g})",
            },
            "exchange": venues.schema(),
        },
        "required": ["condition", "symbol"],
        "additionalProperties": False,
    }


class _Waiter:
    """One wait: the condition, where its data comes from, and the outcome once decided."""

    def __init__(self, condition: Condition) -> None:
        self.condition = condition
        self.outcome: Outcome | None = None
        self.done = asyncio.Event()

    def decide(self, outcome: Outcome | None) -> None:
        if outcome is not None and self.outcome is None:
            self.outcome = outcome
            self.done.set()

    # stream callbacks (sync) ------------------------------------------------------------------------------------
    def on_market(self, key: str, data: Any) -> None:
        if self.outcome is not None:
            return
        if key.startswith("trades:"):
            self.decide(self.condition.on_price(Decimal(data["price"]), data))
        else:
            self.decide(self.condition.on_book_ticker(Decimal(data["bid"]), Decimal(data["ask"]), data))

    def on_user(self, ev: UserEvent) -> None:
        if self.outcome is None and isinstance(ev, OrderEvent):
            data = order_event_json(ev)
            if self.condition.matches(data["order"]):
                self.decide(self.condition.on_order(data["order"], data))


def _level(args: dict[str, Any], market: bool) -> Decimal | None:
    """``level`` through :func:`~tradingmcp.server.decimals.decimal_arg` (zero allowed), whatever the condition.

    Raises:
        InvalidDecimal: -32602 for a malformed level. ToolError: ``invalid_arguments`` when a market condition has none.
    """
    level = decimal_arg(args, "level", positive=False)
    if level is None and market:
        raise ToolError(
            f'{args["condition"]} needs level: a decimal string in the quote asset (e.g. "62000.5")',
            "invalid_arguments",
            {"argument": "level"},
        )
    return level if market else None


async def _start_market(venue: Venue, hub: StreamHub, w: _Waiter, symbol: str, sub: InternalSubscriber) -> None:
    cond = w.condition
    key = f"{cond.stream_kind}:{venue.name}:{symbol}"
    try:
        await hub.subscribe(sub, key)
    except JsonRpcError as exc:
        raise ToolError(f"cannot watch {symbol} on {venue.name}: {exc.message}", "exchange_error") from exc
    try:
        if cond.stream_kind == "trades":
            price = await venue.adapter.price(symbol)
            if w.outcome is None and cond.updates == 0:
                w.decide(cond.on_price(price, {"symbol": symbol, "price": str(price)}, "current"))
        else:
            t = await venue.adapter.book_ticker(symbol)
            if w.outcome is None and cond.updates == 0:
                w.decide(cond.on_book_ticker(t.bid, t.ask, ticker_json(t), "current"))
    except ExchangeError as exc:
        raise exchange_error(exc) from exc


async def _start_order(venue: Venue, w: _Waiter, symbol: str, args: dict[str, Any]) -> None:
    order_id, client_id = args.get("order_id"), args.get("client_order_id")
    if order_id is None and client_id is None:
        raise ToolError(
            f"{w.condition.name} needs order_id or client_order_id", "invalid_arguments", {"argument": "order_id"}
        )
    try:
        order = await venue.adapter.get_order(symbol, order_id=order_id, client_order_id=client_id)
    except ExchangeError as exc:
        raise exchange_error(exc) from exc
    if w.outcome is None:
        w.decide(w.condition.on_order(order_json(order), None, "current"))


def register_wait_tool(app: McpApp, hub: StreamHub, venues: Venues) -> None:
    """Add ``wait_for_event`` (scope read, async, cancellable) to ``app``."""

    async def wait_for_event(call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = venues.for_args(args)
        name, symbol = args["condition"], args["symbol"].upper()
        timeout_s = float(args.get("timeout_s", DEFAULT_TIMEOUT_S))
        market = name in MARKET_CONDITIONS
        level = _level(args, market)
        w = _Waiter(Condition(name, level, args.get("order_id"), args.get("client_order_id")))
        loop = asyncio.get_running_loop()
        started = loop.time()
        sub = InternalSubscriber(w.on_market)
        remove = venue.user.add_listener(w.on_user) if not market else None
        try:
            if market:
                await _start_market(venue, hub, w, symbol, sub)
            else:
                await _start_order(venue, w, symbol, args)
            deadline = started + timeout_s
            while not w.done.is_set() and (left := deadline - loop.time()) > 0:
                step = min(left, PROGRESS_INTERVAL_S) if call.progress_token is not None else left
                try:
                    async with asyncio.timeout(step):
                        await w.done.wait()
                except TimeoutError:
                    last = w.condition.last_value
                    call.progress(round(loop.time() - started, 3), timeout_s, f"waiting for {name}; last {last}")
        finally:
            if remove is not None:
                remove()
            hub.release(sub)
        return _result(venue, w, symbol, level, int((loop.time() - started) * 1000))

    app.add_tool(
        Tool(
            "wait_for_event",
            "Wait until a condition holds or a timeout (<= 300 s, default 30): price_above / price_below (last trade "
            "price vs level), spread_below (ask - bid <= level), order_filled / order_done (an order by order_id or "
            "client_order_id). Returns met, the deciding value and event, and waited_ms. Cancellable; reports "
            "progress when asked.",
            wait_for_event,
            wait_schema(venues),
            title="Wait for a market or order event",
        )
    )


def _result(venue: Venue, w: _Waiter, symbol: str, level: Decimal | None, waited_ms: int) -> ToolResult:
    cond, out = w.condition, w.outcome
    data: dict[str, Any] = {
        "exchange": venue.name,
        "condition": cond.name,
        "symbol": symbol,
        "met": bool(out and out.met),
        "timed_out": out is None,
        "waited_ms": waited_ms,
        "value": out.value if out else None,
        "last_value": cond.last_value,
        "event": out.event if out else None,
        "source": out.source if out else None,
    }
    if level is not None:
        data["level"] = str(level)
    target = f"{cond.name} {level}" if level is not None else f"{cond.name} ({cond.order_id or cond.client_order_id})"
    if out is None:
        text = f"{symbol} {target}: not met, timed out after {waited_ms} ms (last {cond.last_value})"
    elif out.met:
        text = f"{symbol} {target}: met after {waited_ms} ms ({out.value}, {out.source})"
    else:
        text = f"{symbol} {target}: cannot be met, the order ended {out.value} after {waited_ms} ms"
    return ToolResult(data, text)


__all__ = ["register_wait_tool", "wait_schema"]
