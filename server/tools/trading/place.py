"""Tools that create plain orders (scope ``trade``): ``place_order``, ``preview_order``, ``place_orders_batch``.
Every one runs the pre-trade checks of :mod:`~tradingmcp.server.trading.pretrade` first
(``place_oco``/``replace_order``: :mod:`.combo`).

Results follow the tool contract: ``{exchange, mode, order: order_json, duplicate}`` for ``place_order``; errors are
``isError`` results whose ``structuredContent.error.code`` is ``filter_failure``, ``safety_<rule>``,
``confirmation_required``, ``exchange_error`` or ``invalid_argument``. A decimal argument that is no valid decimal
(:func:`~tradingmcp.server.decimals.decimal_arg`) is JSON-RPC ``-32602`` naming it, before anything is checked or sent
(in a batch, naming the item: ``arguments.orders[2].quantity``, and no item is placed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tradingmcp.server.exchanges.models import OrderRequest
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError, ToolResult
from tradingmcp.server.tools.shapes import order_json
from tradingmcp.server.tools.trading.schemas import DRY_RUN_SCHEMA, ORDER_FIELDS, TOKEN_SCHEMA
from tradingmcp.server.trading import safety
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.orders import request_json, request_text
from tradingmcp.server.venues import Venue, Venues


def _error_json(exc: ToolError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, **exc.details}


class PlaceTools:
    """The order-creating tools of one server (bound to its venues and desk)."""

    def __init__(self, venues: Venues, desk: TradingDesk) -> None:
        self.venues = venues
        self.desk = desk

    # --- place_order -------------------------------------------------------------------------------------------
    async def place_one(
        self, call: CallContext, venue: Venue, args: dict[str, Any], request: OrderRequest, dry_run: bool
    ) -> dict[str, Any]:
        placed = await self.desk.place(
            call.principal.name,
            venue,
            request,
            token=args.get("confirmation_token"),
            dry_run=dry_run,
            ask_exchange="client_order_id" in args and self.desk.config.lookup_unknown_client_ids,
        )
        out: dict[str, Any] = {"exchange": venue.name, "mode": venue.mode}
        if placed.order is None:
            assert placed.checked is not None
            out |= {"dry_run": True, "duplicate": False, "order": request_json(request)}
            out |= placed.checked.estimate_json() | {"needs_confirmation": placed.checked.needs_confirmation}
            return out
        out |= {"order": order_json(placed.order), "duplicate": placed.duplicate, "dry_run": False}
        if placed.checked is not None:
            out |= placed.checked.estimate_json()
            self.desk.placed(venue, args, placed)
        if placed.differs:
            out["differs_from_request"] = list(placed.differs)
        return out

    async def place_order(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        dry_run = bool(args.get("dry_run", False))
        out = await self.place_one(call, venue, args, await self.desk.parse(venue, args), dry_run)
        return ToolResult(out, _placed_text(out))

    # --- preview_order -----------------------------------------------------------------------------------------
    async def preview_order(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        request = await self.desk.parse(venue, args)
        checked = await self.desk.check(venue, request)
        token = None
        if checked.needs_confirmation:
            token = self.desk.issue_confirmation(call.principal.name, venue, request)
        out: dict[str, Any] = {
            "exchange": venue.name,
            "mode": venue.mode,
            "order": request_json(request),
            **checked.estimate_json(),
            "needs_confirmation": checked.needs_confirmation,
            "confirmation_token": token,
            "expires_in_s": self.desk.config.confirm_ttl_s if token else None,
        }
        text = f"preview OK: {request_text(request)} on {venue.name}, est. notional {out['estimated_notional']} "
        text += f"{checked.quote_asset}, fee {out['estimated_fee']} {checked.quote_asset}"
        if token:
            text += f"; needs confirmation: pass confirmation_token {token} to place_order within "
            text += f"{self.desk.config.confirm_ttl_s:g} s"
        return ToolResult(out, text)

    # --- place_orders_batch ------------------------------------------------------------------------------------
    async def place_orders_batch(self, call: CallContext, args: dict[str, Any]) -> ToolResult:
        venue = self.venues.for_args(args)
        items: list[dict[str, Any]] = args["orders"]
        safety.check_batch(self.desk.config, len(items))
        dry_run = bool(args.get("dry_run", False))
        parsed: list[OrderRequest | ToolError] = []
        for i, item in enumerate(items):  # every item's arguments before any item is placed
            try:
                parsed.append(await self.desk.parse(venue, item, f"arguments.orders[{i}]"))
            except ToolError as exc:
                parsed.append(exc)

        async def one(index: int, item: dict[str, Any], request: OrderRequest | ToolError) -> dict[str, Any]:
            if isinstance(request, ToolError):
                return {"index": index, "ok": False, "error": _error_json(request)}
            try:
                res = await self.place_one(call, venue, item, request, dry_run)
            except ToolError as exc:
                return {"index": index, "ok": False, "error": _error_json(exc)}
            return {"index": index, "ok": True, **{k: v for k, v in res.items() if k not in ("exchange", "mode")}}

        results = await asyncio.gather(*(one(i, item, parsed[i]) for i, item in enumerate(items)))
        ok = sum(1 for r in results if r["ok"])
        out = {
            "exchange": venue.name,
            "mode": venue.mode,
            "results": list(results),
            "ok": ok,
            "failed": len(results) - ok,
        }
        lines = [f"{ok} of {len(results)} orders {'checked' if dry_run else 'placed'} on {venue.name}"]
        for r in results:
            if r["ok"] and not dry_run:
                lines.append(f"[{r['index']}] " + ("duplicate: " if r["duplicate"] else "") + _order_line(r["order"]))
            elif r["ok"]:
                lines.append(f"[{r['index']}] dry run OK")
            else:
                lines.append(f"[{r['index']}] {r['error']['code']}: {r['error']['message']}")
        return ToolResult(out, "\n".join(lines))

    # --- place_oco ---------------------------------------------------------------------------------------------
    def register(self, app: McpApp) -> None:
        ex = self.venues.schema()
        fields = {**ORDER_FIELDS, "confirmation_token": TOKEN_SCHEMA}
        order_schema = {
            "type": "object",
            "properties": {**fields, "dry_run": DRY_RUN_SCHEMA, "exchange": ex},
            "required": ["symbol", "side"],
            "additionalProperties": False,
        }
        item = {"type": "object", "properties": fields, "required": ["symbol", "side"], "additionalProperties": False}
        trade: dict[str, Any] = {"scope": "trade", "read_only": False, "open_world": True}
        app.add_tool(
            Tool(
                "place_order",
                "Place a spot order after the server's checks (symbol filters, safety limits). Quantities are decimal "
                "strings in the base asset; quote_quantity (quote asset) is for MARKET only. A retry with the same "
                "client_order_id returns the existing order with duplicate=true. Orders above the confirmation "
                "threshold need confirmation_token from preview_order. dry_run=true checks without placing.",
                self.place_order,
                order_schema,
                title="Place order",
                destructive=True,
                idempotent=False,
                **trade,
            )
        )
        app.add_tool(
            Tool(
                "preview_order",
                "Check an order without placing it: normalized order, estimated notional and fee (quote asset), and a "
                "short-lived single-use confirmation_token when the order needs confirmation.",
                self.preview_order,
                order_schema,
                title="Preview order",
                destructive=False,
                idempotent=True,
                **trade,
            )
        )
        app.add_tool(
            Tool(
                "place_orders_batch",
                "Place up to max_batch (10) orders; each item's result or error is reported separately.",
                self.place_orders_batch,
                {
                    "type": "object",
                    "properties": {
                        "orders": {"type": "array", "items": item, "minItems": 1, "maxItems": 50},
                        "dry_run": DRY_RUN_SCHEMA,
                        "exchange": ex,
                    },
                    "required": ["orders"],
                    "additionalProperties": False,
                },
                title="Place orders (batch)",
                destructive=True,
                idempotent=False,
                **trade,
            )
        )


def _order_line(o: dict[str, Any]) -> str:
    text = f"{o['side']} {o['orig_qty']} {o['symbol']} {o['type']}"
    if o["price"] != "0":
        text += f" @ {o['price']}"
    return text + f" → {o['status']} (id {o['order_id']})"


def _placed_text(out: dict[str, Any]) -> str:
    if out.get("dry_run"):
        o = out["order"]
        what = f"{o['side']} {o['quantity'] or o['quote_quantity']} {o['symbol']} {o['type']}"
        if o["price"]:
            what += f" @ {o['price']}"
        note = " (needs confirmation_token to place)" if out.get("needs_confirmation") else ""
        return (
            f"dry run OK: {what} on {out['exchange']}, est. notional {out['estimated_notional']} "
            f"{out['quote_asset']}, fee {out['estimated_fee']} {out['quote_asset']}; nothing placed{note}"
        )
    prefix = "duplicate (already placed, nothing sent): " if out["duplicate"] else ""
    return prefix + _order_line(out["order"]) + f" on {out['exchange']}"
