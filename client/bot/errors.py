"""The bot shell's errors and what a reconcile found (see :mod:`.runner`)."""

from __future__ import annotations

from dataclasses import dataclass, field


class BotError(Exception):
    """The bot could not start or a required tool failed (message says which)."""


class ToolCallError(BotError):
    """A tool answered ``isError``: ``tool``, ``code`` (structuredContent.error.code) and ``message``."""

    def __init__(self, tool: str, code: str, message: str) -> None:
        super().__init__(f"{tool}: {code}: {message}")
        self.tool, self.code = tool, code


@dataclass
class ReconcileRecord:
    """What one reconcile found: ``reason``, ``open_orders`` (ours still open), ``retried`` placements,
    ``looked_up`` orders, ``fills_recovered``, ``duplicates`` (retries the server answered with the existing order),
    ``position_diffs`` (symbol → server − bot, base) and ``duration_ms``."""

    reason: str
    time_s: float
    open_orders: int = 0
    retried: int = 0
    looked_up: int = 0
    fills_recovered: int = 0
    duplicates: int = 0
    position_diffs: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
