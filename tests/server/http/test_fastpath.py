"""The HTTP face's fast path over real loopback sockets, driven by a raw HTTP/1.1 client: the requests it answers on a
kept-alive connection, the hand-over to aiohttp at the first other request (the bytes already read included), and
its limits (a peer that does not read, an idle connection)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, make_hub, running, wait_until
from tradingmcp.server.http.fastpath import FastPath
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport.auth import TokenStore
from tradingmcp.transport.mcpnames import META_VERSION
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs

from .helpers import INITIALIZE, TOKEN, legacy_headers, modern_headers, modern_request

TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"})})


@pytest.fixture
async def probe() -> Probe:
    return Probe()


@pytest.fixture
async def server(probe: Probe) -> AsyncIterator[McpServer]:
    hub = make_hub(probe)
    async with running(make_app(probe, hub), "picows", hub=hub, tokens=TOKENS) as srv:
        yield srv


def fast_of(server: McpServer) -> FastPath:
    assert server.http is not None and server.http.fast is not None
    return server.http.fast


def post_bytes(body: dict[str, Any], port: int, **extra: str) -> bytes:
    data = orjson.dumps(body)
    headers = {"Host": f"127.0.0.1:{port}", **modern_headers(body, **extra), "Content-Length": str(len(data))}
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).join(["POST /mcp HTTP/1.1\r\n", "\r\n"]).encode() + data


def echo(rid: int, x: Any = "hi") -> dict[str, Any]:
    return modern_request(rid, "tools/call", {"name": "echo", "arguments": {"x": x}})


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length or chunked body: status, headers (lower-case names), body."""
    async with asyncio.timeout(TIMEOUT_S):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readexactly(2)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head[0].split(" ")[1]), headers, body


async def test_pipelined_calls_are_answered_in_order_and_the_connection_stays_on_the_fast_path(
    server: McpServer, probe: Probe
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"".join(post_bytes(echo(i, i), server.port) for i in range(1, 4)))
    answers = [await read_response(reader) for _ in range(3)]
    assert [orjson.loads(body)["id"] for _, _, body in answers] == [1, 2, 3]
    status, headers, body = answers[0]
    assert status == 200 and headers["content-type"] == "application/json" and "date" in headers
    assert orjson.loads(body)["result"]["structuredContent"] == {"x": 1}
    assert probe.calls["echo"] == 3
    assert len(fast_of(server).connections) == 1  # not handed over
    writer.close()
    await wait_until(lambda: not fast_of(server).connections)


