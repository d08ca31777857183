"""stdio ↔ wss bridge: lets stdio-only MCP hosts (desktop assistants) use a remote TradingMCP server.

The host starts ``tradingmcp bridge wss://host:8765/mcp --token ... --cafile certs/ca.pem`` as its MCP server process.
MCP's stdio transport is newline-delimited JSON-RPC on stdin/stdout; each line becomes one text frame and each frame one
line, unchanged (the bridge does not interpret MCP, so every protocol version passes through). Logs go to stderr.

If the WebSocket closes, the bridge exits with status 1 (the host restarts it and re-initializes, as after any server
restart). A stdin EOF waits (up to ``linger_s``) for the answers to requests still in flight, then closes the socket
normally (1000) and exits 0: no answer is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl as ssl_module
import sys
from typing import BinaryIO

from tradingmcp.transport import ws
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.jsonrpc import JsonRpcError, Kind, Message, parse

log = logging.getLogger("tradingmcp.bridge")


class _ToStdout:
    """FrameHandler: each text frame → one line on stdout."""

    def __init__(self, out: BinaryIO, closed: asyncio.Future[tuple[int, str]]) -> None:
        self.out = out
        self.closed = closed
        self.outstanding: set[object] = set()
        self.drained = asyncio.Event()

    def on_open(self, conn: ws.Connection) -> None:
        pass

    def on_text(self, data: ws.TextData) -> None:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if self.outstanding:
            rid = _response_id(raw)
            if rid is not None:
                self.outstanding.discard(rid)
                if not self.outstanding:
                    self.drained.set()
        self.out.write(raw.replace(b"\n", b" ") + b"\n")  # JSON never needs a raw newline; keep one message a line
        self.out.flush()

    def on_close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))

    def on_writable(self) -> None:
        pass


async def run_bridge(
    url: str,
    *,
    token: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    backend: ws.Backend = ws.DEFAULT_BACKEND,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    linger_s: float = 10.0,
) -> int:
    """Pump stdin lines → frames and frames → stdout lines until either side ends. Returns the exit status.

    Raises:
        HandshakeRejected: the server refused the upgrade (401 bad token, 403 host/origin).
    """
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[tuple[int, str]] = loop.create_future()
    handler = _ToStdout(stdout or sys.stdout.buffer, closed)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn = await ws.connect(url, handler, headers=headers, ssl=ssl, backend=backend)
    reader = asyncio.StreamReader(limit=ws.WireOptions().max_message_bytes + 1)
    src = stdin or sys.stdin.buffer
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(src.fileno(), "rb", closefd=False)
    )

    async def pump_stdin() -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            line = line.strip()
            if line:
                rid = _request_id(line)
                if rid is not None:
                    handler.outstanding.add(rid)
                    handler.drained.clear()
                conn.send_text(line)

    pump: asyncio.Future[None] = loop.create_task(pump_stdin())
    waiters: set[asyncio.Future[object]] = {pump, closed}  # type: ignore[arg-type]
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if pump in done:
        if handler.outstanding and not closed.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(linger_s):
                    await handler.drained.wait()
        conn.close(CloseCode.NORMAL_CLOSURE, "stdin closed")
        try:
            async with asyncio.timeout(2):
                await closed
        except TimeoutError:
            pass
        return 0
    pump.cancel()
    code, reason = closed.result()
    log.error("server closed the connection (%d %s)", code, reason)
    return 1


def _request_id(line: bytes) -> object:
    """The id of a JSON-RPC request line (None for notifications, responses and garbage)."""
    msg = _classify(line)
    return msg.id if msg is not None and msg.kind is Kind.REQUEST else None


def _response_id(raw: bytes) -> object:
    """The id of a response or error response (None for anything else)."""
    msg = _classify(raw)
    return msg.id if msg is not None and msg.kind in (Kind.RESPONSE, Kind.ERROR_RESPONSE) else None


def _classify(raw: bytes) -> Message | None:
    try:
        return parse(raw)
    except JsonRpcError:
        return None
