"""The audit log: every tool call and order event, append-only (SQLite WAL by default), written behind the hot path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.venues import Venues


@dataclass(frozen=True)
class AuditConfig:
    """``data_dir``: directory of ``audit.sqlite3`` (None: audit disabled until the audit package lands)."""

    data_dir: Path | None = None


class AuditLog:
    """Placeholder until the audit package lands."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


def install_audit(app: McpApp, venues: Venues, config: AuditConfig) -> AuditLog:
    """Observe every tool call of ``app`` and every order event of ``venues``; register ``get_audit_log``."""
    return AuditLog()
