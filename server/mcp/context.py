"""What a tool handler sees of its ``tools/call``: the :class:`CallContext` protocol.

Tool handlers are typed against this protocol, never against the engine: ``fn(ctx: CallContext, arguments) -> result``
(:data:`~tradingmcp.server.mcp.registry.ToolFn`). The engine's implementation is
:class:`~tradingmcp.server.mcp.call.Call`; anything with these members can drive a tool (another front end, a test).

Progress and log lines follow MCP 2025-11-25 "Progress" and "Logging"
(https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress,
https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from tradingmcp.server.mcp.mrtr import Inputs
    from tradingmcp.server.mcp.streams import Subscriber
    from tradingmcp.transport.auth import Principal
    from tradingmcp.transport.jsonrpc import RequestId


class CallContext(Protocol):
    """One ``tools/call`` as its tool sees it: who called, which request, and how to report progress or log.

    An async tool is cancelled by ``asyncio.CancelledError`` at an ``await`` (``notifications/cancelled``, the
    connection closing, or the tool's deadline); a sync tool runs to completion.
    """

    @property
    def principal(self) -> Principal:
        """Who called (the connection's token)."""
        ...

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of this ``tools/call``."""
        ...

    @property
    def progress_token(self) -> Any:
        """``_meta.progressToken`` of the request, or None when the caller wants no progress."""
        ...

    @property
    def log_level(self) -> str | None:
        """The lowest level of log line the caller wants (None: none at all)."""
        ...

    @property
    def inputs(self) -> Inputs:
        """What a 2026-07-28 retry brought back (Multi Round-Trip Requests): the client's answers to the input requests
        of the previous round and its verified state (:class:`~tradingmcp.server.mcp.mrtr.Inputs`). A tool asks by
        raising :class:`~tradingmcp.server.mcp.mrtr.InputRequired`; empty where nothing can be asked that way."""
        ...

    @property
    def subscriber(self) -> Subscriber:
        """Where this connection's pushes go (the key of its :class:`~tradingmcp.server.mcp.streams.StreamHub`
        subscriptions)."""
        ...

    def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send ``notifications/progress`` to the caller if it asked for progress; ``total`` in the same unit."""
        ...

    def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` when ``level`` (RFC 5424 name) is at or above the caller's level."""
        ...

    def request(
        self, method: str, params: dict[str, Any], on_answer: Callable[[Any, dict[str, Any] | None], None]
    ) -> None:
        """Send the client a request (2025-11-25 ``sampling/createMessage``, ``elicitation/create``, ``roots/list``);
        ``on_answer(result, error)`` is called once with its result, or its error object (also when the connection
        closes first). Raises :class:`~tradingmcp.server.mcp.registry.ToolError` where the caller cannot be asked
        (a 2026-07-28 call, a call forwarded over the bus)."""
        ...
