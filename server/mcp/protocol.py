"""MCP protocol constants the server engine shares: versions and ``_meta`` keys (defined in
:mod:`tradingmcp.transport.mcpnames`, re-exported), log levels, cache hints; and the two seams between the session
core and its shell: the :class:`Sink` (bytes out) and the :class:`Shell` (async work: start, cancel).

Versions and ``_meta`` keys follow https://modelcontextprotocol.io/specification (2024-11-05 .. 2025-11-25 with the
``initialize`` handshake; 2026-07-28 with the version and client capabilities in every request's ``_meta``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote
from tradingmcp.transport.mcpnames import (
    HANDSHAKE_VERSIONS,
    MODERN_VERSIONS,
)

if TYPE_CHECKING:
    from tradingmcp.server.mcp.toolcall import ToolRun

SUPPORTED_VERSIONS: Final = (*HANDSHAKE_VERSIONS, *MODERN_VERSIONS)
IS_MODERN: Final[dict[Any, bool]] = {**dict.fromkeys(HANDSHAKE_VERSIONS, False), **dict.fromkeys(MODERN_VERSIONS, True)}
"""Every supported protocol version → True for the 2026-07-28 era (one dict lookup per request on the hot path)."""
LOG_LEVELS: Final = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
"""RFC 5424 severities in increasing order (``logging/setLevel``, ``notifications/message``)."""
CACHE_HINTS: Final[dict[str, tuple[str, int]]] = {
    "tools/list": ("public", 60_000),
    "resources/list": ("public", 60_000),
    "resources/templates/list": ("public", 60_000),
    "prompts/list": ("public", 60_000),
    "resources/read": ("private", 0),  # live market data and account state: always re-read
}
"""2026-07-28 cache hints per method: (``cacheScope``, ``ttlMs`` in ms). Tool, resource and prompt lists never change
while the server runs (``listChanged: false``)."""


class _Pending:
    """The type of :data:`PENDING`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PENDING"


PENDING: Final = _Pending()
"""What a method handler returns when it answers later (an async tool, a listen stream) or has answered itself."""


class Sink(Protocol):
    """Where a session writes: one connection's outbound queue (the session's own sink), or the route of one request
    (the ``reply`` of :meth:`~tradingmcp.server.mcp.engine.ServerSession.on_message`: e.g. one HTTP POST's response)."""

    def send(self, data: bytes) -> None:
        """A response, error or control notification (UTF-8 JSON bytes): in order, never dropped."""

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        """A market-data notification: latest wins per ``key`` while the client is behind."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code."""


class Shell(Protocol):
    """What a session asks of its event-loop shell beyond bytes: run an async tool call, cancel one.

    One shell serves one session (every route of it); :class:`~tradingmcp.server.mcp.runner.TaskRunner` is the asyncio
    one.
    """

    def start(self, run: ToolRun) -> None:
        """Await ``run.work()`` as a task within ``run.deadline_s`` (None: no deadline) and report its end once:
        ``run.returned(value)``, ``run.raised(exc)``, ``run.cancelled()`` or ``run.expired()``.

        Raises:
            RuntimeError: the shell cannot run it (e.g. no event loop); the core answers -32603.
        """

    def cancel(self, run: ToolRun) -> None:
        """Cancel ``run``'s task (it then reports ``run.cancelled()``); nothing when it already ended. The core has
        already stopped counting it in flight and will not answer it."""


class _NoShell:
    """The shell of a session given none: async tools cannot run (sync tools and every other method still can)."""

    __slots__ = ()

    def start(self, run: ToolRun) -> None:
        raise RuntimeError("this session has no shell to run async tools")

    def cancel(self, run: ToolRun) -> None:
        return None


NO_SHELL: Final[Shell] = _NoShell()
"""The default :class:`Shell`: refuses async work."""


def cursor_start(cursor: Any, total: int) -> int:
    """The list index a ``*/list`` ``cursor`` points at (our cursors are decimal offsets; None is the start).

    Raises:
        JsonRpcError: -32602 for a cursor this server did not hand out (quoted bounded: ``jsonrpc.quote``).
    """
    if cursor is None:
        return 0
    # ASCII digits of a plausible length only: int() refuses (ValueError) over 4300 digits and non-ASCII digits
    if isinstance(cursor, str) and len(cursor) <= 18 and cursor.isascii() and cursor.isdigit() and int(cursor) <= total:
        return int(cursor)
    raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: unknown cursor {quote(cursor)}")


T = TypeVar("T")


def list_page(
    key: str, items: Sequence[T], cursor: Any, page_size: int, to_wire: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """One page of a ``*/list`` result: ``{key: [...]}`` from ``cursor`` (see :func:`cursor_start`), at most
    ``page_size`` items, and ``nextCursor`` when more follow.

    Raises:
        JsonRpcError: -32602 for a cursor this server did not hand out.
    """
    start = cursor_start(cursor, len(items))
    end = start + page_size
    out: dict[str, Any] = {key: [to_wire(item) for item in items[start:end]]}
    if end < len(items):
        out["nextCursor"] = str(end)
    return out


def uri_param(params: dict[str, Any]) -> str:
    """``params.uri`` of a ``resources/*`` request.

    Raises:
        JsonRpcError: -32602 when it is missing, empty or not a string.
    """
    uri = params.get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: uri (string) is required")
    return uri
