"""``export_trades`` (tool) and ``trades://{exchange}/{symbol}.csv`` (resource template): our fills as CSV.

Columns are documented in :mod:`tradingmcp.server.portfolio.export`. With ``path`` the tool writes every matching
fill to that file inside the export directory (``PortfolioConfig.export_dir``) and refuses any path outside it.
Without ``path`` it returns at most ``max_rows`` rows as an embedded ``text/csv`` resource (and in
``structuredContent.csv``), with ``next_cursor`` to fetch the following page (pass it back as ``cursor``).

The resource serves the fills the ledger already holds (resource reads cannot wait on the exchange): reading a
symbol not yet backfilled starts its backfill in the background; read again (or call a portfolio tool first).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, ResourceTemplate, Tool, ToolError, ToolResult
from tradingmcp.server.portfolio.account import VenuePortfolio
from tradingmcp.server.portfolio.export import COLUMNS, ExportPathError, resolve_export_path, to_csv, write_csv
from tradingmcp.server.portfolio.ledger import FillEffect
from tradingmcp.server.tools.portfolio.reports import TIME_SCHEMA, symbols_for
from tradingmcp.server.tools.trading.schemas import SYMBOL_SCHEMA
from tradingmcp.server.venue_args import quoted
from tradingmcp.server.venues import Venues
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

TEMPLATE = "trades://{exchange}/{symbol}.csv"
_COMMON_QUOTES = ("USDT", "USDC", "FDUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


@dataclass(slots=True)
class CsvResult(ToolResult):
    """A tool result with an embedded resource content block after the text block (MCP ``EmbeddedResource``)."""

    resource: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        out = ToolResult.to_wire(self)
        out["content"].append({"type": "resource", "resource": self.resource})
        return out


async def effects_for(
    p: VenuePortfolio, symbols: list[str], start_ms: int | None, end_ms: int | None
) -> list[FillEffect]:
    """Every fill of ``symbols`` in the time range with its P&L effect, in execution order (backfills first)."""
    await p.sync(symbols)
    out: list[FillEffect] = []
    for symbol in symbols:
        if p.ledger.count(symbol):
            base, quote = await p.assets(symbol)
            out += p.ledger.position(symbol, base, quote).effects
    out = [
        e
        for e in out
        if (start_ms is None or e.fill.time_ms >= start_ms) and (end_ms is None or e.fill.time_ms <= end_ms)
    ]
    out.sort(key=lambda e: (e.fill.time_ms, e.fill.symbol, str(e.fill.trade_id)))
    return out


def guess_assets(symbol: str) -> tuple[str, str]:
    """(base, quote) from a symbol's spelling, for a symbol whose rules were never loaded (``ETHBTC`` → ETH, BTC)."""
    for quote in _COMMON_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


def register_export(
    app: McpApp,
    venues: Venues,
    portfolio_of: Callable[[dict[str, Any]], VenuePortfolio],
    export_dir: Path,
    max_rows: int,
) -> None:
    """Register ``export_trades`` and the ``trades://`` resource template."""
    background: set[asyncio.Task[None]] = set()
    root = export_dir.resolve()

    async def export_trades(call: CallContext, args: dict[str, Any]) -> ToolResult:
        p = portfolio_of(args)
        start, end = args.get("start_ms"), args.get("end_ms")
        target = None
        if args.get("path"):
            try:
                target = resolve_export_path(root, str(args["path"]))
            except ExportPathError as exc:
                raise ToolError(str(exc), "path_refused", {"export_dir": str(root)}) from exc
        effects = await effects_for(p, await symbols_for(p, args), start, end)
        if target is not None:
            await asyncio.to_thread(write_csv, target, to_csv(p.venue.name, effects))
            out = {"exchange": p.venue.name, "path": str(target), "rows": len(effects), "columns": list(COLUMNS)}
            return ToolResult(out, f"wrote {len(effects)} fills to {target}")
        cursor = str(args.get("cursor") or "0")
        if not cursor.isdigit() or int(cursor) > len(effects):
            raise ToolError(f"bad cursor {cursor!r}: pass back a next_cursor of a previous call", "bad_cursor")
        offset, limit = int(cursor), int(args.get("max_rows", max_rows))
        page = effects[offset : offset + limit]
        nxt = str(offset + limit) if offset + limit < len(effects) else None
        text = to_csv(p.venue.name, page)
        symbol = str(args.get("symbol") or "all").upper()
        uri = f"trades://{p.venue.name}/{symbol}.csv"
        out = {
            "exchange": p.venue.name,
            "columns": list(COLUMNS),
            "rows": len(page),
            "total_rows": len(effects),
            "next_cursor": nxt,
            "uri": uri,
            "csv": text,
        }
        summary = f"{len(page)} of {len(effects)} fills from row {offset}" + (f"; next_cursor {nxt}" if nxt else "")
        return CsvResult(out, summary, resource={"uri": uri, "mimeType": "text/csv", "text": text})

    def read_trades(uri: str) -> str:
        rest = uri.removeprefix("trades://")
        exchange, _, name = rest.partition("/")
        if not name.endswith(".csv") or "/" in name or len(name) <= 4:
            raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
        try:
            p = portfolio_of({"exchange": exchange})
        except ToolError as exc:
            raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, exc.message, {"uri": uri}) from exc
        symbol = name[:-4].upper()
        rule = p.venue.rules.symbol
        if symbol != "ALL" and not (symbol.isascii() and rule.allows(symbol)):
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"Invalid params: uri: {quoted(name[:-4])} is not a valid {p.venue.name} symbol: it must match "
                f"{rule.pattern} (or ALL)",
                {"uri": uri, "field": "symbol", "rule": rule.pattern},
            )
        symbols = p.ledger.symbols() if symbol == "ALL" else [symbol]
        effects: list[FillEffect] = []
        for s in symbols:
            if not p.is_synced(s) and symbol != "ALL":
                task = asyncio.get_running_loop().create_task(_quiet(p.sync([s])))
                background.add(task)
                task.add_done_callback(background.discard)
            base, quote = p.known_assets(s) or guess_assets(s)
            effects += p.ledger.position(s, base, quote).effects
        effects.sort(key=lambda e: (e.fill.time_ms, e.fill.symbol, str(e.fill.trade_id)))
        return to_csv(p.venue.name, effects)

    schema = {
        "type": "object",
        "properties": {
            "symbol": SYMBOL_SCHEMA,
            "start_ms": TIME_SCHEMA,
            "end_ms": TIME_SCHEMA,
            "path": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": f"write the CSV to this .csv file inside the export directory ({export_dir})",
            },
            "cursor": {"type": "string", "description": "next_cursor of a previous call (inline results only)"},
            "max_rows": {"type": "integer", "minimum": 1, "maximum": max_rows, "description": "rows per page"},
            "exchange": venues.schema(),
        },
        "additionalProperties": False,
    }
    app.add_tool(
        Tool(
            "export_trades",
            "Our fills as CSV (time, symbol, side, ids, price, qty, fee, realized P&L, position after). With path: "
            "writes a .csv file in the export directory; without: returns up to max_rows rows with next_cursor.",
            export_trades,
            schema,
            scope="read",
            read_only=False,
            destructive=False,
            idempotent=True,
            open_world=False,
        )
    )
    app.add_template(
        ResourceTemplate(
            TEMPLATE,
            "trades",
            read_trades,
            "Our fills on one symbol (or ALL) as CSV, from the portfolio ledger; same columns as export_trades.",
            "text/csv",
        )
    )


async def _quiet(aw: Any) -> None:
    with contextlib.suppress(ToolError):
        await aw
