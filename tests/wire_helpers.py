"""Shared pieces for the wire tests: a test app, a running server, and three kinds of raw client.

* :class:`RawClient`: our own ``tradingmcp.transport.ws.connect`` with a handler that records every frame (both backends).
* :class:`RawSocketWs`: a hand-rolled WebSocket client over a plain TCP socket (full frame control: it never answers
  pings and can stop reading), plus :func:`http_upgrade` for handshake-only checks (status and headers).
* the plain ``websockets`` client, used directly by the tests that need odd frames (binary, invalid UTF-8, fragments).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from tradingmcp.server.mcp.registry import McpApp, ToolError
from tradingmcp.server.mcp.replay import Retention
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.tools.subscriptions import register_stream_tools
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws

TIMEOUT_S = 5.0
"""Upper bound for any single await in these tests (s); generous for 2 noisy cores, never reached when all is well."""

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "symbol": {"type": "string", "minLength": 1},
        "order": {
            "type": "object",
            "properties": {"quantity": {"type": "number", "exclusiveMinimum": 0}},
            "required": ["quantity"],
        },
    },
    "required": ["symbol", "order"],
    "additionalProperties": False,
}


@dataclass
class Probe:
    """What the test app's tools saw (server side)."""

    calls: dict[str, int] = field(default_factory=dict)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    starts: list[str] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)

    def count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1


