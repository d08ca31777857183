"""Round-trip servers, each started in its own child process by :class:`~tradingmcp.benchmarks.procs.Child`.

Every factory here runs in the child, binds ``127.0.0.1:0`` and returns ``(info, handlers)``: ``info`` is
``{"port": int}``; ``handlers`` always include ``rss`` (the child's RSS in bytes after a GC) and ``close``.

* :func:`tcp_echo`: the floor: a uvloop ``asyncio.Protocol`` that writes back every byte it reads.
* :func:`picows_echo`, :func:`websockets_echo`: a raw WebSocket echo per backend (text frames, no compression).
* :func:`jsonrpc_min_echo`: the least any JSON-RPC server on picows + orjson does: parse the request, build the same
  ``tools/call`` result our server sends, encode it, send it (no validation, no dispatch table, no MCP state).
* :func:`mcp_echo`: our :class:`~tradingmcp.server.wsserver.McpServer` with one sync ``echo`` tool, ``ws`` or ``wss``.
* :func:`sdk_http`: the official mcp SDK's Streamable HTTP server (uvicorn) with the same ``echo`` tool.
"""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path
from typing import Any, cast

from tradingmcp.benchmarks.procs import Handler, rss_bytes
from tradingmcp.transport.ws import set_nodelay

HOST = "127.0.0.1"
ECHO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}


async def _rss() -> int:
    gc.collect()
    return rss_bytes()


class _TcpEcho(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def tcp_echo() -> tuple[dict[str, Any], dict[str, Handler]]:
    """Raw TCP echo (the floor every ratio refers to)."""
    server = await asyncio.get_running_loop().create_server(_TcpEcho, HOST, 0)

    async def close() -> None:
        server.close()

    return {"port": server.sockets[0].getsockname()[1]}, {"rss": _rss, "close": close}


async def picows_echo() -> tuple[dict[str, Any], dict[str, Handler]]:
    """picows WebSocket echo: every text frame sent back from the read buffer."""
    import picows

    class Echo(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.TEXT:
                transport.send(picows.WSMsgType.TEXT, frame.get_payload_as_memoryview())
            elif frame.msg_type == picows.WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    server = await picows.ws_create_server(lambda _request: Echo(), HOST, 0)

    async def close() -> None:
        server.close()

    return {"port": server.sockets[0].getsockname()[1]}, {"rss": _rss, "close": close}


async def websockets_echo() -> tuple[dict[str, Any], dict[str, Handler]]:
    """websockets (asyncio API) echo, compression off as in our backend."""
    from websockets.asyncio.server import ServerConnection, serve

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    server = await serve(echo, HOST, 0, compression=None, ping_interval=None)

    async def close() -> None:
        server.close()

    return {"port": server.sockets[0].getsockname()[1]}, {"rss": _rss, "close": close}


def jsonrpc_min_result(args: Any) -> dict[str, Any]:
    """The ``tools/call`` result of ``echo(args)`` built with plain dicts (the same JSON our server sends)."""
    import orjson

    return {"content": [{"type": "text", "text": orjson.dumps(args).decode()}], "structuredContent": args,
            "isError": False}  # fmt: skip


async def jsonrpc_min_echo() -> tuple[dict[str, Any], dict[str, Handler]]:
    """picows + orjson minimal JSON-RPC ``tools/call`` echo: ``loads`` the request, ``dumps`` the response.

    The lower bound for any Python JSON-RPC server on this stack: what is left between it and our server is our
    protocol engine (validation, eras, scopes, the outbound queue).
    """
    import orjson
    import picows

    loads, dumps = orjson.loads, orjson.dumps

    class Rpc(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.TEXT:
                req = loads(frame.get_payload_as_memoryview())
                result = jsonrpc_min_result(req["params"]["arguments"])
                transport.send(picows.WSMsgType.TEXT, dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}))
            elif frame.msg_type == picows.WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    server = await picows.ws_create_server(lambda _request: Rpc(), HOST, 0)

    async def close() -> None:
        server.close()

    return {"port": server.sockets[0].getsockname()[1]}, {"rss": _rss, "close": close}


def echo_app() -> Any:
    """Our :class:`McpApp` with the sync ``echo`` tool: ``{"text": str}`` → ``{"text": str}``."""
    from tradingmcp.server.mcp.context import CallContext
    from tradingmcp.server.mcp.registry import McpApp

    app = McpApp(name="tradingmcp-bench")

    @app.tool("echo", "Echo the text argument back (benchmark).", ECHO_SCHEMA)
    def echo(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        return {"text": args["text"]}

    return app


async def mcp_echo(
    backend: str, cert_dir: str | None, http_fast_path: bool = True
) -> tuple[dict[str, Any], dict[str, Handler]]:
    """Our MCP server over ``ws`` (``cert_dir`` None) or ``wss`` (``server.pem`` from ``cert_dir``).

    Args:
        backend: ``"picows"`` or ``"websockets"``.
        cert_dir: folder written by :func:`tradingmcp.transport.tls.write_dev_certs`, or None for plain ``ws``.
        http_fast_path: ``ServerConfig.http_fast_path`` (False: every HTTP request through aiohttp).
    """
    from tradingmcp.server.wsserver import McpServer, ServerConfig
    from tradingmcp.transport import ws
    from tradingmcp.transport.tls import server_ssl_context

    if backend not in ws.BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    ssl = server_ssl_context(Path(cert_dir) / "server.pem") if cert_dir else None
    wire = ws.WireOptions(ping_interval_s=0)
    config = ServerConfig(host=HOST, port=0, ssl=ssl, backend=backend, wire=wire, http_fast_path=http_fast_path)
    server = await McpServer(echo_app(), config).start()

    async def close() -> None:
        await server.stop()

    return {"port": server.port, "url": server.url}, {"rss": _rss, "close": close}


async def sdk_http() -> tuple[dict[str, Any], dict[str, Handler]]:
    """The official SDK's Streamable HTTP server (uvicorn) on a pre-bound loopback socket, path ``/mcp``."""
    import uvicorn

    from tradingmcp.benchmarks.sdk_server import build_sdk_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    starlette_app = build_sdk_app().streamable_http_app(host=HOST)
    # keep-alive connections stay open between rounds (uvicorn closes idle ones after 5 s by default)
    config = uvicorn.Config(starlette_app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=600)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(30.0):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited before starting")
            await asyncio.sleep(0.02)

    async def close() -> None:
        server.should_exit = True
        async with asyncio.timeout(5.0):
            await task

    return {"port": port, "url": f"http://{HOST}:{port}/mcp"}, {"rss": _rss, "close": close}
