"""Audit rows (sans-I/O): a tool call or an order event → one row; a stored row → the JSON entry tools and CLI show.

Row columns (:data:`COLUMNS`, the SQLite table ``audit_log`` plus its ``id``):

* ``time_ms`` (local wall clock, ms since the epoch: dispatch time of a call, arrival of an order event), ``kind``
  (``tool_call`` | ``order_event``), ``exchange``, ``mode`` (``sim`` | ``testnet`` | ``live``);
* tool calls: ``principal`` (token name), ``tool``, ``outcome`` (``ok`` | ``tool_error`` | ``rpc_error`` |
  ``internal`` | ``input_required``: a 2026-07-28 round that asked the client), ``error_code``, ``error``, ``latency_us`` (µs), ``arguments`` and ``result`` (JSON text, secrets
  redacted, result cut to ``max_result_bytes``); ``symbol``, ``order_id``, ``client_order_id``, ``status`` from the
  result's ``order`` (trading tools) or the arguments, so one ``client_order_id`` finds the call and its events;
* order events: ``symbol``, ``order_id``, ``client_order_id``, ``execution_type`` (Binance ``x``), ``status``
  (Binance ``X``), ``error`` (reject reason), ``fill`` (``fill_json``) and ``result`` (the whole
  ``order_event_json``).

Bounds: what a caller sends is cut before it is scanned or stored, so converting a row costs time linear in the
call's size and stores a bounded row. ``error`` keeps at most :data:`MAX_ERROR_CHARS` characters, cut *then* redacted
(:func:`~tradingmcp.server.logs.redact_bounded`); ``arguments`` at most :data:`MAX_ARGUMENTS_BYTES` bytes of JSON;
``tool``, ``exchange``, ``symbol``, ``order_id`` and ``client_order_id`` at most :data:`MAX_NAME_CHARS` characters
(a longer text ends with ``…[truncated N chars]``; an ``order_id`` that is neither a string nor a number is not
stored); ``result`` at most ``max_result_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tradingmcp.server.audit.redact import redact, redacted_json, truncate
from tradingmcp.server.exchanges.models import OrderEvent
from tradingmcp.server.logs import clip, redact_bounded
from tradingmcp.server.mcp.registry import ToolCallRecord
from tradingmcp.server.tools.shapes import fill_json, order_event_json
from tradingmcp.server.venues import Venues

COLUMNS = (
    "time_ms",
    "kind",
    "exchange",
    "mode",
    "principal",
    "tool",
    "outcome",
    "error_code",
    "error",
    "latency_us",
    "arguments",
    "result",
    "symbol",
    "order_id",
    "client_order_id",
    "execution_type",
    "status",
    "fill",
)
Row = tuple[Any, ...]
"""Values in :data:`COLUMNS` order."""

KIND_TOOL_CALL = "tool_call"
KIND_ORDER_EVENT = "order_event"
KIND_SAFETY_EVENT = "safety_event"
MAX_ERROR_CHARS = 2000
"""Most characters of an error message scanned and stored (plus a ``…[truncated N chars]`` marker)."""
MAX_ARGUMENTS_BYTES = 32_768
"""Most bytes of a call's arguments JSON stored (plus a ``…[truncated N bytes]`` marker)."""
MAX_NAME_CHARS = 128
"""Most characters stored of a tool, exchange or symbol name, an order id or a client order id."""


@dataclass(frozen=True, slots=True)
class OrderEventItem:
    """An order event as queued by the bus listener: the venue it came from, the event and when it arrived (local
    wall clock, ms since the epoch: the row's ``time_ms``, comparable with tool calls; the exchange's own
    ``event_time_ms`` is in the stored event JSON)."""

    exchange: str
    mode: str
    event: OrderEvent
    received_ms: int


@dataclass(frozen=True, slots=True)
class SafetyEventItem:
    """A rail event of the trading desk (:data:`~tradingmcp.server.trading.desk.RailListener`: an intent reconciled
    at start-up, a loss limit tripped) as queued: the venue, the event JSON and when it happened (ms since the
    epoch)."""

    exchange: str
    mode: str
    event: dict[str, Any]
    time_ms: int


AuditItem = ToolCallRecord | OrderEventItem | SafetyEventItem
"""What the write-behind queue holds (converted to rows on the writer thread, off the event loop)."""


def to_row(item: AuditItem, venues: Venues, max_result_bytes: int) -> Row:
    """One queued item as a row (redacts secrets; see the module docstring for the columns)."""
    if isinstance(item, OrderEventItem):
        return order_event_row(item, max_result_bytes)
    if isinstance(item, SafetyEventItem):
        return safety_event_row(item, max_result_bytes)
    return tool_call_row(item, venues, max_result_bytes)


