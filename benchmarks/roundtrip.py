"""Client side of the round-trip scenarios: one :class:`RoundTrip` per scenario, all in the benchmark process.

``await rt.call()`` sends one request and returns when its answer arrived. Raw echo clients send the exact bytes of
our ``tools/call`` request (same size) and match answers in order (FIFO futures), so several may be in flight
(``rt.concurrent``). The MCP clients are the real ones: ours (:func:`tradingmcp.client.session.connect`) and the
official SDK's ``mcp.Client`` over stdio and Streamable HTTP. ``jsonrpc-min`` is the least JSON-RPC work on the same
stack (orjson both ways, futures by id): the bound any Python MCP implementation on picows + orjson starts from.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from pathlib import Path
from typing import Any, Protocol, cast

import orjson

from tradingmcp.benchmarks import config as C
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.ws import set_nodelay


class RoundTrip(Protocol):
    """One connected client of one scenario."""

    name: str
    concurrent: bool

    async def call(self) -> None:
        """One request/answer round trip. Raises ConnectionError when the link is gone."""
        ...

    async def close(self) -> None: ...


def request_bytes(payload: str) -> bytes:
    """The JSON-RPC ``tools/call`` request our client sends for ``echo`` (what the raw echoes bounce)."""
    return jsonrpc.encode_request(1, "tools/call", {"name": "echo", "arguments": {"text": payload}})


class _Fifo:
    """Futures answered in order; every pending one fails when the link is lost."""

    def __init__(self) -> None:
        self.pending: deque[asyncio.Future[None]] = deque()
        self.lost: BaseException | None = None

    def new(self) -> asyncio.Future[None]:
        if self.lost is not None:
            raise ConnectionError(f"connection lost: {self.lost}")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(fut)
        return fut

    def answer(self) -> None:
        if self.pending:
            fut = self.pending.popleft()
            if not fut.done():
                fut.set_result(None)

    def fail(self, exc: BaseException) -> None:
        self.lost = exc
        while self.pending:
            fut = self.pending.popleft()
            if not fut.done():
                fut.set_exception(ConnectionError(f"connection lost: {exc}"))


class _TcpClient(asyncio.Protocol):
    def __init__(self, size: int) -> None:
        self.size = size
        self.received = 0
        self.fifo = _Fifo()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        while self.received >= self.size:
            self.received -= self.size
            self.fifo.answer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fifo.fail(exc or ConnectionResetError("closed"))


class TcpRoundTrip:
    """Raw TCP echo of a message the size of our request (the floor)."""

    concurrent = True

    def __init__(self, name: str, proto: _TcpClient, message: bytes) -> None:
        self.name = name
        self._proto = proto
        self._msg = message

    async def call(self) -> None:
        fut = self._proto.fifo.new()
        assert self._proto.transport is not None
        self._proto.transport.write(self._msg)
        await fut

    async def close(self) -> None:
        if self._proto.transport is not None:
            self._proto.transport.close()


class PicowsRoundTrip:
    """Raw picows echo: text frame out, text frame back."""

    concurrent = True

    def __init__(self, name: str, transport: Any, fifo: _Fifo, message: bytes) -> None:
        self.name = name
        self._t = transport
        self._fifo = fifo
        self._msg = message

    async def call(self) -> None:
        import picows

        fut = self._fifo.new()
        self._t.send(picows.WSMsgType.TEXT, self._msg)
        await fut

    async def close(self) -> None:
        self._t.disconnect()


class JsonRpcMinRoundTrip:
    """The least a JSON-RPC client on picows + orjson does: ``dumps`` the request with a fresh id, ``loads`` the
    response, resolve the future waiting on that id (no validation, no deadlines, no notification routing)."""

    concurrent = True

    def __init__(self, name: str, payload: str) -> None:
        import picows

        self.name = name
        self.transport: Any = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.lost: BaseException | None = None
        self._params = {"name": "echo", "arguments": {"text": payload}}
        self._next_id = 0
        self._text = picows.WSMsgType.TEXT

    async def call(self) -> None:
        if self.lost is not None:
            raise ConnectionError(f"connection lost: {self.lost}")
        self._next_id += 1
        rid = self._next_id
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        request = {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": self._params}
        self.transport.send(self._text, orjson.dumps(request))
        await fut

    def on_response(self, data: memoryview) -> None:
        msg = orjson.loads(data)
        fut = self.pending.pop(msg["id"], None)
        if fut is not None and not fut.done():
            fut.set_result(msg["result"])

    def fail(self, exc: BaseException) -> None:
        self.lost = exc
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError(f"connection lost: {exc}"))
        self.pending.clear()

    async def close(self) -> None:
        self.transport.disconnect()


class WebsocketsRoundTrip:
    """Raw websockets echo: ``send`` then ``recv`` (one in flight)."""

    concurrent = False

    def __init__(self, name: str, ws: Any, message: str) -> None:
        self.name = name
        self._ws = ws
        self._msg = message

    async def call(self) -> None:
        await self._ws.send(self._msg)
        await self._ws.recv()

    async def close(self) -> None:
        await self._ws.close()


class McpRoundTrip:
    """Our client: ``call_tool("echo", {"text": ...})``."""

    concurrent = True

    def __init__(self, name: str, client: Any, payload: str) -> None:
        self.name = name
        self._client = client
        self._args = {"text": payload}

    async def call(self) -> None:
        await self._client.call_tool("echo", self._args)

    async def check(self) -> None:
        result = await self._client.call_tool("echo", self._args)
        if result.get("structuredContent") != self._args:
            raise AssertionError(f"{self.name}: echo returned {result!r}")

    async def close(self) -> None:
        await self._client.close()


class SdkRoundTrip:
    """The official SDK client (``mcp.Client``); opened and closed in the same task (anyio cancel scopes)."""

    concurrent = False

    def __init__(self, name: str, stack: contextlib.AsyncExitStack, client: Any, payload: str) -> None:
        self.name = name
        self._stack = stack
        self._client = client
        self._payload = payload
        self._args = {"text": payload}

    async def call(self) -> None:
        await self._client.call_tool("echo", self._args)

    async def check(self) -> None:
        result = await self._client.call_tool("echo", self._args)
        texts = [getattr(block, "text", None) for block in result.content]
        if self._payload not in texts:
            raise AssertionError(f"{self.name}: echo returned {result!r}")

    async def close(self) -> None:
        await self._stack.aclose()


class _HttpClient(asyncio.Protocol):
    """A lean HTTP/1.1 keep-alive client: one request at a time; a response ends at its ``Content-Length`` or its
    last chunk (``Transfer-Encoding: chunked``); the body of the last response is kept in ``body``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.body = b""
        self.waiter: asyncio.Future[None] | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        length: int | None = None
        for line in bytes(self.buf[:end]).lower().split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
        start = end + 4
        if length is not None:
            if len(self.buf) < start + length:
                return
            self.body = bytes(self.buf[start : start + length])
            del self.buf[: start + length]
        else:  # chunked
            last = self.buf.find(b"\r\n0\r\n\r\n", start - 2)
            if last < 0:
                return
            self.body = bytes(self.buf[start:last])
            del self.buf[: last + 7]
        self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("closed")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {self.lost}"))


