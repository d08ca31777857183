"""``POST``/``GET``/``DELETE /mcp`` over real HTTP on loopback: both eras, and every kind of bad input answered with its
status and a JSON-RPC error while the server keeps serving everyone else."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, make_hub, running, wait_until
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport import ws
from tradingmcp.transport.auth import TokenStore

from .helpers import (
    INITIALIZE,
    OTHER_TOKEN,
    TOKEN,
    legacy_headers,
    modern_headers,
    modern_request,
    open_session,
    post,
    read_events,
)

TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"}), OTHER_TOKEN: ("bob", {"read"})})


@pytest.fixture
async def probe() -> Probe:
    return Probe()


@pytest.fixture
async def server(probe: Probe) -> AsyncIterator[McpServer]:
    hub = make_hub(probe)
    async with running(
        make_app(probe, hub), "picows", hub=hub, tokens=TOKENS, wire=ws.WireOptions(max_message_bytes=64 << 10)
    ) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        yield session


def url(server: McpServer) -> str:
    return server.http_url


async def echo_works(http: aiohttp.ClientSession, server: McpServer) -> bool:
    """The server still answers a well-formed 2026-07-28 call."""
    body = modern_request(99, "tools/call", {"name": "echo", "arguments": {"x": "still"}})
    status, answer = await post(http, url(server), body, modern_headers(body))
    return status == 200 and answer["result"]["structuredContent"] == {"x": "still"}


# ---------------------------------------------------------------- 2026-07-28


async def test_modern_call_answers_json_with_result_type(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(1, "tools/call", {"name": "echo", "arguments": {"x": 1}})
    async with http.post(url(server), data=orjson.dumps(body), headers=modern_headers(body)) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
        assert "Mcp-Session-Id" not in resp.headers  # stateless: no session
        answer = await resp.json()
    assert answer["id"] == 1 and answer["result"]["resultType"] == "complete"
    assert answer["result"]["structuredContent"] == {"x": 1}


async def test_modern_progress_travels_on_the_requests_own_sse_stream(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    body = modern_request(
        7, "tools/call", {"name": "slow", "arguments": {"delay_s": 0.03, "steps": 3}}, progressToken="t"
    )
    async with http.post(url(server), data=orjson.dumps(body), headers=modern_headers(body)) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        events = [e["data"] for e in await read_events(resp)]
    assert [e["params"]["progress"] for e in events[:-1]] == [1, 2, 3]
    assert all(e["method"] == "notifications/progress" for e in events[:-1])
    assert events[-1]["id"] == 7 and events[-1]["result"]["structuredContent"] == {"slept": True}


async def test_modern_listen_acknowledges_first_then_tags_updates(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    from tradingmcp.server.mcp.registry import Resource

    server.app.add_resource(Resource("demo://x", "x", lambda uri: {"v": 1}))
    body = modern_request(
        "L1", "subscriptions/listen", {"notifications": {"resourceSubscriptions": ["demo://x", "nope://y"]}}
    )
    async with http.post(url(server), data=orjson.dumps(body), headers=modern_headers(body)) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        (ack,) = await read_events(resp, 1)
        assert ack["data"]["method"] == "notifications/subscriptions/acknowledged"
        assert ack["data"]["params"]["notifications"] == {"resourceSubscriptions": ["demo://x"]}
        await wait_until(lambda: server.resources.subscribers("demo://x") == 1)
        server.resources.notify_updated("demo://x")
        (update,) = await read_events(resp, 1)
    assert update["data"]["method"] == "notifications/resources/updated"
    assert update["data"]["params"] == {"uri": "demo://x", "_meta": {"io.modelcontextprotocol/subscriptionId": "L1"}}
    # the client closed the stream: the subscription is released
    await wait_until(lambda: server.resources.subscribers("demo://x") == 0)


async def test_a_client_that_leaves_cancels_its_stateless_call(
    server: McpServer, http: aiohttp.ClientSession, probe: Probe
) -> None:
    body = modern_request(3, "tools/call", {"name": "block", "arguments": {}})
    task = asyncio.ensure_future(post(http, url(server), body, modern_headers(body)))
    await asyncio.wait_for(probe.started.wait(), TIMEOUT_S)
    task.cancel()  # closes the connection
    await asyncio.wait_for(probe.cancelled.wait(), TIMEOUT_S)
    assert await echo_works(http, server)


async def test_modern_notification_is_accepted_with_202(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    headers = modern_headers({"method": "notifications/cancelled"})
    async with http.post(url(server), data=orjson.dumps(body), headers=headers) as resp:
        assert resp.status == 202


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe"])
async def test_methods_removed_in_2026_answer_method_not_found(
    server: McpServer, http: aiohttp.ClientSession, method: str
) -> None:
    body = modern_request(5, method, {"uri": "demo://x"} if method == "resources/subscribe" else {})
    status, answer = await post(http, url(server), body, modern_headers(body))
    assert status == 404 and answer["error"]["code"] == -32601 and answer["id"] == 5


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"Mcp-Method": "tools/list"}, "Mcp-Method"),
        ({"Mcp-Name": "place_order"}, "Mcp-Name"),
        ({"MCP-Protocol-Version": "2099-01-01"}, "MCP-Protocol-Version"),
    ],
)
async def test_header_body_mismatch_is_32020(
    server: McpServer, http: aiohttp.ClientSession, change: dict[str, str], what: str
) -> None:
    body = modern_request(11, "tools/call", {"name": "echo", "arguments": {}})
    status, answer = await post(http, url(server), body, modern_headers(body, **change))
    assert status == 400 and answer["error"]["code"] == -32020 and what in answer["error"]["message"]
    assert answer["id"] == 11
    assert await echo_works(http, server)


async def test_a_missing_mcp_method_header_is_32020(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(12, "tools/list")
    headers = modern_headers(body)
    del headers["Mcp-Method"]
    status, answer = await post(http, url(server), body, headers)
    assert status == 400 and answer["error"]["code"] == -32020


@pytest.mark.parametrize("drop", ["_meta", "protocolVersion", "clientCapabilities"])
async def test_a_2026_request_missing_its_meta_is_32602_with_400(
    server: McpServer, http: aiohttp.ClientSession, drop: str
) -> None:
    """SEP-2575: the header says 2026-07-28 but ``_meta`` (or its version, or its client capabilities) is missing."""
    body = modern_request(15, "server/discover")
    if drop == "_meta":
        del body["params"]["_meta"]
    else:
        del body["params"]["_meta"][f"io.modelcontextprotocol/{drop}"]
    status, answer = await post(http, url(server), body, modern_headers(body))
    assert status == 400 and answer["error"]["code"] == -32602 and answer["id"] == 15, answer
    assert await echo_works(http, server)


async def test_a_base64_mcp_name_matches(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(13, "tools/call", {"name": "echo", "arguments": {"x": 2}})
    status, answer = await post(http, url(server), body, modern_headers(body, **{"Mcp-Name": "=?base64?ZWNobw==?="}))
    assert status == 200 and answer["result"]["structuredContent"] == {"x": 2}


async def test_an_unsupported_version_in_both_header_and_meta_is_32022(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    body = modern_request(14, "tools/list")
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01"
    status, answer = await post(http, url(server), body, modern_headers(body, **{"MCP-Protocol-Version": "2099-01-01"}))
    assert status == 400 and answer["error"]["code"] == -32022


# ---------------------------------------------------------------- bad input, either era


async def test_malformed_json_body_is_400_parse_error(server: McpServer, http: aiohttp.ClientSession) -> None:
    status, answer = await post(
        http, url(server), b'{"jsonrpc": "2.0", "id": 1, "method":', modern_headers({"method": "x"})
    )
    assert status == 400 and answer["error"]["code"] == -32700 and answer["id"] is None
    status, answer = await post(http, url(server), b"[1, 2]", modern_headers({"method": "x"}))
    assert status == 400 and answer["error"]["code"] == -32600
    assert await echo_works(http, server)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_415(server: McpServer, http: aiohttp.ClientSession, ctype: str | None) -> None:
    body = modern_request(1, "tools/list")
    headers = modern_headers(body)
    if ctype is None:
        del headers["Content-Type"]
        async with http.post(
            url(server), data=orjson.dumps(body), headers=headers, skip_auto_headers=["Content-Type"]
        ) as r:
            status, answer = r.status, await r.json()
    else:
        headers["Content-Type"] = ctype
        status, answer = await post(http, url(server), body, headers)
    assert status == 415 and answer["error"]["code"] == -32600


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream", "text/html", None])
async def test_missing_or_wrong_accept_is_406(
    server: McpServer, http: aiohttp.ClientSession, accept: str | None
) -> None:
    body = modern_request(1, "tools/list")
    headers = modern_headers(body)
    if accept is None:
        del headers["Accept"]
    else:
        headers["Accept"] = accept
    async with http.post(url(server), data=orjson.dumps(body), headers=headers, skip_auto_headers=["Accept"]) as resp:
        assert resp.status == 406
        assert (await resp.json())["error"]["code"] == -32600


async def test_an_accept_wildcard_is_enough(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(1, "tools/list")
    status, _ = await post(http, url(server), body, modern_headers(body, Accept="*/*"))
    assert status == 200


async def test_oversize_body_is_413(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(1, "tools/call", {"name": "echo", "arguments": {"x": "a" * (100 << 10)}})
    status, answer = await post(http, url(server), body, modern_headers(body))
    assert status == 413 and answer["error"]["code"] == -32600

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(100):
            yield b" " * 1024

    async with http.post(url(server), data=chunks(), headers=modern_headers(body)) as resp:
        assert resp.status == 413
    assert await echo_works(http, server)


# ---------------------------------------------------------------- 2025-11-25 sessions


async def test_session_lifecycle_and_unknown_session_404(server: McpServer, http: aiohttp.ClientSession) -> None:
    sid = await open_session(http, url(server))
    listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    status, answer = await post(http, url(server), listed, legacy_headers(sid))
    assert status == 200 and "echo" in {t["name"] for t in answer["result"]["tools"]}
    status, answer = await post(http, url(server), listed, legacy_headers("no-such-session"))
    assert status == 404 and answer["error"]["code"] == -32600
    status, _ = await post(http, url(server), listed, legacy_headers(None))
    assert status == 400  # no session id and not initialize
    async with http.delete(url(server), headers=legacy_headers(sid)) as resp:
        assert resp.status == 204
    status, _ = await post(http, url(server), listed, legacy_headers(sid))
    assert status == 404  # ended
    async with http.delete(url(server), headers=legacy_headers(sid)) as resp:
        assert resp.status == 404


async def test_another_tokens_session_is_not_found(server: McpServer, http: aiohttp.ClientSession) -> None:
    sid = await open_session(http, url(server), TOKEN)
    status, _ = await post(
        http, url(server), {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, legacy_headers(sid, OTHER_TOKEN)
    )
    assert status == 404


async def test_an_idle_session_expires(server: McpServer, http: aiohttp.ClientSession) -> None:
    assert server.http is not None
    sid = await open_session(http, url(server))
    server.http.endpoint.sessions.idle_s = 0.0
    assert server.http.endpoint.sessions.sweep() == 1
    status, _ = await post(http, url(server), {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, legacy_headers(sid))
    assert status == 404


async def _subscribe(http: aiohttp.ClientSession, server: McpServer, sid: str, stream: str) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": "s",
        "method": "tools/call",
        "params": {"name": "subscribe", "arguments": {"stream": stream}},
    }
    status, answer = await post(http, url(server), body, legacy_headers(sid))
    assert status == 200 and answer["result"]["structuredContent"]["subscribed"] is True, answer


async def test_get_stream_event_ids_and_last_event_id_resumption(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    assert server.http is not None
    sid = await open_session(http, url(server))
    await _subscribe(http, server, sid, "ticks:sim:A")
    for i in range(3):
        server.streams.publish("ticks:sim:A", {"i": i}, conflate=False)
    get_headers = legacy_headers(sid)
    async with http.get(url(server), headers=get_headers) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        first = await read_events(resp, 3)  # held while no stream was open
    assert [e["data"]["params"]["data"]["i"] for e in first] == [0, 1, 2]
    assert len({e["id"] for e in first}) == 3
    await wait_until(
        lambda: (
            server.http is not None and all(s.log.live is None for s in server.http.endpoint.sessions.by_id.values())
        )
    )
    for i in range(3, 6):
        server.streams.publish("ticks:sim:A", {"i": i}, conflate=False)
    async with http.get(url(server), headers={**get_headers, "Last-Event-ID": first[1]["id"]}) as resp:
        resumed = await read_events(resp, 4)
    assert [e["data"]["params"]["data"]["i"] for e in resumed] == [2, 3, 4, 5]


async def test_last_event_id_of_another_session_is_refused(server: McpServer, http: aiohttp.ClientSession) -> None:
    mine = await open_session(http, url(server))
    theirs = await open_session(http, url(server))
    await _subscribe(http, server, theirs, "ticks:sim:B")
    server.streams.publish("ticks:sim:B", {"i": 0}, conflate=False)
    async with http.get(url(server), headers=legacy_headers(theirs)) as resp:
        (event,) = await read_events(resp, 1)
    async with http.get(url(server), headers={**legacy_headers(mine), "Last-Event-ID": event["id"]}) as resp:
        assert resp.status == 400
        assert "Last-Event-ID" in (await resp.json())["error"]["message"]
    async with http.get(url(server), headers={**legacy_headers(mine), "Last-Event-ID": "garbage"}) as resp:
        assert resp.status == 400


async def test_a_second_get_stream_is_409(server: McpServer, http: aiohttp.ClientSession) -> None:
    sid = await open_session(http, url(server))
    async with http.get(url(server), headers=legacy_headers(sid)) as first:
        assert first.status == 200
        await wait_until(
            lambda: server.http is not None and server.http.endpoint.sessions.get(sid).log.live is not None
        )  # type: ignore[union-attr]
        async with http.get(url(server), headers=legacy_headers(sid)) as second:
            assert second.status == 409


async def test_modern_has_no_get_stream(server: McpServer, http: aiohttp.ClientSession) -> None:
    async with http.get(url(server), headers=modern_headers({"method": "x"})) as resp:
        assert resp.status == 405 and resp.headers["Allow"] == "POST"


async def test_initialize_with_a_session_id_is_refused(server: McpServer, http: aiohttp.ClientSession) -> None:
    status, _ = await post(http, url(server), INITIALIZE, legacy_headers("x"))
    assert status == 400


async def test_a_stalled_sse_client_is_cut_off_and_others_are_served(probe: Probe) -> None:
    hub = make_hub(probe)
    async with (
        running(make_app(probe, hub), "picows", hub=hub, tokens=TOKENS, slow_consumer_bytes=256 << 10) as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
    ):
        assert server.http is not None
        sid = await open_session(http, url(server))
        await _subscribe(http, server, sid, "ticks:sim:C")
        session = server.http.endpoint.sessions.get(sid)
        assert session is not None
        # a GET stream from a client that never reads a byte
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in legacy_headers(sid).items())
        writer.write(f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{head}\r\n".encode())
        await wait_until(lambda: session.log.live is not None)
        blob = "x" * (16 << 10)
        for i in range(4000):  # 64 MB, far beyond socket buffers plus the 256 KiB bound
            server.streams.publish("ticks:sim:C", {"i": i, "pad": blob}, conflate=False)
            if session.log.live is None:
                break
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the writer fill the socket
        assert session.log.live is None  # the stream was closed
        assert await echo_works(http, server)
        status, _ = await post(
            http, url(server), {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, legacy_headers(sid)
        )
        assert status == 200  # the session itself lives on (it can resume with Last-Event-ID)
        writer.close()


async def test_a_quiet_sse_stream_gets_keepalive_comments(server: McpServer, http: aiohttp.ClientSession) -> None:
    assert server.http is not None
    endpoint = server.http.endpoint
    endpoint.settings = dataclasses.replace(endpoint.settings, sse_keepalive_s=0.05)
    sid = await open_session(http, url(server))
    async with http.get(url(server), headers=legacy_headers(sid)) as resp:
        async with asyncio.timeout(TIMEOUT_S):
            line = await resp.content.readline()
    assert line == b": keepalive\n"


async def test_an_error_answer_carries_its_status_whatever_the_id(
    server: McpServer, http: aiohttp.ClientSession
) -> None:
    rid = "r" * 100  # the error member then starts far into the answer
    body = modern_request(rid, "tools/call", {"name": "no_such_tool", "arguments": {}})
    status, answer = await post(http, url(server), body, modern_headers(body))
    assert status == 400 and answer["id"] == rid and answer["error"]["code"] == -32602
    failing = modern_request(rid, "tools/call", {"name": "fail", "arguments": {}})
    status, answer = await post(http, url(server), failing, modern_headers(failing))
    assert status == 200 and answer["result"]["isError"] is True  # a tool error is a result, not a JSON-RPC error
