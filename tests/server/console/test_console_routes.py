"""The console's HTTP side without a browser: the page and its files on open paths with a strict CSP, ``whoami``
behind the token guard, the WebSocket upgrade a browser page makes (subprotocols ``mcp`` + ``auth.<token>``, Origin =
the server's own), and the committed bundle equal to a fresh build of ``console/``."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tradingmcp.server.console import CSP, STATIC_DIR, STATIC_FILES, console_routes
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport.auth import TokenStore
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs

from .support import READER_TOKEN, TRADER_TOKEN, ConsoleServer

REPO = Path(__file__).resolve().parents[3]
CONSOLE_PROJECT = REPO / "console"


async def test_the_page_and_its_files_need_no_token(srv: ConsoleServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/console", "/console/", "/console/index.html"):
            async with http.get(srv.base + path) as r:
                assert r.status == 200 and r.content_type == "text/html"
                assert r.headers["Content-Security-Policy"] == CSP
                assert '<script src="/console/console.js">' in await r.text()
        for name, kind in STATIC_FILES.items():
            async with http.get(f"{srv.base}/console/{name}") as r:
                assert r.status == 200 and r.content_type == kind
                assert await r.read() == (STATIC_DIR / name).read_bytes()
        async with http.get(srv.base + "/console/nope.js") as r:
            assert r.status == 401  # not an open path: the guard asks for a token before the 404


async def test_whoami_names_the_token_and_refuses_a_wrong_one(srv: ConsoleServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(srv.base + "/console/whoami") as r:
            assert r.status == 401
        async with http.get(srv.base + "/console/whoami", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        async with http.get(srv.base + "/console/whoami", headers={"Authorization": f"Bearer {READER_TOKEN}"}) as r:
            assert r.status == 200 and await r.json() == {"name": "reader", "scopes": ["read"]}
        async with http.get(srv.base + "/console/whoami", headers={"Authorization": f"Bearer {TRADER_TOKEN}"}) as r:
            assert await r.json() == {"name": "trader", "scopes": ["read", "trade"]}


async def _upgrade(srv: ConsoleServer, protocols: str, origin: str) -> tuple[int, str]:
    """A browser's upgrade request by hand: the status line and the selected subprotocol."""
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocols}\r\n"
            f"Origin: {origin}\r\n\r\n"
        ).encode()
    )
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode()
    writer.close()
    status = int(head.split(" ", 2)[1])
    chosen = next(
        (
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("sec-websocket-protocol:")
        ),
        "",
    )
    return status, chosen


async def test_the_pages_upgrade_authenticates_by_subprotocol_from_its_own_origin(srv: ConsoleServer) -> None:
    own = srv.base
    assert await _upgrade(srv, f"mcp, auth.{READER_TOKEN}", own) == (101, "mcp")  # only mcp is echoed, never the token
    assert (await _upgrade(srv, "mcp, auth.wrong", own))[0] == 401
    assert (await _upgrade(srv, f"mcp, auth.{READER_TOKEN}", "http://evil.example"))[0] == 403
    assert (await _upgrade(srv, f"mcp, auth.{READER_TOKEN}", f"http://localhost:{srv.port + 1}"))[0] == 403


def test_console_routes_fail_clearly_without_the_built_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"console\.js|index\.html|console\.css"):
        console_routes(tmp_path)


def test_the_committed_bundle_is_a_fresh_build_of_the_console_project(tmp_path: Path) -> None:
    """``server/console/static/`` is what ``make console`` builds from ``console/`` now (esbuild's output is
    deterministic for pinned versions): an edit of the sources without a rebuild, or a hand edit of the bundle, fails
    here. Needs ``console/node_modules`` (``make console-deps``, part of ``make test``)."""
    node = shutil.which("node")
    assert node is not None, "node is missing (make test needs Node)"
    assert (CONSOLE_PROJECT / "node_modules" / "esbuild").is_dir(), "run `make console-deps` (npm ci in console/)"
    done = subprocess.run(
        [node, str(CONSOLE_PROJECT / "build.mjs"), str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in STATIC_FILES:
        assert (tmp_path / name).read_bytes() == (STATIC_DIR / name).read_bytes(), f"{name} differs: run `make console`"


async def test_off_loopback_over_tls_the_pages_own_origin_is_allowed(tmp_path: Path) -> None:
    """Bound to every address with TLS and no Host list (``serve --host 0.0.0.0``), the console's upgrade from its
    own ``https://`` origin is let in; any other origin, and the same host over plain ``http://``, are 403."""
    write_dev_certs(tmp_path)
    tokens = TokenStore({READER_TOKEN: ("reader", ["read"])})
    config = ServerConfig(host="0.0.0.0", port=0, ssl=server_ssl_context(tmp_path / "server.pem"), tokens=tokens)
    server = await McpServer(McpApp(), config).start()
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    try:
        host = f"trading.example:{server.port}"

        async def upgrade(origin: str) -> int:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", server.port, ssl=ctx, server_hostname="localhost"
            )
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                (
                    f"GET /mcp HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                    f"Sec-WebSocket-Protocol: mcp, auth.{READER_TOKEN}\r\nOrigin: {origin}\r\n\r\n"
                ).encode()
            )
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode()
            writer.close()
            return int(head.split(" ", 2)[1])

        assert await upgrade(f"https://{host}") == 101
        assert await upgrade(f"http://{host}") == 403
        assert await upgrade("https://evil.example") == 403
    finally:
        await server.stop()
