"""MCP's names that both ends of our wire use: protocol versions, ``_meta`` keys, and the notification methods.

Defined once here so the server engine, the client library, the reference bot and the benchmark peers cannot drift
apart. Names follow https://modelcontextprotocol.io/specification (2025-11-25 and 2026-07-28); the stream
notification is this product's own: the extension :data:`STREAMS_EXTENSION` (SEP-2133), announced under
``capabilities.extensions`` (and, for handshake-era clients, ``capabilities.experimental["tradingmcp/streams"]``).
"""

from __future__ import annotations

from typing import Final

HANDSHAKE_VERSIONS: Final = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
"""Protocol versions with the ``initialize`` handshake, oldest first."""
MODERN_VERSIONS: Final = ("2026-07-28",)
"""Protocol versions without a handshake: version and client capabilities in every request's ``_meta``."""
LATEST_HANDSHAKE: Final = HANDSHAKE_VERSIONS[-1]
LATEST_MODERN: Final = MODERN_VERSIONS[-1]

META_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPS: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SUBSCRIPTION: Final = "io.modelcontextprotocol/subscriptionId"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"

INITIALIZED: Final = "notifications/initialized"
CANCELLED: Final = "notifications/cancelled"
PROGRESS: Final = "notifications/progress"
MESSAGE: Final = "notifications/message"
RESOURCES_UPDATED: Final = "notifications/resources/updated"
SUBSCRIPTIONS_ACKNOWLEDGED: Final = "notifications/subscriptions/acknowledged"
STREAM: Final = "notifications/tradingmcp/stream"
"""A pushed stream message: ``params = {"stream": key, "seq": n, "data": {...}}``, ``seq`` +1 per message of a key."""
STREAMS_EXTENSION: Final = "io.tradingmcp/streams"
"""The extension identifier (SEP-2133 ``{vendor-prefix}/{name}``) of :data:`STREAM`: a 2026-07-28 client declares it in
``_meta["io.modelcontextprotocol/clientCapabilities"].extensions`` to get stream pushes (the ``subscribe`` tool)."""
