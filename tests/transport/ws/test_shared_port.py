"""One port, two protocols: ``ws.serve(..., http=...)`` hands WebSocket upgrades to picows and every other request to
an aiohttp server, over plain TCP and TLS; the head it reads first is bounded in size and time."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.wire_helpers import TIMEOUT_S, Recorder
from tradingmcp.transport import ws
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs


class Echo:
    """A server-side FrameHandler that echoes every text message."""

    def __init__(self) -> None:
        self.conn: ws.Connection | None = None

    def on_open(self, conn: ws.Connection) -> None:
        self.conn = conn

    def on_text(self, data: ws.TextData) -> None:
        assert self.conn is not None
        self.conn.send_text(data.encode() if isinstance(data, str) else bytes(data))

    def on_close(self, code: int, reason: str) -> None:
        pass

    def on_writable(self) -> None:
        pass


async def _post(request: web.Request) -> web.Response:
    return web.json_response({"method": request.method, "body": (await request.read()).decode()})


async def _get(request: web.Request) -> web.Response:
    return web.Response(text=f"plain {request.path} secure={request.secure}")


@asynccontextmanager
async def shared(
    ssl_ctx: ssl.SSLContext | None = None, options: ws.WireOptions | None = None
) -> AsyncIterator[ws.WsServer]:
    app = web.Application()
    app.router.add_post("/mcp", _post)
    app.router.add_get("/mcp", _get)
    app.router.add_get("/health", _get)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    server = runner.server
    assert server is not None
    srv = await ws.serve(
        lambda req: ws.Accept(Echo(), "mcp"),
        "127.0.0.1",
        0,
        ssl=ssl_ctx,
        options=options or ws.WireOptions(),
        http=server,
    )
    try:
        yield srv
    finally:
        await srv.close()
        await runner.cleanup()


async def _ws_echo(url: str, ssl_ctx: ssl.SSLContext | None = None) -> Any:
    rec = Recorder()
    conn = await ws.connect(url, rec, ssl=ssl_ctx)
    conn.send_text(b'{"n":1}')
    got = await rec.wait_for(lambda m: True)
    conn.close()
    return got


async def test_websocket_and_http_share_one_port_and_path() -> None:
    async with shared() as srv, aiohttp.ClientSession() as http:
        base = f"127.0.0.1:{srv.port}"
        assert await _ws_echo(f"ws://{base}/mcp") == {"n": 1}
        # keep-alive: two requests (POST with a body, then GET) on one connection
        async with http.post(f"http://{base}/mcp", data=b"hello") as resp:
            assert resp.status == 200
            assert await resp.json() == {"method": "POST", "body": "hello"}
        async with http.get(f"http://{base}/health") as resp:
            assert resp.status == 200 and await resp.text() == "plain /health secure=False"
        # a plain GET of the WebSocket path is HTTP's, not picows'
        async with http.get(f"http://{base}/mcp") as resp:
            assert await resp.text() == "plain /mcp secure=False"
        assert await _ws_echo(f"ws://{base}/mcp") == {"n": 1}


async def test_shared_port_over_tls(tmp_path: Path) -> None:
    ca, cert, _client = write_dev_certs(tmp_path)
    server_ctx = server_ssl_context(cert)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    async with shared(server_ctx) as srv, aiohttp.ClientSession() as http:
        assert await _ws_echo(f"wss://localhost:{srv.port}/mcp", client_ctx) == {"n": 1}
        async with http.post(f"https://localhost:{srv.port}/mcp", data=b"x", ssl=client_ctx) as resp:
            assert await resp.json() == {"method": "POST", "body": "x"}
        async with http.get(f"https://localhost:{srv.port}/health", ssl=client_ctx) as resp:
            assert await resp.text() == "plain /health secure=True"


async def _raw_exchange(port: int, data: bytes, wait_s: float = TIMEOUT_S) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        async with asyncio.timeout(wait_s):
            return await reader.read()  # until the server closes
    finally:
        writer.close()


async def test_an_oversize_head_gets_431_and_others_are_served() -> None:
    async with shared(options=ws.WireOptions(max_head_bytes=1024)) as srv:
        answer = await _raw_exchange(srv.port, b"POST /mcp HTTP/1.1\r\nX-Pad: " + b"a" * 2000)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert await _ws_echo(f"ws://127.0.0.1:{srv.port}/mcp") == {"n": 1}


async def test_a_slow_head_gets_408_within_the_open_timeout() -> None:
    async with shared(options=ws.WireOptions(open_timeout_s=0.3)) as srv:
        answer = await _raw_exchange(srv.port, b"GET /mcp HTTP/1.1\r\nHost: x\r\n")  # never ends the head
        assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize(
    ("head", "upgrade"),
    [
        (b"GET /mcp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade", True),
        (b"GET /mcp HTTP/1.1\r\nupgrade:  WebSocket ", True),
        (b"POST /mcp HTTP/1.1\r\nUpgrade: websocket", False),
        (b"GET /mcp HTTP/1.1\r\nUpgrade: h2c", False),
        (b"GET /mcp HTTP/1.1\r\nX-Upgrade: websocket", False),
    ],
)
def test_what_counts_as_an_upgrade(head: bytes, upgrade: bool) -> None:
    from tradingmcp.transport.ws._picows import is_ws_upgrade

    assert is_ws_upgrade(head) is upgrade


async def test_the_websockets_backend_refuses_an_http_face_clearly() -> None:
    with pytest.raises(ValueError, match="needs the picows backend"):
        await ws.serve(lambda req: ws.HttpResponse(404), "127.0.0.1", 0, backend="websockets", http=asyncio.Protocol)
