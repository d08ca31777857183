"""The audit tool family: ``get_audit_log`` (:mod:`.query`, scope read) over the audit log of
:mod:`tradingmcp.server.audit`."""

from __future__ import annotations

from tradingmcp.server.audit import AuditConfig, AuditLog, install_audit
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.tools.audit.query import register_audit_tool
from tradingmcp.server.venues import Venues

__all__ = ["register_audit_tools"]


def register_audit_tools(app: McpApp, venues: Venues, config: AuditConfig) -> AuditLog:
    """Install the audit log on ``app`` and ``venues`` (:func:`~tradingmcp.server.audit.install_audit`) and register
    ``get_audit_log`` over it; neither when ``config.enabled`` is False.

    Returns the :class:`~tradingmcp.server.audit.AuditLog` (``await start()`` before serving, ``await close()`` at
    shutdown).
    """
    audit = install_audit(app, venues, config)
    if config.enabled:
        register_audit_tool(app, venues, audit.flush, audit.query)
    return audit
