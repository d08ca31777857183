"""Our WebSocket wire as a transport for the official MCP Python SDK (mcp 2.3): ``Client`` and ``ClientSession`` run on it.

Usage::

    from mcp.client import Client
    from tradingmcp.client.sdk_transport import websocket_transport

    async with Client(websocket_transport("ws://127.0.0.1:8765/mcp", token="..."), mode="auto") as client:
        tools = await client.list_tools()

The transport has the shape of mcp 2.3.0's client transports (``mcp/client/_transport.py``, ``mcp/client/stdio.py``): an
async context manager yielding ``(read_stream, write_stream)`` of :class:`mcp.shared.message.SessionMessage`.

* Inbound: one JSON-RPC message per text frame, validated with ``mcp_types.jsonrpc_message_adapter`` in the frame
  callback; a frame that does not validate travels as the ``Exception`` value in the read stream (the session surfaces
  it and keeps going). Inbound messages wait in a bounded buffer (``max_queued_messages``); a client that stops reading
  that long is closed with 1008 rather than growing without bound.
* Outbound: ``message.model_dump_json(by_alias=True, exclude_unset=True)``, one text frame each; the writer waits
  while the socket's write buffer is above its high watermark (backpressure).
* The peer closing (or the link dropping) closes the read stream: the SDK then fails pending calls with ``MCPError
  -32000 "Connection closed"``; later writes raise ``anyio.BrokenResourceError`` (the SDK maps it to the same error).
  There is no reconnect: like every SDK transport this one is single-shot (build a new ``Client`` to reconnect).
* Leaving the context closes the socket with 1000 after flushing what the SDK already wrote (bounded by
  ``close_timeout_s``).

Built on :func:`tradingmcp.transport.ws.connect` only; no WebSocket library is imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator
from typing import Final

import anyio
import mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from tradingmcp.transport import ws
from tradingmcp.transport.auth import AUTH_SUBPROTOCOL_PREFIX
from tradingmcp.transport.closecodes import CloseCode

log = logging.getLogger("tradingmcp.client.sdk_transport")

SdkStreams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
"""What the transport yields; satisfies mcp 2.3's ``TransportStreams`` (``mcp/client/_transport.py``)."""

MAX_QUEUED_MESSAGES: Final = 100_000
"""Default bound on inbound messages the SDK has not yet taken (messages, not bytes)."""
CLOSE_TIMEOUT_S: Final = 2.0
"""Default time (s) to flush outbound messages and wait for the close handshake when leaving the context."""


class _Inbound:
    """FrameHandler: validates each text frame and hands it to the read stream; tracks writability and close."""

    __slots__ = ("closed", "conn", "writable", "writer")

    def __init__(self, writer: MemoryObjectSendStream[SessionMessage | Exception]) -> None:
        self.writer = writer
        self.conn: ws.Connection | None = None
        self.closed = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()

    def on_open(self, conn: ws.Connection) -> None:
        self.conn = conn

    def on_text(self, data: ws.TextData) -> None:
        item: SessionMessage | Exception
        try:
            raw = data if isinstance(data, str | bytes) else bytes(data)
            item = SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(raw, by_name=False))
        except ValidationError as exc:
            log.warning("server sent a message that is not valid JSON-RPC/MCP; passing the error to the session")
            item = exc
        try:
            self.writer.send_nowait(item)
        except anyio.WouldBlock:
            log.error(
                "the MCP session stopped reading (%d messages queued); closing",
                self.writer.statistics().current_buffer_used,
            )
            if self.conn is not None:
                self.conn.close(CloseCode.POLICY_VIOLATION, "client not reading")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the session is gone; nothing to deliver to

    def on_close(self, code: int, reason: str) -> None:
        if code not in (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY):
            log.info("WebSocket closed with %d %s", code, reason)
        self.closed.set()
        self.writable.set()  # wake a writer waiting on backpressure: it will see the close
        self.writer.close()

    def on_writable(self) -> None:
        self.writable.set()


