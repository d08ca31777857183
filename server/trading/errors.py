"""Adapter errors → tool errors (the one boundary where an ``ExchangeError`` becomes an ``isError`` result).

Codes: ``filter_failure`` (a symbol filter; ``violations`` lists ``{filter, field, message, nearest_valid}``),
``exchange_error`` (anything else the exchange refused or failed; ``exchange_error`` names the error class, e.g.
``InsufficientBalance``, ``UnknownOrder``, ``ExchangeUnavailable``, with ``hint`` and ``retryable``).
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError, FilterFailure
from tradingmcp.server.exchanges.rules import OrderRuleError, RuleViolation
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.mcp.registry import ToolError


def violation_json(v: RuleViolation) -> dict[str, Any]:
    """``{filter, field, message, nearest_valid}`` (nearest_valid a decimal string or None)."""
    return {
        "filter": v.filter,
        "field": v.field,
        "message": v.message,
        "nearest_valid": plain(v.nearest_valid) if v.nearest_valid is not None else None,
    }


def filter_failure(violations: list[RuleViolation], symbol: str) -> ToolError:
    """``filter_failure`` listing every violation (nothing was sent)."""
    text = "; ".join(v.message for v in violations)
    return ToolError(
        f"order breaks {symbol}'s trading rules: {text} (checked locally, nothing was sent)",
        "filter_failure",
        {"violations": [violation_json(v) for v in violations], "symbol": symbol},
    )


def tool_error(exc: ExchangeError, **details: Any) -> ToolError:
    """The ToolError for an adapter error (see module docstring); ``details`` are added to the result."""
    if isinstance(exc, OrderRuleError):
        return ToolError(
            str(exc), "filter_failure", {"violations": [violation_json(v) for v in exc.violations], **details}
        )
    info: dict[str, Any] = {
        "exchange_error": type(exc).__name__,
        "exchange_code": exc.code,
        "retryable": exc.should_retry(),
        **details,
    }
    if exc.hint:
        info["hint"] = exc.hint
    if exc.retry_after_s is not None:
        info["retry_after_s"] = exc.retry_after_s
    if isinstance(exc, FilterFailure):
        return ToolError(f"the exchange refused the order: {exc}", "filter_failure", {"violations": [], **info})
    return ToolError(f"{exc}", "exchange_error", info)