def tool_call_row(rec: ToolCallRecord, venues: Venues, max_result_bytes: int) -> Row:
    """A ``tools/call`` as a row: exchange is ``arguments.exchange`` or the default venue; mode that venue's."""
    named = rec.arguments.get("exchange")
    exchange = clip(named, MAX_NAME_CHARS).lower() if isinstance(named, str) else venues.default
    venue = venues.by_name.get(exchange)
    result = None
    order: dict[str, Any] = {}
    if rec.result is not None:
        payload = rec.result.get("structuredContent")
        if payload is None:
            payload = rec.result.get("content")
        result, parsed = redacted_json(payload, max_result_bytes, want=b'"order":{')
        found = parsed.get("order") if isinstance(parsed, dict) else None
        order = found if isinstance(found, dict) else {}
    symbol = rec.arguments.get("symbol")
    client_id = order.get("client_order_id", rec.arguments.get("client_order_id"))
    order_id = order.get("order_id", rec.arguments.get("order_id"))
    return (
        rec.time_ms,
        KIND_TOOL_CALL,
        exchange,
        venue.mode if venue is not None else None,
        rec.principal,
        clip(rec.tool, MAX_NAME_CHARS),
        rec.outcome,
        None if rec.error_code is None else str(rec.error_code),
        None if rec.error is None else redact_bounded(rec.error, MAX_ERROR_CHARS),
        round(rec.latency_us, 1),
        truncate(orjson.dumps(redact(rec.arguments), default=str), MAX_ARGUMENTS_BYTES),
        result,
        _name(order.get("symbol", symbol)),
        str(order_id) if isinstance(order_id, int | float) else _name(order_id),
        _name(client_id),
        None,
        order.get("status"),
        None,
    )


def _name(value: Any) -> str | None:
    """A text column from a caller's value: a string cut to :data:`MAX_NAME_CHARS`, else None."""
    return clip(value, MAX_NAME_CHARS) if isinstance(value, str) else None


def order_event_row(item: OrderEventItem, max_result_bytes: int) -> Row:
    """An order event (Binance ``executionReport``) as a row."""
    ev = item.event
    order = ev.order
    fill = fill_json(ev.last_fill) if ev.last_fill is not None else None
    return (
        item.received_ms,
        KIND_ORDER_EVENT,
        item.exchange,
        item.mode,
        None,
        None,
        None,
        None,
        None if ev.reject_reason in ("NONE", "") else ev.reject_reason,
        None,
        None,
        truncate(orjson.dumps(order_event_json(ev)), max_result_bytes),
        order.symbol,
        str(order.order_id),
        order.client_order_id,
        ev.execution_type.value,
        order.status.value,
        None if fill is None else orjson.dumps(fill).decode(),
    )


def safety_event_row(item: SafetyEventItem, max_result_bytes: int) -> Row:
    """A rail event as a row: ``tool`` is the event's kind (``intent_reconciled``, ``limit_breach``), ``error_code``
    its rule (a breach's ``safety_<rule>``), ``error`` its message, ``status`` its outcome or state, ``result`` the
    whole event."""
    ev = item.event
    order_id = ev.get("order_id")
    return (
        item.time_ms,
        KIND_SAFETY_EVENT,
        item.exchange,
        item.mode,
        None,
        _name(ev.get("kind")),
        None,
        _name(ev.get("code")),
        redact_bounded(str(ev.get("message", "")), MAX_ERROR_CHARS),
        None,
        None,
        truncate(orjson.dumps(ev, default=str), max_result_bytes),
        _name(ev.get("symbol")),
        None if order_id is None else str(order_id),
        _name(ev.get("client_order_id")),
        None,
        _name(ev.get("outcome", ev.get("state"))),
        None,
    )


_JSON_COLUMNS = frozenset({"arguments", "result", "fill"})


def entry_json(row_id: int, row: Row) -> dict[str, Any]:
    """A stored row as the JSON entry of ``get_audit_log``: ``{id, time_ms, kind, ...}`` without null columns.

    JSON columns (``arguments``, ``result``, ``fill``) are decoded; a truncated result stays a string.
    """
    out: dict[str, Any] = {"id": row_id}
    for name, value in zip(COLUMNS, row, strict=True):
        if value is None:
            continue
        out[name] = _decode(value) if name in _JSON_COLUMNS else value
    return out


def _decode(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # cut to max_result_bytes: shown as the truncated text
        return text


def entry_text(entry: dict[str, Any]) -> str:
    """One line per entry for humans: time, kind, who/what, outcome, latency."""
    if entry.get("kind") == KIND_ORDER_EVENT:
        return (
            f"#{entry['id']} {entry['time_ms']} order {entry.get('exchange')} {entry.get('symbol')} "
            f"{entry.get('execution_type')} {entry.get('status')} id={entry.get('order_id')} "
            f"client={entry.get('client_order_id')}"
        )
    if entry.get("kind") == KIND_SAFETY_EVENT:
        return f"#{entry['id']} {entry['time_ms']} safety {entry.get('exchange')} {entry.get('tool')}: {entry.get('error')}"
    err = f" {entry.get('error_code')}: {entry.get('error')}" if entry.get("outcome") != "ok" else ""
    return (
        f"#{entry['id']} {entry['time_ms']} {entry.get('principal')} {entry.get('tool')} "
        f"{entry.get('outcome')}{err} ({entry.get('latency_us')} µs)"
    )
