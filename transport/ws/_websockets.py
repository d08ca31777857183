"""websockets backend (asyncio streams): a reader task and a writer task per connection. Supported, not the default."""

from __future__ import annotations

import asyncio
import contextlib
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


class _WsConnection(Connection):
    def __init__(self, ws: WsProto, handler: FrameHandler, options: WireOptions) -> None:
        self._ws = ws
        self._handler = handler
        self._opts = options
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
        self._wake.set()

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

    @property
    def port(self) -> int:
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()


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
        open_timeout=options.open_timeout_s,
        compression=None,
    )
    return _Server(server)


async def connect(
    url: str,
    handler: FrameHandler,
    subprotocols: tuple[str, ...],
    headers: dict[str, str],
    ssl: ssl_module.SSLContext | None,
    options: WireOptions,
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
            open_timeout=options.open_timeout_s,
            compression=None,
        )
    except InvalidStatus as exc:
        raise HandshakeRejected(exc.response.status_code, bytes(exc.response.body or b"")) from None
    except InvalidHandshake as exc:
        raise ConnectionError(str(exc)) from None
    conn = _WsConnection(ws, handler, options)
    handler.on_open(conn)
    asyncio.get_running_loop().create_task(conn.read_loop())
    return conn
