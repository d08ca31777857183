"""The ``get_audit_log`` tool (scope read): query the audit log, newest first, with filters and a cursor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tradingmcp.server.audit.entries import KIND_ORDER_EVENT, KIND_SAFETY_EVENT, KIND_TOOL_CALL, entry_text
from tradingmcp.server.audit.store import MAX_LIMIT, AuditPage, AuditQuery
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError, ToolResult
from tradingmcp.server.venues import Venues

OUTCOMES = ["ok", "tool_error", "rpc_error", "internal"]
DESCRIPTION = (
    "Read the audit log: every tool call (who, which tool, arguments with secrets redacted, outcome, latency µs) and "
    "every order event (execution type, order id, client order id, status, fill), newest first. Filter by time "
    "(since_ms/until_ms, ms since the epoch), tool, principal (token name), outcome, kind, exchange or "
    "client_order_id; page with cursor = the previous result's next_cursor. A token without the 'audit' scope sees "
    "its own tool calls only (and every order event)."
)


def audit_tool_schema(venues: Venues) -> dict[str, Any]:
    """inputSchema of ``get_audit_log``."""
    exchange = {**venues.schema(), "description": "only entries of this exchange (default: all)"}
    return {
        "type": "object",
        "properties": {
            "since_ms": {"type": "integer", "minimum": 0, "description": "entries at or after this time (ms)"},
            "until_ms": {"type": "integer", "minimum": 0, "description": "entries at or before this time (ms)"},
            "tool": {"type": "string", "description": "only calls of this tool"},
            "principal": {"type": "string", "description": "only calls made with this token name"},
            "outcome": {"type": "string", "enum": OUTCOMES},
            "kind": {"type": "string", "enum": [KIND_TOOL_CALL, KIND_ORDER_EVENT, KIND_SAFETY_EVENT]},
            "exchange": exchange,
            "client_order_id": {"type": "string", "description": "only this order's calls and events"},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "rows (default 50)"},
            "cursor": {"type": "string", "description": "next_cursor of the previous page"},
        },
        "additionalProperties": False,
    }


def parse_query(args: dict[str, Any], visible_to: str | None = None) -> AuditQuery:
    """Tool arguments → :class:`AuditQuery`; ``visible_to`` limits tool calls to that token name's own.

    Raises:
        ToolError: ``invalid_cursor`` when ``cursor`` is not one this tool returned.
    """
    cursor = args.get("cursor")
    cursor_id: int | None = None
    if cursor is not None:
        if not cursor.isdigit():
            raise ToolError(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page", "invalid_cursor")
        cursor_id = int(cursor)
    exchange = args.get("exchange")
    return AuditQuery(
        since_ms=args.get("since_ms"),
        until_ms=args.get("until_ms"),
        tool=args.get("tool"),
        principal=args.get("principal"),
        outcome=args.get("outcome"),
        kind=args.get("kind"),
        exchange=exchange.lower() if isinstance(exchange, str) else None,
        client_order_id=args.get("client_order_id"),
        limit=args.get("limit", 50),
        cursor=cursor_id,
        visible_to=visible_to,
    )


def register_audit_tool(
    app: McpApp, venues: Venues, flush: Callable[[], Awaitable[None]], query: Callable[[AuditQuery], AuditPage]
) -> None:
    """Register ``get_audit_log``: ``flush()`` writes what is queued, then ``query`` runs on a worker thread.

    Result: ``{entries: [{id, time_ms, kind, exchange, mode, principal, tool, outcome, error_code, error, latency_us,
    arguments, result | symbol, order_id, client_order_id, execution_type, status, fill}], count, next_cursor}``
    (null fields omitted). A caller whose token lacks the ``audit`` scope sees only its own tool calls (every order
    event stays visible: they belong to the account, which any read token may query).
    """

    async def get_audit_log(call: CallContext, args: dict[str, Any]) -> ToolResult:
        principal = call.principal
        q = parse_query(args, None if principal.can("audit") else principal.name)
        await flush()
        page = await asyncio.to_thread(query, q)
        out = {"entries": page.entries, "count": len(page.entries), "next_cursor": _cursor(page.next_cursor)}
        lines = [entry_text(e) for e in page.entries] or ["(no entries)"]
        if page.next_cursor is not None:
            lines.append(f"more: cursor={page.next_cursor}")
        return ToolResult(out, "\n".join(lines))

    app.add_tool(Tool("get_audit_log", DESCRIPTION, get_audit_log, audit_tool_schema(venues), title="Audit log"))


def _cursor(value: int | None) -> str | None:
    return None if value is None else str(value)