@contextlib.asynccontextmanager
async def websocket_transport(
    url: str,
    *,
    token: str | None = None,
    token_in_subprotocol: bool = False,
    ssl: ssl_module.SSLContext | None = None,
    backend: ws.Backend = ws.DEFAULT_BACKEND,
    options: ws.WireOptions | None = None,
    max_queued_messages: int = MAX_QUEUED_MESSAGES,
    close_timeout_s: float = CLOSE_TIMEOUT_S,
) -> AsyncIterator[SdkStreams]:
    """Connect to a TradingMCP server (``ws://`` or ``wss://`` ``url``) for the official MCP SDK.

    Args:
        url: the MCP endpoint, e.g. ``"ws://127.0.0.1:8765/mcp"``.
        token: bearer token, sent as ``Authorization: Bearer <token>``; never logged.
        token_in_subprotocol: send the token as the subprotocol ``auth.<token>`` next to ``mcp`` instead (what
            browser-style clients that cannot set headers do).
        ssl: TLS context for ``wss://`` (``tradingmcp.transport.tls.client_ssl_context``); None uses the system trust
            store for ``wss://``.
        backend: WebSocket library under the wire, ``"picows"`` (default) or ``"websockets"``.
        options: wire limits and heartbeats (:class:`~tradingmcp.transport.ws.WireOptions`).
        max_queued_messages: inbound messages (count) buffered for the SDK before the connection is closed with 1008.
        close_timeout_s: on exit, time (s) to flush outbound messages and finish the close handshake.

    Yields:
        ``(read_stream, write_stream)``: ``read_stream`` yields :class:`SessionMessage` or an ``Exception`` for a
        frame that failed validation; ``write_stream`` takes :class:`SessionMessage`.

    Raises:
        tradingmcp.transport.ws.HandshakeRejected: the server answered the upgrade with HTTP 401 (bad or missing
            token), 403 (Origin/Host), 400, 404 or 503.
        ConnectionError: refused, reset, or the server did not select the ``mcp`` subprotocol.
        TimeoutError: the WebSocket handshake took longer than ``options.open_timeout_s``.
    """
    headers: dict[str, str] = {}
    subprotocols: tuple[str, ...] = ("mcp",)
    if token:
        if token_in_subprotocol:
            subprotocols = ("mcp", f"{AUTH_SUBPROTOCOL_PREFIX}{token}")
        else:
            headers["Authorization"] = f"Bearer {token}"

    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](max_queued_messages)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    inbound = _Inbound(read_writer)
    try:
        conn = await ws.connect(
            url,
            inbound,
            subprotocols=subprotocols,
            headers=headers,
            ssl=ssl,
            backend=backend,
            options=options or ws.WireOptions(),
        )
    except BaseException:
        for stream in (read_writer, read_stream, write_stream, write_reader):
            stream.close()
        raise

    writer_done = asyncio.Event()

    async def write_loop() -> None:
        try:
            async with write_reader:
                async for message in write_reader:
                    if inbound.closed.is_set():
                        break
                    while conn.writing_paused and not inbound.closed.is_set():
                        inbound.writable.clear()
                        await inbound.writable.wait()
                    if inbound.closed.is_set():
                        break
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True).encode()
                    try:
                        conn.send_text(data)
                    except Exception:  # the socket died under us: end like a close (no library error leaks out)
                        log.warning("sending on the WebSocket failed; treating the connection as closed", exc_info=True)
                        break
        finally:
            writer_done.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_loop)
            try:
                yield read_stream, write_stream
            finally:
                with anyio.CancelScope(shield=True):
                    write_stream.close()  # the writer flushes what was already handed over, then ends
                    with anyio.move_on_after(close_timeout_s):
                        await writer_done.wait()
                    tg.cancel_scope.cancel()
                    conn.close(CloseCode.NORMAL_CLOSURE, "client closing")
                    with anyio.move_on_after(close_timeout_s):
                        await inbound.closed.wait()
    finally:
        for stream in (read_writer, read_stream, write_stream, write_reader):
            stream.close()


__all__ = ["CLOSE_TIMEOUT_S", "MAX_QUEUED_MESSAGES", "SdkStreams", "websocket_transport"]
