"""Tools that cancel and query orders: ``cancel_order``, ``cancel_all_orders``, ``cancel_orders_batch``,
``kill_switch`` (scope ``trade``), and ``get_order``, ``get_open_orders``, ``get_order_history``, ``get_my_trades``,
``get_trading_limits`` (scope ``read``).

Each result carries ``exchange`` and ``mode`` (the venue's, as :class:`~tradingmcp.server.venues.Venue`) at the top
level; orders are :func:`~tradingmcp.server.tools.shapes.order_json`, fills
:func:`~tradingmcp.server.tools.shapes.fill_json`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.models import Order
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError, ToolResult
from tradingmcp.server.tools.shapes import fill_json, order_json, plain
from tradingmcp.server.tools.trading.schemas import CLIENT_ID_SCHEMA, ORDER_ID_SCHEMA, SYMBOL_SCHEMA
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.errors import tool_error
from tradingmcp.server.trading.journal import Intent
from tradingmcp.server.trading.orders import order_ref, order_text
from tradingmcp.server.venues import Venue, Venues

MAX_HISTORY = 500
"""Most rows ``get_order_history``/``get_my_trades`` return (Binance's ``limit`` maximum for allOrders/myTrades)."""


def _orders_text(orders: list[Order], what: str, venue: str) -> str:
    if not orders:
        return f"no {what} on {venue}"
    return f"{len(orders)} {what} on {venue}:\n" + "\n".join(order_text(o) for o in orders)


class ManageTools:
    """The cancel and query tools of one server."""

    def __init__(self, venues: Venues, desk: TradingDesk) -> None:
        self.venues = venues
        self.desk = desk

    async def _cancel(self, venue: Venue, symbol: str, args: dict[str, Any]) -> Order:
        order_id, cid = order_ref(args)
        try:
            order = await venue.adapter.cancel_order(symbol, order_id=order_id, client_order_id=cid)
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        self.desk.desk(venue).open_orders.on_order(order)
        return order

    async def cancel_order(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        order = await self._cancel(venue, args["symbol"].upper(), args)
        out = {"exchange": venue.name, "mode": venue.mode, "order": order_json(order)}
        return ToolResult(out, f"cancelled: {order_text(order)}")

    async def cancel_all_orders(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        adapter = venue.adapter
        try:
            if args.get("symbol"):
                symbols = [args["symbol"].upper()]
            else:
                symbols = sorted({o.symbol for o in await adapter.open_orders(None)})
            results = await asyncio.gather(*(adapter.cancel_all_orders(s) for s in symbols))
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        cancelled = [o for batch in results for o in batch]
        desk = self.desk.desk(venue)
        for o in cancelled:
            desk.open_orders.on_order(o)
        out = {
            "exchange": venue.name,
            "mode": venue.mode,
            "symbols": symbols,
            "count": len(cancelled),
            "cancelled": [order_json(o) for o in cancelled],
        }
        return ToolResult(out, _orders_text(cancelled, "orders cancelled", venue.name))

    async def cancel_orders_batch(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        items: list[dict[str, Any]] = args["orders"]
        safety.check_batch(self.desk.config, len(items))

        async def one(index: int, item: dict[str, Any]) -> dict[str, Any]:
            try:
                order = await self._cancel(venue, item["symbol"].upper(), item)
            except ToolError as exc:
                return {"index": index, "ok": False, "error": {"code": exc.code, "message": exc.message, **exc.details}}
            return {"index": index, "ok": True, "order": order_json(order)}

        results = list(await asyncio.gather(*(one(i, item) for i, item in enumerate(items))))
        ok = sum(1 for r in results if r["ok"])
        lines = [f"{ok} of {len(results)} orders cancelled on {venue.name}"]
        lines += [
            f"[{r['index']}] "
            + (f"cancelled {r['order']['order_id']}" if r["ok"] else f"{r['error']['code']}: {r['error']['message']}")
            for r in results
        ]
        out = {"exchange": venue.name, "mode": venue.mode, "results": results, "ok": ok, "failed": len(results) - ok}
        return ToolResult(out, "\n".join(lines))

    async def kill_switch(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        reason = str(args.get("reason") or f"triggered by {call.principal.name}")
        cancelled, errors = await self.desk.kill(venue, reason)
        try:
            still_open = len(await venue.adapter.open_orders(None))
        except ExchangeError:
            still_open = None
        out = {
            "exchange": venue.name,
            "mode": venue.mode,
            "kill_switch": "on",
            "reason": reason,
            "count": len(cancelled),
            "cancelled": [order_json(o) for o in cancelled],
            "errors": errors,
            "open_orders_after": still_open,
        }
        text = (
            f"KILL SWITCH ON for {venue.name}: {len(cancelled)} orders cancelled, {len(errors)} errors, "
            f"{still_open} still open; new orders are refused until the server restarts"
        )
        return ToolResult(out, text)

    async def get_order(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        order_id, cid = order_ref(args)
        try:
            order = await venue.adapter.get_order(args["symbol"].upper(), order_id=order_id, client_order_id=cid)
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        return ToolResult({"exchange": venue.name, "mode": venue.mode, "order": order_json(order)}, order_text(order))

    async def get_open_orders(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        symbol = args["symbol"].upper() if args.get("symbol") else None
        try:
            orders = await venue.adapter.open_orders(symbol)
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        if symbol is None:
            self.desk.desk(venue).open_orders.seed(orders)
        out = {"exchange": venue.name, "mode": venue.mode, "orders": [order_json(o) for o in orders]}
        return ToolResult(out, _orders_text(orders, "open orders", venue.name))

    async def get_order_history(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        limit = int(args.get("limit", 50))
        try:
            orders = await venue.adapter.all_orders(args["symbol"].upper(), limit)
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        orders = orders[-limit:]
        journal = self.desk.journal
        intents: list[Intent] = []
        if journal is not None:
            await journal.flush()  # outcomes settled a moment ago included
            intents = journal.recent(venue.name, args["symbol"].upper(), limit)
        out = {
            "exchange": venue.name,
            "mode": venue.mode,
            "symbol": args["symbol"].upper(),
            "orders": [order_json(o) for o in orders],
            "intents": [i.json() for i in intents],
        }
        text = _orders_text(orders, "orders (oldest first)", venue.name)
        if intents:
            text += f"\n{len(intents)} journaled intents (oldest first):\n" + "\n".join(
                f"{i.client_order_id} {i.side} {i.quantity or i.quote_quantity} @ {i.price or 'market'} by {i.caller}: "
                f"{i.outcome or 'outcome unknown'}{f' ({i.note})' if i.note else ''}"
                for i in intents
            )
        return ToolResult(out, text)

    async def get_my_trades(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        limit = int(args.get("limit", 50))
        order_id = args.get("order_id")
        if isinstance(order_id, str) and order_id.isdigit():
            order_id = int(order_id)
        try:
            fills = await venue.adapter.my_trades(args["symbol"].upper(), limit, order_id)
        except ExchangeError as exc:
            raise tool_error(exc) from exc
        fills = fills[-limit:]
        out = {
            "exchange": venue.name,
            "mode": venue.mode,
            "symbol": args["symbol"].upper(),
            "trades": [fill_json(f) for f in fills],
        }
        lines = [f"{len(fills)} fills on {venue.name}"] + [
            f"{'BUY' if f.is_buyer else 'SELL'} {plain(f.qty)} @ {plain(f.price)} (order {f.order_id}, fee "
            f"{plain(f.commission)} {f.commission_asset})"
            for f in fills
        ]
        return ToolResult(out, "\n".join(lines))

    async def get_trading_limits(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        config = self.desk.config
        out = self.desk.rails(venue)
        text = (
            f"{venue.name} ({venue.environment}, {out['account']}): trading "
            f"{'allowed' if out['trading_allowed'] else 'REFUSED'}; "
            f"max order {plain(config.max_order_notional)}, today {out['today_notional']} of "
            f"{plain(config.max_daily_notional)} (quote asset)"
        )
        rails = out["rails"]["limits"]
        text += "".join(
            f"; {name} {entry['limit']}: {entry['state']}" for name, entry in rails.items() if entry["state"] != "off"
        )
        if "day_pnl" in out["rails"]:
            text += f"; day P&L {out['rails']['day_pnl']}"
        return ToolResult(out, text)

    def register(self, app: McpApp) -> None:
        ex = self.venues.schema()
        ref = {"symbol": SYMBOL_SCHEMA, "order_id": ORDER_ID_SCHEMA, "client_order_id": CLIENT_ID_SCHEMA}
        ref_schema = {
            "type": "object",
            "properties": {**ref, "exchange": ex},
            "required": ["symbol"],
            "additionalProperties": False,
        }
        sym_opt = {
            "type": "object",
            "properties": {"symbol": SYMBOL_SCHEMA, "exchange": ex},
            "additionalProperties": False,
        }
        limit = {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY, "description": "rows (default 50)"}
        write: dict[str, Any] = {"scope": "trade", "read_only": False, "destructive": True, "open_world": True}
        read: dict[str, Any] = {
            "scope": "read",
            "read_only": True,
            "destructive": False,
            "idempotent": True,
            "open_world": True,
        }
        tools = [
            Tool(
                "cancel_order",
                "Cancel one open order by order_id or client_order_id.",
                self.cancel_order,
                ref_schema,
                title="Cancel order",
                idempotent=True,
                **write,
            ),
            Tool(
                "cancel_all_orders",
                "Cancel every open order on symbol, or on all symbols when symbol is absent.",
                self.cancel_all_orders,
                sym_opt,
                title="Cancel all orders",
                idempotent=True,
                **write,
            ),
            Tool(
                "cancel_orders_batch",
                "Cancel up to max_batch (10) orders; each item's result is reported separately.",
                self.cancel_orders_batch,
                {
                    "type": "object",
                    "properties": {
                        "orders": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 50,
                            "items": {
                                "type": "object",
                                "properties": ref,
                                "required": ["symbol"],
                                "additionalProperties": False,
                            },
                        },
                        "exchange": ex,
                    },
                    "required": ["orders"],
                    "additionalProperties": False,
                },
                title="Cancel orders (batch)",
                idempotent=True,
                **write,
            ),
            Tool(
                "kill_switch",
                "EMERGENCY STOP: cancel every open order on the exchange and refuse all new orders "
                "until the server restarts (this tool cannot turn trading back on).",
                self.kill_switch,
                {
                    "type": "object",
                    "properties": {"reason": {"type": "string", "maxLength": 200}, "exchange": ex},
                    "additionalProperties": False,
                },
                title="Kill switch",
                idempotent=True,
                **write,
            ),
            Tool(
                "get_order",
                "One order's current state by order_id or client_order_id.",
                self.get_order,
                ref_schema,
                title="Get order",
                **read,
            ),
            Tool(
                "get_open_orders",
                "Open orders on symbol, or on all symbols when absent.",
                self.get_open_orders,
                sym_opt,
                title="Get open orders",
                **read,
            ),
            Tool(
                "get_order_history",
                "Orders on symbol (open, filled, cancelled), oldest first, at most limit; and the server's journaled "
                "order intents on symbol with their outcome (placed, rejected, not_placed; null while unknown), "
                "including those reconciled at start-up after a crash.",
                self.get_order_history,
                {
                    "type": "object",
                    "properties": {"symbol": SYMBOL_SCHEMA, "limit": limit, "exchange": ex},
                    "required": ["symbol"],
                    "additionalProperties": False,
                },
                title="Get order history",
                **read,
            ),
            Tool(
                "get_my_trades",
                "Our fills on symbol (optionally of one order_id), oldest first, at most limit.",
                self.get_my_trades,
                {
                    "type": "object",
                    "properties": {
                        "symbol": SYMBOL_SCHEMA,
                        "limit": limit,
                        "order_id": ORDER_ID_SCHEMA,
                        "exchange": ex,
                    },
                    "required": ["symbol"],
                    "additionalProperties": False,
                },
                title="Get my trades",
                **read,
            ),
            Tool(
                "get_trading_limits",
                "Where the venue trades (mode, environment, account), the server's safety limits, the kill switch, "
                "whether trading is allowed, today's used notional, and each loss, drawdown and exposure limit with "
                "its use and state (off, ok, tripped; a tripped loss limit lets only risk-reducing orders through "
                "until the UTC day ends).",
                self.get_trading_limits,
                {"type": "object", "properties": {"exchange": ex}, "additionalProperties": False},
                title="Get trading limits",
                **read,
            ),
        ]
        for tool in tools:
            app.add_tool(tool)