class HttpPostRoundTrip:
    """A 2026-07-28 ``tools/call`` per POST over one keep-alive connection (the same request bytes every time:
    stateless requests need no fresh id), answered as JSON."""

    concurrent = False

    def __init__(self, name: str, proto: _HttpClient, request: bytes) -> None:
        self.name = name
        self._proto = proto
        self._request = request

    async def call(self) -> None:
        proto = self._proto
        if proto.lost is not None or proto.transport is None:
            raise ConnectionError(f"connection lost: {proto.lost}")
        proto.waiter = fut = asyncio.get_running_loop().create_future()
        proto.transport.write(self._request)
        await fut

    async def check(self) -> None:
        await self.call()
        if b'"structuredContent"' not in self._proto.body and b"xxxx" not in self._proto.body:
            raise AssertionError(f"{self.name}: echo returned {self._proto.body[:300]!r}")

    async def close(self) -> None:
        if self._proto.transport is not None:
            self._proto.transport.close()


def http_post_request(port: int, payload: str) -> bytes:
    """The bytes of one 2026-07-28 ``tools/call`` of ``echo`` POSTed to ``/mcp`` (headers mirrored, as the SDK sends)."""
    from tradingmcp.transport.mcpnames import LATEST_MODERN, META_CLIENT_CAPS, META_VERSION

    params = {
        "name": "echo",
        "arguments": {"text": payload},
        "_meta": {META_VERSION: LATEST_MODERN, META_CLIENT_CAPS: {}},
    }
    body = jsonrpc.encode_request(1, "tools/call", params)
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {LATEST_MODERN}\r\n"
        f"Mcp-Method: tools/call\r\nMcp-Name: echo\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def dial_http_post(scenario: str, port: int, payload: str) -> HttpPostRoundTrip:
    """A keep-alive HTTP/1.1 connection to ``127.0.0.1:port`` posting the ``echo`` call (checked once)."""
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(_HttpClient, "127.0.0.1", port)
    rt = HttpPostRoundTrip(scenario, proto, http_post_request(port, payload))
    await rt.check()
    return rt


