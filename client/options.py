"""Client settings (:class:`ClientOptions`) and the MCP protocol versions the client speaks."""

from __future__ import annotations

import ssl as ssl_module
from dataclasses import dataclass, field

from tradingmcp.client.core import CLIENT_INFO
from tradingmcp.client.rounds import MAX_INPUT_ROUNDS
from tradingmcp.transport import ws
from tradingmcp.transport.mcpnames import LATEST_HANDSHAKE, LATEST_MODERN

HANDSHAKE_VERSION = LATEST_HANDSHAKE
"""MCP revision with the ``initialize`` handshake the client speaks."""
MODERN_VERSION = LATEST_MODERN
"""MCP revision without a handshake: ``server/discover`` and per-request ``_meta``."""


@dataclass(frozen=True)
class ClientOptions:
    """Client settings. Times in seconds.

    Attributes:
        token: bearer token (sent as ``Authorization: Bearer``; ``token_in_subprotocol`` sends ``auth.<token>``).
        ssl: TLS context for ``wss://`` (verifying by default; see ``transport.tls.client_ssl_context``).
        backend: WebSocket library (``picows`` or ``websockets``), see :mod:`tradingmcp.transport.ws`.
        wire: frame-size limits, keepalive and write-buffer watermarks.
        timeout_s: default per-call timeout (``math.inf``: none).
        reconnect: reconnect automatically after the link drops.
        backoff_initial_s, backoff_max_s: reconnect delays (jittered exponential, factor 2).
        protocol_version: ``2025-11-25`` (initialize handshake) or ``2026-07-28`` (per-request ``_meta``).
        client_info: ``clientInfo`` sent to the server (``name``, ``version``).
        max_notifications: notifications buffered for :meth:`McpClient.notifications` (oldest dropped beyond).
        max_input_rounds: retries one ``call_tool`` / ``get_prompt`` / ``read_resource`` may take to answer a
            2026-07-28 server's input-required results (:mod:`tradingmcp.client.rounds`) before
            ``InputRequiredError`` (0: none).
    """

    token: str | None = None
    token_in_subprotocol: bool = False
    ssl: ssl_module.SSLContext | None = None
    backend: ws.Backend = ws.DEFAULT_BACKEND
    wire: ws.WireOptions = field(default_factory=ws.WireOptions)
    timeout_s: float = 10.0
    reconnect: bool = True
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 5.0
    protocol_version: str = HANDSHAKE_VERSION
    client_info: dict[str, str] = field(default_factory=lambda: dict(CLIENT_INFO))
    max_notifications: int = 100_000
    max_input_rounds: int = MAX_INPUT_ROUNDS