def make_app(probe: Probe | None = None, hub: StreamHub | None = None, page_size: int = 100) -> McpApp:
    """A small app: sync ``echo``, ``place_order`` (scope trade, schema with a nested path), async ``slow`` (sleeps,
    reports progress), async ``block`` (waits until released or cancelled), ``log_both`` (info + error log lines)."""
    p = probe or Probe()
    app = McpApp(name="wire-test", page_size=page_size)

    @app.tool("echo", "Echo x back.", {"type": "object", "properties": {"x": {}}})
    def echo(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        p.count("echo")
        return {"x": args.get("x")}

    @app.tool("place_order", "A trade-scoped tool.", ORDER_SCHEMA, scope="trade", read_only=False)
    def place_order(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        p.count("place_order")
        return {"accepted": True}

    @app.tool("fail", "Always a tool error.")
    def fail(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        raise ToolError("always fails", "test_failure")

    @app.tool(
        "slow",
        "Sleep delay_s seconds in steps, reporting progress.",
        {"type": "object", "properties": {"delay_s": {"type": "number", "minimum": 0}, "steps": {"type": "integer"}}},
    )
    async def slow(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        p.count("slow")
        steps = int(args.get("steps", 1))
        for i in range(steps):
            await asyncio.sleep(float(args.get("delay_s", 0.0)) / steps)
            call.progress(i + 1, steps, f"step {i + 1}")
        return {"slept": True}

    @app.tool("block", "Wait until the test releases it (or the call is cancelled).")
    async def block(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        p.count("block")
        p.started.set()
        try:
            await p.release.wait()
        except asyncio.CancelledError:
            p.cancelled.set()
            raise
        return {"released": True}

    @app.tool("log_both", "Log one info and one error line.")
    def log_both(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        call.log("info", {"msg": "info line"}, "wire-test")
        call.log("error", {"msg": "error line"}, "wire-test")
        return {}

    if hub is not None:
        register_stream_tools(app, hub)
    return app


def make_hub(probe: Probe, retention: Retention | None = None) -> StreamHub:
    """A hub with one source kind ``ticks`` that records start()/stop() in ``probe``."""
    hub = StreamHub(retention)
    hub.add_source(StreamSource("ticks", "test ticks", probe.starts.append, probe.stops.append))
    return hub


@asynccontextmanager
async def running(
    app: McpApp, backend: ws.Backend, hub: StreamHub | None = None, **config: Any
) -> AsyncIterator[McpServer]:
    """An McpServer on 127.0.0.1 (ephemeral port unless ``port=`` is given), stopped on exit."""
    config.setdefault("port", 0)
    srv = McpServer(app, ServerConfig(backend=backend, **config), streams=hub)
    async with asyncio.timeout(TIMEOUT_S):
        await srv.start()
    try:
        yield srv
    finally:
        async with asyncio.timeout(TIMEOUT_S + srv.config.drain_timeout_s):
            await srv.stop()


async def wait_until(pred: Any, timeout_s: float = TIMEOUT_S, step_s: float = 0.005) -> None:
    """Poll ``pred()`` until true; TimeoutError after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not pred():  # noqa: ASYNC110 - polling server-side state that has no event
            await asyncio.sleep(step_s)


# ---------------------------------------------------------------- our transport, recording frames


class Recorder:
    """A FrameHandler that keeps every received message (parsed JSON) and the close code."""

    def __init__(self) -> None:
        self.conn: ws.Connection | None = None
        self.messages: list[Any] = []
        self.raw: list[bytes] = []
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()

    def on_open(self, conn: ws.Connection) -> None:
        self.conn = conn

    def on_text(self, data: ws.TextData) -> None:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self.raw.append(raw)
        self.messages.append(orjson.loads(raw))
        self._changed.set()

    def on_close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))
        self._changed.set()

    def on_writable(self) -> None:
        pass

    async def wait_for(self, pred: Any, timeout_s: float = TIMEOUT_S) -> Any:
        """The first recorded message matching ``pred`` (waits for it)."""
        async with asyncio.timeout(timeout_s):
            while True:
                for m in self.messages:
                    if pred(m):
                        return m
                if self.closed.done():
                    raise ConnectionError(f"closed {self.closed.result()} before a matching message")
                self._changed.clear()
                await self._changed.wait()


class RawClient:
    """A JSON-RPC speaker over our own transport (no MCP client logic): send anything, read everything."""

    def __init__(self, rec: Recorder, conn: ws.Connection) -> None:
        self.rec = rec
        self.conn = conn
        self._next = 0

    def send(self, message: Any) -> None:
        self.conn.send_text(message if isinstance(message, bytes) else orjson.dumps(message))

    async def response(self, rid: Any, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
        msg: dict[str, Any] = await self.rec.wait_for(
            lambda m: isinstance(m, dict) and "method" not in m and m.get("id") == rid, timeout_s
        )
        return msg

    async def rpc(self, method: str, params: dict[str, Any] | None = None, timeout_s: float = TIMEOUT_S) -> Any:
        """Send a request with a fresh id and return the whole response object."""
        self._next += 1
        rid = f"r{self._next}"
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return await self.response(rid, timeout_s)

    async def initialize(self) -> None:
        resp = await self.rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}})
        assert "result" in resp, resp
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def ping_ok(self) -> None:
        """Assert this connection still answers ``ping``."""
        resp = await self.rpc("ping")
        assert resp.get("result") == {}, resp

    async def close(self) -> None:
        self.conn.close()
        async with asyncio.timeout(TIMEOUT_S):
            await self.rec.closed


async def open_raw(url: str, backend: ws.Backend, *, initialize: bool = True, **kwargs: Any) -> RawClient:
    rec = Recorder()
    async with asyncio.timeout(TIMEOUT_S):
        conn = await ws.connect(url, rec, backend=backend, **kwargs)
    client = RawClient(rec, conn)
    if initialize:
        await client.initialize()
    return client


# ---------------------------------------------------------------- raw TCP: handshake and frames by hand

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def _handshake_bytes(port: int, path: str, headers: Mapping[str, str], subprotocols: tuple[str, ...]) -> bytes:
    hdrs = {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    if subprotocols:
        hdrs["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
    hdrs.update(headers)
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in hdrs.items()), "", ""]
    return "\r\n".join(lines).encode()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def http_upgrade(
    port: int,
    *,
    headers: Mapping[str, str] | None = None,
    subprotocols: tuple[str, ...] = ("mcp",),
    path: str = "/mcp",
) -> tuple[int, dict[str, str]]:
    """Send one upgrade request over raw TCP; return the HTTP status and response headers (lower-case keys)."""
    async with asyncio.timeout(TIMEOUT_S):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(_handshake_bytes(port, path, headers or {}, subprotocols))
            return await _read_head(reader)
        finally:
            writer.close()


RSV1, RSV2, RSV3 = 0x40, 0x20, 0x10
"""The reserved bits of a frame's first byte (RFC 6455 §5.2)."""


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, rsv: int = 0) -> bytes:
    """One WebSocket frame (client frames are masked, RFC 6455 §5.3); ``rsv`` ORs reserved bits into the header."""
    head = bytearray([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 1 << 16:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, key)
    return bytes(head) + key + body


def _mask_fast(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


class RawSocketWs:
    """A WebSocket client over a raw TCP socket: it answers no pings, and reads only when asked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._rid = 0

    @classmethod
    async def open(
        cls,
        port: int,
        *,
        headers: Mapping[str, str] | None = None,
        rcvbuf_bytes: int | None = None,
        subprotocols: tuple[str, ...] = ("mcp",),
    ) -> RawSocketWs:
        """Connect and complete the upgrade (asserts 101). ``rcvbuf_bytes`` shrinks the socket's receive buffer."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf_bytes is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
        sock.setblocking(False)
        async with asyncio.timeout(TIMEOUT_S):
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 24)
            writer.write(_handshake_bytes(port, "/mcp", headers or {}, subprotocols))
            status, _ = await _read_head(reader)
        assert status == 101, status
        return cls(reader, writer)

    def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        self.writer.write(encode_frame(opcode, payload, fin=fin))

    def send_json(self, obj: Any) -> None:
        self.send_frame(OP_TEXT, orjson.dumps(obj))

    def request(self, method: str, params: dict[str, Any] | None = None) -> str:
        """Send a request; returns its id (read the answer with :meth:`read_until_id`)."""
        self._rid += 1
        rid = f"raw{self._rid}"
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_json(msg)
        return rid

    async def recv_frame(self) -> tuple[int, bytes]:
        """The next frame (opcode, payload); IncompleteReadError at EOF."""
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return b0 & 0x0F, await self.reader.readexactly(n)

    async def read_until_id(self, rid: str, timeout_s: float = TIMEOUT_S) -> tuple[dict[str, Any], list[Any]]:
        """Read frames until the response for ``rid``; returns it and every message read before it."""
        seen: list[Any] = []
        async with asyncio.timeout(timeout_s):
            while True:
                op, payload = await self.recv_frame()
                if op == OP_CLOSE:
                    raise ConnectionError(f"closed with {close_code(payload)} before the answer to {rid}")
                if op != OP_TEXT:
                    continue
                msg = orjson.loads(payload)
                if isinstance(msg, dict) and msg.get("id") == rid and "method" not in msg:
                    return msg, seen
                seen.append(msg)

    async def initialize(self) -> None:
        rid = self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}})
        resp, _ = await self.read_until_id(rid)
        assert "result" in resp, resp
        self.send_json({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def close(self) -> None:
        self.writer.transport.abort()


def close_code(payload: bytes) -> int:
    """The code in a close frame's payload (1005 when empty)."""
    return int(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else 1005