async def dial(scenario: str, info: dict[str, Any] | None, payload: str, cert_dir: Path | None) -> RoundTrip:
    """Connect the client of ``scenario`` to its server (``info`` from the server child; None for stdio).

    Raises:
        ValueError: unknown scenario. OSError / ConnectionError: the server is unreachable.
    """
    msg = request_bytes(payload)
    port = int(info["port"]) if info else 0
    if scenario == C.TCP_FLOOR:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: _TcpClient(len(msg)), "127.0.0.1", port)
        return TcpRoundTrip(scenario, proto, msg)
    if scenario == C.PICOWS_ECHO:
        return await _dial_picows(scenario, f"ws://127.0.0.1:{port}/", msg)
    if scenario == C.JSONRPC_MIN:
        return await _dial_jsonrpc_min(f"ws://127.0.0.1:{port}/", payload)
    if scenario == C.WEBSOCKETS_ECHO:
        from websockets.asyncio.client import connect as ws_connect

        conn = await ws_connect(f"ws://127.0.0.1:{port}/", compression=None, ping_interval=None)
        return WebsocketsRoundTrip(scenario, conn, msg.decode())
    if scenario in (C.MCP_WS_PICOWS, C.MCP_WS_WEBSOCKETS, C.MCP_WSS_PICOWS, C.MCP_WSS_WEBSOCKETS):
        return await dial_mcp(scenario, info or {}, payload, cert_dir)
    if scenario in C.HTTP_POST_SCENARIOS:
        return await dial_http_post(scenario, port, payload)
    if scenario in C.SDK_SCENARIOS:
        return await _dial_sdk(scenario, info, payload)
    raise ValueError(f"unknown scenario {scenario!r}")


def backend_of(scenario: str) -> str:
    return "websockets" if scenario.endswith("websockets") else "picows"


async def dial_mcp(scenario: str, info: dict[str, Any], payload: str, cert_dir: Path | None) -> McpRoundTrip:
    """Our client to our server (``wss`` verifies the dev CA in ``cert_dir``)."""
    from tradingmcp.client.session import connect
    from tradingmcp.transport import ws
    from tradingmcp.transport.tls import client_ssl_context

    tls = scenario.startswith("mcp-wss")
    if tls and cert_dir is None:
        raise ValueError(f"{scenario} needs the dev certificates")
    ssl = client_ssl_context(cert_dir / "ca.pem") if tls and cert_dir is not None else None
    client = await connect(
        str(info["url"]),
        backend=backend_of(scenario),
        ssl=ssl,
        reconnect=False,
        timeout_s=30.0,
        wire=ws.WireOptions(ping_interval_s=0),
    )
    return McpRoundTrip(scenario, client, payload)


async def _dial_picows(name: str, url: str, msg: bytes, headers: dict[str, str] | None = None) -> PicowsRoundTrip:
    """A raw picows client bouncing ``msg`` (``headers``: extra upgrade headers, e.g. the ``mcp`` subprotocol)."""
    import picows

    fifo = _Fifo()

    class Listener(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.TEXT:
                fifo.answer()

        def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
            fifo.fail(ConnectionResetError("disconnected"))

    transport, _ = await picows.ws_connect(Listener, url, extra_headers=headers)
    return PicowsRoundTrip(name, transport, fifo, msg)


async def _dial_jsonrpc_min(url: str, payload: str) -> JsonRpcMinRoundTrip:
    import picows

    rt = JsonRpcMinRoundTrip(C.JSONRPC_MIN, payload)

    class Listener(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.TEXT:
                rt.on_response(frame.get_payload_as_memoryview())

        def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
            rt.fail(ConnectionResetError("disconnected"))

    rt.transport, _ = await picows.ws_connect(Listener, url)
    return rt


async def _dial_sdk(scenario: str, info: dict[str, Any] | None, payload: str) -> SdkRoundTrip:
    from mcp import Client, StdioServerParameters, stdio_client

    stack = contextlib.AsyncExitStack()
    try:
        if scenario == C.SDK_STDIO:
            params = StdioServerParameters(command=sys.executable, args=["-m", "tradingmcp.benchmarks.sdk_server"])
            # the process's real stderr: a replaced sys.stderr (pytest capture) may have no file descriptor
            errlog = sys.__stderr__ if sys.__stderr__ is not None else sys.stderr
            client = await stack.enter_async_context(Client(stdio_client(params, errlog=errlog)))
        else:
            assert info is not None
            client = await stack.enter_async_context(Client(str(info["url"])))
    except BaseException:
        await stack.aclose()
        raise
    return SdkRoundTrip(scenario, stack, client, payload)
