"""The TradingMCP client library: MCP over WebSocket with timeouts, notifications and automatic reconnect.

Usage::

    async with await connect("wss://host:8765/mcp", token="...", ssl=client_ssl_context("certs/ca.pem")) as mcp:
        tools = await mcp.list_tools()
        result = await mcp.call_tool("get_ticker", {"symbol": "BTCUSDT"})
        await mcp.subscribe("trades:sim:BTCUSDT")
        async for note in mcp.notifications():
            print(note.method, note.params)

Reconnect: when the link drops the client reconnects with jittered exponential backoff, re-initializes and re-subscribes
everything that was subscribed (streams and resources). Streams resume: the client remembers the last ``seq`` (and
epoch) of each (:attr:`McpClient.stream_seqs`) and resubscribes with ``since_seq``, so the server replays what was
missed first (no gap, no duplicate while its window holds it; otherwise the loss is counted, see
:class:`~tradingmcp.client.core.StreamSeqs`). Calls in flight when the link dropped fail with
:class:`ConnectionLost` and are NEVER re-sent (an order must not be placed twice): the caller decides, e.g. by querying
the order by its client order id.

Asking the client: with handlers (``connect(url, elicitation=..., sampling=..., roots=...)``, see
:mod:`tradingmcp.client.features`) the client declares those capabilities and answers a server that asks for input:
in the 2025-11-25 era the server's own requests (``elicitation/create``, ``sampling/createMessage``, ``roots/list``),
in 2026-07-28 the input-required results of :meth:`McpClient.call_tool`, :meth:`McpClient.get_prompt` and
:meth:`McpClient.read_resource`, which retry with the answers until the final result (:mod:`tradingmcp.client.rounds`;
:meth:`McpClient.request` and :meth:`McpClient.start_tool_call` return an input-required result as it came). Without
handlers nothing is declared and such a server answers ``-32021``.

Errors (all in :mod:`tradingmcp.client.errors`): :class:`RpcError` (a JSON-RPC error response: ``code``, ``message``,
``data``), :class:`RequestTimeout`, :class:`ConnectionLost`, :class:`~tradingmcp.transport.ws.HandshakeRejected` (e.g.
HTTP 401 on a bad token: not retried), :class:`InputRequiredError` (input the client could not give).

Layout: this module is the connection shell (connect, reconnect, close) plus the MCP operations. Under it, the calls in
flight and the notifications on the event loop live in :mod:`tradingmcp.client.shell` (which it inherits), request
deadlines in :mod:`tradingmcp.client.deadlines`, and the protocol itself (ids, era, handshake, bytes out, events in) in
the loop-free :mod:`tradingmcp.client.core`; settings in :mod:`tradingmcp.client.options`. Every public name stays
importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tradingmcp.client.core import CLIENT_INFO, Notification
from tradingmcp.client.errors import ConnectionLost, InputRequiredError, McpClientError, RequestTimeout, RpcError
from tradingmcp.client.features import ClientFeatures, Handler, RootsSource
from tradingmcp.client.options import HANDSHAKE_VERSION, MODERN_VERSION, ClientOptions
from tradingmcp.client.rounds import INPUT_REQUIRED
from tradingmcp.client.shell import ClientShell
from tradingmcp.transport import ws
from tradingmcp.transport.backoff import backoff

log = logging.getLogger("tradingmcp.client")

__all__ = [
    "CLIENT_INFO",
    "HANDSHAKE_VERSION",
    "MODERN_VERSION",
    "ClientFeatures",
    "ClientOptions",
    "ConnectionLost",
    "InputRequiredError",
    "McpClient",
    "McpClientError",
    "Notification",
    "RequestTimeout",
    "RpcError",
    "connect",
]


class _Link:
    """FrameHandler for one physical connection; stale events of an old link never touch a newer one.

    ``on_text`` is the client's message handler itself while the link is open (no extra frame on the hot path) and a
    no-op once it closed.
    """

    __slots__ = ("client", "conn", "on_text", "open")

    def __init__(self, client: McpClient) -> None:
        self.client = client
        self.conn: ws.Connection | None = None
        self.open = True
        self.on_text: Callable[[ws.TextData], None] = client._on_text

    def on_open(self, conn: ws.Connection) -> None:
        self.conn = conn

    def on_close(self, code: int, reason: str) -> None:
        if self.open:
            self.open = False
            self.on_text = _ignore
            self.client._on_link_closed(self, code, reason)

    def on_writable(self) -> None:
        pass


def _ignore(data: ws.TextData) -> None:
    """``on_text`` of a closed link."""


class McpClient(ClientShell):
    """An MCP client session over WebSocket. Create with :func:`connect`.

    Args:
        url: the server's ``ws://`` / ``wss://`` URL. options: the settings (None: the defaults).
        elicitation, sampling, roots: the handlers that answer a server's requests for input (see
            :mod:`tradingmcp.client.features`); each declares its capability, none declares nothing.

    Raises:
        InputRequiredError: a handler that is not one (not callable; roots not a list of ``{"uri": str}``).

    Attributes:
        url: the server's ``ws://`` / ``wss://`` URL.
        server_info, server_capabilities, protocol_version: what the server announced.
        connected: set while connected, initialized and (after a reconnect) re-subscribed.
        reconnects: successful reconnects so far. last_close: ``(code, reason)`` of the last dropped link.
        streams, resource_uris: what is subscribed (restored after a reconnect).
        dropped_notifications: notifications dropped because the buffer was full.
        in_flight, buffered_notifications, deadline_queue, send_sweep: what is pending, for tests and monitors.
    """

    def __init__(
        self,
        url: str,
        options: ClientOptions | None = None,
        *,
        elicitation: Handler | None = None,
        sampling: Handler | None = None,
        roots: RootsSource | None = None,
    ) -> None:
        super().__init__(options or ClientOptions(), ClientFeatures(elicitation, sampling, roots))
        self.url = url
        self.reconnects = 0
        self.connected = asyncio.Event()
        self.last_close: tuple[int, str] | None = None
        self.streams: set[str] = set()
        self.resource_uris: set[str] = set()
        self._link: _Link | None = None
        self._reconnect_task: asyncio.Task[None] | None = None

    @property
    def server_info(self) -> dict[str, Any]:
        """``serverInfo`` the server announced (``name``, ``version``); ``{}`` before the first greeting."""
        return self._core.server_info

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """``capabilities`` the server announced; ``{}`` before the first greeting."""
        return self._core.server_capabilities

    @property
    def protocol_version(self) -> str | None:
        """The protocol version in use (the server's answer to ``initialize``, or the 2026-07-28 version asked for);
        None before the first greeting."""
        return self._core.protocol_version

    # ---------------------------------------------------------------- connection
    async def _open(self) -> None:
        opts = self.options
        headers: dict[str, str] = {}
        subprotocols: tuple[str, ...] = ("mcp",)
        if opts.token:
            if opts.token_in_subprotocol:
                subprotocols = ("mcp", f"auth.{opts.token}")
            else:
                headers["Authorization"] = f"Bearer {opts.token}"
        link = _Link(self)
        self._bind(asyncio.get_running_loop())
        await ws.connect(
            self.url,
            link,
            subprotocols=subprotocols,
            headers=headers,
            ssl=opts.ssl,
            backend=opts.backend,
            options=opts.wire,
        )
        self._link = link
        self._conn = link.conn
        core = self._core
        rid, data = core.greeting()
        fut = self._send_request(rid, data, core.greeting_method, None)
        try:
            result = await fut
        except asyncio.CancelledError:
            self._forget(rid)
            raise
        initialized = core.greeted(result)
        if initialized is not None:
            self._send(initialized)

    async def _resubscribe(self) -> None:
        for key in sorted(self.streams):
            await self._subscribe_stream(key)
        for uri in sorted(self.resource_uris):
            await self.request("resources/subscribe", {"uri": uri})

    def _on_link_closed(self, link: _Link, code: int, reason: str) -> None:
        if link is not self._link:
            return
        self._link = None
        self._conn = None
        self._core.link_closed()
        self.connected.clear()
        self.last_close = (code, reason)
        self._fail_pending(
            ConnectionLost(f"connection closed ({code} {reason}) while the call was in flight; it was not re-sent")
        )
        if self.options.reconnect and not self._closing and self._reconnect_task is None:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        try:
            for delay in backoff(self.options.backoff_initial_s, 2.0, self.options.backoff_max_s):
                if self._closing:
                    return
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    await self._resubscribe()
                except ws.HandshakeRejected as exc:
                    if exc.status in (401, 403):
                        log.error("reconnect refused with HTTP %d; giving up", exc.status)
                        return
                    continue
                except (OSError, TimeoutError, McpClientError) as exc:
                    log.info("reconnect failed: %s", exc)
                    if self._link is not None and self._link.conn is not None:
                        self._link.conn.close()
                    continue
                self.reconnects += 1
                self.connected.set()  # only now: initialized AND every subscription restored
                log.info("reconnected to %s (reconnect #%d)", self.url, self.reconnects)
                return
        finally:
            self._reconnect_task = None

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until the client is connected, initialized and (after a reconnect) re-subscribed.

        Raises:
            TimeoutError: not connected within ``timeout_s`` (default ``options.timeout_s``).
        """
        async with asyncio.timeout(timeout_s if timeout_s is not None else self.options.timeout_s):
            await self.connected.wait()

    async def close(self) -> None:
        """Close the connection; no reconnect afterwards."""
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
        link = self._link
        if link is not None and link.conn is not None:
            link.conn.close()
        self._close_deadlines()
        self._stop_answering()
        self._notes_ready.set()

    async def __aenter__(self) -> McpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- MCP operations
    async def list_tools(self) -> list[dict[str, Any]]:
        """All tools (follows ``nextCursor``)."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.request("tools/list", {"cursor": cursor} if cursor else {})
            tools += page.get("tools", [])
            cursor = page.get("nextCursor")
            if not cursor:
                return tools

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Call a tool; returns the ``CallToolResult`` dict (``content``, ``structuredContent``, ``isError``).

        A 2026-07-28 input-required result is answered by the client's handlers and the call retried until the tool's
        final result (each retry with its own ``timeout_s``).

        Args:
            name: the tool's name. arguments: its arguments (dict). timeout_s: as :meth:`request`.
            on_progress: called with each ``notifications/progress`` params dict of this call (and of its retries).

        Raises:
            RpcError, RequestTimeout, ConnectionLost: as :meth:`request`. InputRequiredError: input the client could
            not give (see :mod:`tradingmcp.client.rounds`).
        """
        result: dict[str, Any]
        if on_progress is None:
            rid, data = self._core.encode_tool_call(name, arguments)
            fut = self._send_request(rid, data, "tools/call", timeout_s)
            try:
                result = await fut
            except asyncio.CancelledError:
                self._forget(rid)
                raise
            if result.get("resultType") != INPUT_REQUIRED:
                return result
            params = {"name": name, "arguments": arguments or {}}
        else:
            params = {"name": name, "arguments": arguments or {}}
            result = await self._request_with_progress("tools/call", params, timeout_s, on_progress)
        return await self._drive_rounds("tools/call", params, result, timeout_s, on_progress)

    def start_tool_call(
        self, name: str, arguments: dict[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        """Write a ``tools/call`` request now, before returning, and return the future its result settles.

        For callers that decide inside a synchronous callback (:meth:`on_notification`): the request is on the wire
        without waiting for a task to start. Await the future (in a task) for what :meth:`call_tool` returns;
        cancelling it does not cancel the call on the server.

        Raises:
            ConnectionLost: not connected (raised here); the future fails with RpcError, RequestTimeout or
            ConnectionLost as :meth:`call_tool` does.
        """
        rid, data = self._core.encode_tool_call(name, arguments)
        return self._send_request(rid, data, "tools/call", timeout_s)

    async def subscribe(self, stream: str) -> dict[str, Any]:
        """Subscribe to a live stream (``notifications/tradingmcp/stream``); re-subscribed after reconnects, resuming
        after the last ``seq`` received. Returns the ``CallToolResult`` (its ``structuredContent``: the answer of the
        ``subscribe`` tool, with ``seq``, ``first_seq``, ``epoch``, ``resumed`` on a resume)."""
        result = await self._subscribe_stream(stream)
        if not result.get("isError"):
            self.streams.add(stream)
        return result

    async def _subscribe_stream(self, stream: str) -> dict[str, Any]:
        seqs = self.stream_seqs
        args = seqs.resume_args(stream)
        seqs.subscribing(stream)
        try:
            result = await self.call_tool("subscribe", args)
        except BaseException:
            if stream not in self.streams:
                seqs.forget(stream)
            raise
        if result.get("isError"):
            if stream not in self.streams:
                seqs.forget(stream)
            return result
        answer = result.get("structuredContent") or {}
        seqs.answered(stream, answer, args)
        if "since_seq" in args and answer.get("resumed") is not True:
            log.warning("stream %s: the server could not resume after seq %s", stream, args["since_seq"])
        return result

    async def unsubscribe(self, stream: str) -> dict[str, Any]:
        """Stop a live stream (no longer re-subscribed after reconnects)."""
        self.streams.discard(stream)
        self.stream_seqs.forget(stream)
        return await self.call_tool("unsubscribe", {"stream": stream})

    async def subscribe_resource(self, uri: str) -> None:
        """``resources/subscribe`` (``notifications/resources/updated``); re-subscribed after reconnects."""
        await self.request("resources/subscribe", {"uri": uri})
        self.resource_uris.add(uri)

    async def unsubscribe_resource(self, uri: str) -> None:
        """``resources/unsubscribe``."""
        self.resource_uris.discard(uri)
        await self.request("resources/unsubscribe", {"uri": uri})

    async def read_resource(self, uri: str, *, timeout_s: float | None = None) -> list[dict[str, Any]]:
        """``resources/read``: the resource's ``contents`` list (input-required rounds answered as in
        :meth:`call_tool`).

        Raises:
            RpcError, RequestTimeout, ConnectionLost, InputRequiredError: as :meth:`call_tool`.
        """
        params = {"uri": uri}
        result = await self._drive_rounds(
            "resources/read", params, await self.request("resources/read", params, timeout_s), timeout_s
        )
        contents: list[dict[str, Any]] = result.get("contents", [])
        return contents

    async def get_prompt(
        self, name: str, arguments: dict[str, str] | None = None, *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """``prompts/get``: the ``GetPromptResult`` dict (``messages``, ``description``?), input-required rounds
        answered as in :meth:`call_tool`.

        Args:
            name: the prompt's name. arguments: its arguments (strings). timeout_s: as :meth:`request`.

        Raises:
            RpcError, RequestTimeout, ConnectionLost, InputRequiredError: as :meth:`call_tool`.
        """
        params: dict[str, Any] = {"name": name}
        if arguments:
            params["arguments"] = arguments
        result = await self._drive_rounds(
            "prompts/get", params, await self.request("prompts/get", params, timeout_s), timeout_s
        )
        return result


async def connect(
    url: str,
    options: ClientOptions | None = None,
    *,
    elicitation: Handler | None = None,
    sampling: Handler | None = None,
    roots: RootsSource | None = None,
    **kwargs: Any,
) -> McpClient:
    """Connect and initialize. ``kwargs`` are :class:`ClientOptions` fields (``token=``, ``ssl=``, ...);
    ``elicitation``, ``sampling``, ``roots``: the handlers of :class:`McpClient`.

    Raises:
        InputRequiredError: a handler that is not one.
        HandshakeRejected: the server refused the upgrade (401 bad token, 403 origin/host).
        ConnectionError / OSError / TimeoutError: the server is unreachable.
    """
    if kwargs:
        options = ClientOptions(**{**(options.__dict__ if options else {}), **kwargs})
    client = McpClient(url, options, elicitation=elicitation, sampling=sampling, roots=roots)
    await client._open()
    client.connected.set()
    return client
