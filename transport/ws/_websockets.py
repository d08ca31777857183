"""websockets backend (asyncio streams): a reader task and a writer task per connection. Supported, not the default."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl as ssl_module
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.http11 import Request, Response

from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.ws import (
    Accept,
    BinarySink,
    Connection,
    FrameHandler,
    HandshakeRejected,
    HttpResponse,
    UpgradeFactory,
    WireOptions,
    _headers_dict,
    _request,
    peername,
    set_nodelay,
)

WsProto = ServerConnection | ClientConnection
_SECRET = re.compile(r"(?i)(bearer\s+|auth\.)[^\s,]+")


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """websockets logs every handshake header at DEBUG; mask tokens (``Bearer <token>``, ``auth.<token>``) in them."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if args:
            args = tuple(_SECRET.sub(r"\1***", a) if isinstance(a, str) else a for a in args)
        super().log(level, msg, *args, **kwargs)


class _WsConnection(Connection):
    def __init__(
        self, ws: WsProto, handler: FrameHandler, options: WireOptions, on_binary: BinarySink | None = None
    ) -> None:
        self._ws = ws
        self._handler = handler
        self._opts = options
        self._on_binary = on_binary  # None: a binary message closes with 1003 (always so on the server side)
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._closing: tuple[int, str] | None = None
        self.subprotocol = ws.subprotocol
        self.remote = peername(ws.transport)
        set_nodelay(ws.transport)
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def send_text(self, data: bytes) -> None:
        if self._closed:
            return
        self._queue.append(data)
        self._queued += len(data)
        self._wake.set()
        if self._queued > self._opts.write_high_bytes:
            self.writing_paused = True

    async def _write_loop(self) -> None:
        ws = self._ws
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    data = self._queue.popleft()
                    self._queued -= len(data)
                    await ws.send(data, text=True)
                    if self.writing_paused and self._queued < self._opts.write_low_bytes:
                        self.writing_paused = False
                        self._handler.on_writable()
                if self._closing is not None:
                    await ws.close(*self._closing)
                    return
        except ConnectionClosed:
            pass

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        self._closing = (int(code), reason)  # the writer drains what is queued, then closes
        loop = asyncio.get_running_loop()
        if code not in (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY):
            # an error close (1008 slow consumer, ...): drop what is queued instead of waiting behind it
            self._queue.clear()
            self._queued = 0
            self._writer.cancel()
            self._writer = loop.create_task(self._ws.close(int(code), reason))
        self._wake.set()
        # a peer that does not take the close within ping_timeout_s (it stopped reading) is dropped: the writer may be
        # stuck in drain() and websockets' own close timeout only starts after that
        loop.call_later(self._opts.ping_timeout_s, self._abort)

    def _abort(self) -> None:
        transport = self._ws.transport
        if transport is not None and self._ws.close_code is None:
            transport.abort()

    def write_buffer_size(self) -> int:
        transport = self._ws.transport
        return self._queued + (int(transport.get_write_buffer_size()) if transport is not None else 0)

    @property
    def closed(self) -> bool:
        return self._closed or self._ws.close_code is not None

    async def read_loop(self) -> None:
        """Deliver messages to the handler until the connection ends, then ``on_close``."""
        ws, handler = self._ws, self._handler
        try:
            async for message in ws:
                if isinstance(message, str):
                    handler.on_text(message)
                elif self._on_binary is not None:
                    self._on_binary(message)
                else:
                    self._closed = True
                    await ws.close(int(CloseCode.UNSUPPORTED_DATA), "binary frames are not supported; send JSON text")
                    break
        except ConnectionClosed:
            pass
        finally:
            self._closed = True
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            rcvd = ws.protocol.close_rcvd or ws.protocol.close_sent
            code = int(rcvd.code) if rcvd is not None else int(CloseCode.ABNORMAL_CLOSURE)
            handler.on_close(code, rcvd.reason if rcvd is not None else "")


class _Server:
    def __init__(self, server: Any) -> None:
        self._server = server
        self._port = int(next(iter(server.sockets)).getsockname()[1])  # still known after close()

    @property
    def port(self) -> int:
        return self._port

    async def close(self) -> None:
        # Stop listening only: websockets' default close() would send 1001 to every live connection at once (before
        # in-flight calls are answered) and wait_closed() would wait for them; McpServer.stop drains and closes them.
        self._server.server.close()
        self._server.close(close_connections=False)


def _response(resp: HttpResponse) -> Response:
    headers = Headers([("Content-Type", resp.content_type), ("Content-Length", str(len(resp.body))), *resp.headers])
    from http import HTTPStatus

    return Response(resp.status, HTTPStatus(resp.status).phrase, headers, resp.body)


async def serve(
    factory: UpgradeFactory, host: str, port: int, ssl: ssl_module.SSLContext | None, options: WireOptions
) -> _Server:
    accepted: dict[int, Accept] = {}

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        decision = factory(_request(request.path, _headers_dict(request.headers.raw_items())))
        if isinstance(decision, HttpResponse):
            return _response(decision)
        accepted[id(connection)] = decision
        return None

    def select_subprotocol(connection: ServerConnection, subprotocols: Any) -> Any:
        decision = accepted.get(id(connection))
        return decision.subprotocol if decision is not None else None

    async def handler(ws: ServerConnection) -> None:
        decision = accepted.pop(id(ws))
        conn = _WsConnection(ws, decision.handler, options)
        decision.handler.on_open(conn)
        await conn.read_loop()

    ping = options.ping_interval_s if options.ping_interval_s > 0 else None
    server = await ws_serve(
        handler,
        host,
        port,
        ssl=ssl,
        process_request=process_request,
        select_subprotocol=select_subprotocol,
        max_size=options.max_message_bytes,
        ping_interval=ping,
        ping_timeout=options.ping_timeout_s if ping else None,
        close_timeout=options.ping_timeout_s,  # a peer that answers no ping is not waited for 10 s more to close
        open_timeout=options.open_timeout_s,
        compression=None,
        logger=_RedactingLogger(logging.getLogger("websockets.server")),
    )
    return _Server(server)


async def connect(
    url: str,
    handler: FrameHandler,
    subprotocols: tuple[str, ...],
    headers: dict[str, str],
    ssl: ssl_module.SSLContext | None,
    options: WireOptions,
    on_binary: BinarySink | None = None,
) -> Connection:
    ping = options.ping_interval_s if options.ping_interval_s > 0 else None
    try:
        ws = await ws_connect(
            url,
            subprotocols=list(subprotocols) or None,  # type: ignore[arg-type]
            additional_headers=headers,
            ssl=ssl,
            max_size=options.max_message_bytes,
            ping_interval=ping,
            ping_timeout=options.ping_timeout_s if ping else None,
            close_timeout=options.ping_timeout_s,
            open_timeout=options.open_timeout_s,
            compression=None,
            logger=_RedactingLogger(logging.getLogger("websockets.client")),
        )
    except InvalidStatus as exc:
        raise HandshakeRejected(exc.response.status_code, bytes(exc.response.body or b"")) from None
    except InvalidHandshake as exc:
        raise ConnectionError(str(exc)) from None
    conn = _WsConnection(ws, handler, options, on_binary)
    handler.on_open(conn)
    asyncio.get_running_loop().create_task(conn.read_loop())
    return conn