async def test_the_first_other_request_hands_the_connection_over_with_what_follows_it(server: McpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    health = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    # one write: a call for the fast path, a GET it leaves to aiohttp, and a call behind that GET
    writer.write(post_bytes(echo(1), server.port) + health + post_bytes(echo(2), server.port))
    first, second, third = [await read_response(reader) for _ in range(3)]
    assert first[0] == 200 and orjson.loads(first[2])["id"] == 1
    assert second[0] == 200 and orjson.loads(second[2])["status"] in ("ok", "degraded")
    assert third[0] == 200 and orjson.loads(third[2])["id"] == 2
    assert not fast_of(server).connections  # aiohttp's now, for good
    writer.write(post_bytes(echo(3), server.port))
    status, _, body = await read_response(reader)
    assert status == 200 and orjson.loads(body)["id"] == 3
    writer.close()


async def test_a_request_the_fast_path_does_not_take_gets_aiohttps_answer(server: McpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    wrong = post_bytes(echo(1), server.port, **{"Mcp-Name": "other"})  # header and body disagree: -32020
    writer.write(wrong)
    status, _, body = await read_response(reader)
    assert status == 400 and orjson.loads(body)["error"]["code"] == -32020
    chunked = post_bytes(echo(2), server.port).replace(b"Content-Length", b"Transfer-Encoding: chunked\r\nX-Was")
    data = orjson.dumps(echo(2))
    head = chunked[: chunked.index(b"\r\n\r\n") + 4]
    writer.write(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
    status, _, body = await read_response(reader)
    assert status == 200 and orjson.loads(body)["result"]["structuredContent"] == {"x": "hi"}
    writer.close()


async def test_an_unauthenticated_call_is_refused_with_401_and_runs_nothing(server: McpServer, probe: Probe) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(post_bytes(echo(1), server.port).replace(f"Bearer {TOKEN}".encode(), b"Bearer nope"))
    status, headers, _ = await read_response(reader)
    assert status == 401 and "www-authenticate" in headers
    assert "echo" not in probe.calls
    writer.close()


async def test_an_async_tool_is_answered_by_aiohttp(server: McpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    slow = modern_request(7, "tools/call", {"name": "slow", "arguments": {"delay_s": 0}})
    writer.write(post_bytes(slow, server.port))
    status, _, body = await read_response(reader)
    assert status == 200 and orjson.loads(body)["result"]["structuredContent"] == {"slept": True}
    assert not fast_of(server).connections
    writer.close()


async def test_notifications_of_a_call_answered_at_once_come_as_one_sse_body(server: McpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = modern_request(
        5, "tools/call", {"name": "log_both", "arguments": {}}, **{"io.modelcontextprotocol/logLevel": "info"}
    )
    writer.write(post_bytes(body, server.port))
    status, headers, raw = await read_response(reader)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    events = [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]
    assert [e.get("method") for e in events] == ["notifications/message", "notifications/message", None]
    assert events[-1]["id"] == 5
    assert len(fast_of(server).connections) == 1
    writer.close()


async def test_a_peer_that_stops_reading_pauses_the_fast_path_and_gets_every_answer_once_it_reads(
    server: McpServer,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    count, text = 300, "y" * 16_000  # ~10 MB of answers: more than the socket buffers hold
    writer.write(b"".join(post_bytes(echo(i, text), server.port) for i in range(count)))
    await asyncio.sleep(0.2)  # the server fills its socket and pauses
    ids = []
    for _ in range(count):
        status, _, body = await read_response(reader)
        assert status == 200
        ids.append(orjson.loads(body)["id"])
    assert ids == list(range(count))
    writer.close()


async def test_an_idle_connection_is_closed(server: McpServer) -> None:
    fast_of(server).idle_timeout_s = 0.05
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(post_bytes(echo(1), server.port))
    status, _, _ = await read_response(reader)
    assert status == 200
    async with asyncio.timeout(TIMEOUT_S):
        assert await reader.read() == b""  # closed by the server
    writer.close()


def session_post_bytes(body: dict[str, Any], port: int, session_id: str | None = None) -> bytes:
    data = orjson.dumps(body)
    headers = {
        "Host": f"127.0.0.1:{port}",
        **legacy_headers(session_id, **({"MCP-Protocol-Version": "2025-11-25"} if session_id else {})),
        "Content-Length": str(len(data)),
    }
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).join(["POST /mcp HTTP/1.1\r\n", "\r\n"]).encode() + data


async def test_a_2025_11_25_session_runs_on_the_fast_path_until_a_tool_call(server: McpServer, probe: Probe) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(session_post_bytes(INITIALIZE, server.port))
    status, headers, body = await read_response(reader)
    sid = headers["mcp-session-id"]
    assert status == 200 and orjson.loads(body)["result"]["protocolVersion"] == "2025-11-25"
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    unknown = {"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": "nope"}}
    writer.write(b"".join(session_post_bytes(b, server.port, sid) for b in (initialized, listing, unknown)))
    accepted, listed, refused = [await read_response(reader) for _ in range(3)]
    assert accepted[0] == 202
    assert listed[0] == 200 and "echo" in {t["name"] for t in orjson.loads(listed[2])["result"]["tools"]}
    assert refused[0] == 200 and "error" in orjson.loads(refused[2])  # errors are 200 in this era
    assert len(fast_of(server).connections) == 1
    # any tool may ask the client for input in this era (requests of the server's own): aiohttp answers the call
    call = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "echo", "arguments": {"x": 5}}}
    writer.write(session_post_bytes(call, server.port, sid))
    status, _, body = await read_response(reader)
    assert status == 200 and orjson.loads(body)["result"]["structuredContent"] == {"x": 5}
    assert probe.calls["echo"] == 1 and not fast_of(server).connections
    writer.write(session_post_bytes(INITIALIZE, server.port, sid))
    status, _, _ = await read_response(reader)
    assert status == 400  # initialize with a session id
    writer.close()


async def test_a_2025_11_25_request_of_an_unknown_session_is_refused_with_404(server: McpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(session_post_bytes({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, server.port, "not-a-session"))
    status, _, body = await read_response(reader)
    assert status == 404 and orjson.loads(body)["error"]["code"] == -32600
    writer.close()


async def test_an_initialize_whose_meta_names_2026_07_28_without_its_header_is_refused(server: McpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = {**INITIALIZE, "params": {**INITIALIZE["params"], "_meta": {META_VERSION: "2026-07-28"}}}
    writer.write(session_post_bytes(body, server.port))
    status, headers, raw = await read_response(reader)
    assert status == 400 and "mcp-session-id" not in headers
    assert orjson.loads(raw)["error"]["code"] == -32020
    writer.close()


async def test_with_the_fast_path_off_every_request_goes_to_aiohttp(probe: Probe) -> None:
    async with running(make_app(probe), "picows", tokens=TOKENS, http_fast_path=False) as srv:
        assert srv.http is not None and srv.http.fast is None
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(post_bytes(echo(1, 7), srv.port) + post_bytes(echo(2, 8), srv.port))
        answers = [await read_response(reader) for _ in range(2)]
        assert [orjson.loads(body)["result"]["structuredContent"] for _, _, body in answers] == [{"x": 7}, {"x": 8}]
        assert all(headers.get("server", "").find("aiohttp") >= 0 for _, headers, _ in answers)
        writer.close()


async def test_the_fast_path_serves_over_tls(tmp_path: Path, probe: Probe) -> None:
    ca, cert, _client = write_dev_certs(tmp_path)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    async with running(make_app(probe), "picows", tokens=TOKENS, ssl=server_ssl_context(cert)) as srv:
        reader, writer = await asyncio.open_connection("localhost", srv.port, ssl=client_ctx)
        writer.write(post_bytes(echo(1, "tls"), srv.port) + post_bytes(echo(2, "again"), srv.port))
        answers = [await read_response(reader) for _ in range(2)]
        assert [orjson.loads(body)["result"]["structuredContent"]["x"] for _, _, body in answers] == ["tls", "again"]
        assert len(fast_of(srv).connections) == 1
        writer.close()
