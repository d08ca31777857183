"""The request headers of ``/mcp`` over real HTTP (aiohttp client, loopback): ``MCP-Protocol-Version`` in the session
era (2025-11-25: a version the server does not speak is 400, none means the negotiated one), a 2026-07-28 body
without the header, and the ``Mcp-Param-*`` headers of tools whose parameters carry ``x-mcp-header`` (2026-07-28,
SEP-2243): checked against the body after Base64 decoding, 400 with -32020 when missing, malformed or different."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, make_hub, running
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport.auth import TokenStore

from .helpers import TOKEN, legacy_headers, modern_headers, modern_request, open_session, post

TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"})})
ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "shard": {"type": "integer", "x-mcp-header": "Shard"},
        "dry": {"type": "boolean", "x-mcp-header": "Dry"},
        "where": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
        "note": {"type": "string"},
    },
}


@pytest.fixture
async def server() -> AsyncIterator[McpServer]:
    probe = Probe()
    hub = make_hub(probe)
    app = make_app(probe, hub)

    @app.tool("route", "Echo the routed arguments.", ROUTE_SCHEMA)
    def route(call: Any, args: dict[str, Any]) -> dict[str, Any]:
        return {"args": args}

    async with running(app, "picows", hub=hub, tokens=TOKENS) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        yield session


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


# ---------------------------------------------------------------- MCP-Protocol-Version, session era


@pytest.mark.parametrize("version", [None, "2025-11-25", "2025-06-18"])
async def test_a_session_request_with_a_supported_or_no_version_header_is_served(
    server: McpServer, http: aiohttp.ClientSession, version: str | None
) -> None:
    sid = await open_session(http, server.http_url)
    extra = {} if version is None else {"MCP-Protocol-Version": version}
    status, answer = await post(http, server.http_url, LIST, legacy_headers(sid, **extra))
    assert status == 200 and "tools" in answer["result"], answer


@pytest.mark.parametrize("version", ["2025-99-99", "garbage", "2024-11-05x"])
async def test_a_session_request_with_an_unsupported_version_is_400_and_the_session_lives_on(
    server: McpServer, http: aiohttp.ClientSession, version: str
) -> None:
    sid = await open_session(http, server.http_url)
    status, answer = await post(http, server.http_url, LIST, legacy_headers(sid, **{"MCP-Protocol-Version": version}))
    assert status == 400, answer
    error = answer["error"]
    assert error["code"] == -32600 and "MCP-Protocol-Version" in error["message"] and version in error["message"]
    assert error["data"]["requested"] == version
    assert "2025-11-25" in error["data"]["supported"] and "2026-07-28" in error["data"]["supported"]
    status, answer = await post(
        http, server.http_url, LIST, legacy_headers(sid, **{"MCP-Protocol-Version": "2025-11-25"})
    )
    assert status == 200 and "tools" in answer["result"]


async def test_get_and_delete_check_the_version_header(server: McpServer, http: aiohttp.ClientSession) -> None:
    sid = await open_session(http, server.http_url)
    async with http.get(server.http_url, headers=legacy_headers(sid, **{"MCP-Protocol-Version": "2025-99-99"})) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["data"]["requested"] == "2025-99-99"
    async with http.get(server.http_url, headers=legacy_headers(sid, **{"MCP-Protocol-Version": "2026-07-28"})) as resp:
        assert resp.status == 405 and resp.headers["Allow"] == "POST"
    async with http.delete(
        server.http_url, headers=legacy_headers(sid, **{"MCP-Protocol-Version": "2025-99-99"})
    ) as resp:
        assert resp.status == 400
    async with http.delete(
        server.http_url, headers=legacy_headers(sid, **{"MCP-Protocol-Version": "2026-07-28"})
    ) as resp:
        assert resp.status == 405
    status, _ = await post(http, server.http_url, LIST, legacy_headers(sid))
    assert status == 200  # neither refused DELETE ended the session
    async with http.delete(
        server.http_url, headers=legacy_headers(sid, **{"MCP-Protocol-Version": "2025-11-25"})
    ) as resp:
        assert resp.status == 204


async def test_a_2026_body_without_the_version_header_is_32020(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = modern_request(7, "tools/list")
    headers = modern_headers(body)
    del headers["MCP-Protocol-Version"]
    status, answer = await post(http, server.http_url, body, headers)
    assert status == 400 and answer["id"] == 7, answer
    assert answer["error"]["code"] == -32020 and "MCP-Protocol-Version" in answer["error"]["message"]


# ---------------------------------------------------------------- Mcp-Param-*, 2026-07-28


def route_call(rid: int, args: dict[str, Any]) -> dict[str, Any]:
    return modern_request(rid, "tools/call", {"name": "route", "arguments": args})


async def call_route(
    http: aiohttp.ClientSession, server: McpServer, args: dict[str, Any], **headers: str
) -> tuple[int, Any]:
    body = route_call(5, args)
    return await post(http, server.http_url, body, modern_headers(body, **headers))


@pytest.mark.parametrize(
    ("args", "headers"),
    [
        ({"region": "us-west1"}, {"Mcp-Param-Region": "us-west1"}),
        ({"region": "Hello, 世界"}, {"Mcp-Param-Region": "=?base64?SGVsbG8sIOS4lueVjA==?="}),
        ({"region": " padded "}, {"Mcp-Param-Region": "=?base64?IHBhZGRlZCA=?="}),
        ({"region": "=?base64?literal?="}, {"Mcp-Param-Region": "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="}),
        (
            {"region": "SGVsbG8="},
            {"mcp-param-region": "SGVsbG8="},
        ),  # no sentinel: a literal; names are case-insensitive
        ({"shard": 42}, {"Mcp-Param-Shard": "42"}),
        ({"shard": 42}, {"Mcp-Param-Shard": "42.0"}),  # integers compare as numbers
        ({"shard": -7, "dry": False}, {"Mcp-Param-Shard": "-7", "Mcp-Param-Dry": "false"}),
        ({"where": {"zone": "b"}, "note": "n"}, {"Mcp-Param-Zone": "b"}),
        ({"note": "nothing mirrored"}, {}),
    ],
)
async def test_matching_param_headers_are_served(
    server: McpServer, http: aiohttp.ClientSession, args: dict[str, Any], headers: dict[str, str]
) -> None:
    status, answer = await call_route(http, server, args, **headers)
    assert status == 200, answer
    assert answer["result"]["structuredContent"] == {"args": args}


async def test_a_null_argument_needs_no_param_header(server: McpServer, http: aiohttp.ClientSession) -> None:
    status, answer = await call_route(http, server, {"region": None})
    assert status == 400 and answer["error"]["code"] == -32602, answer  # past the header check, refused by the schema
    assert "arguments.region" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("args", "headers", "what"),
    [
        ({"region": "us-west1"}, {}, "Mcp-Param-Region header is required"),
        ({"where": {"zone": "b"}}, {}, "Mcp-Param-Zone header is required"),
        ({"region": "us-west1"}, {"Mcp-Param-Region": "eu-north1"}, "does not match"),
        ({"region": "Hello"}, {"Mcp-Param-Region": "=?base64?SGVsbG8?="}, "malformed"),  # bad padding
        ({"region": "Hello"}, {"Mcp-Param-Region": "=?base64?SGVs!!!bG8=?="}, "malformed"),  # not the alphabet
        ({"shard": 42}, {"Mcp-Param-Shard": "43"}, "does not match"),
        ({"shard": 42}, {"Mcp-Param-Shard": "forty-two"}, "does not match"),
        ({"dry": True}, {"Mcp-Param-Dry": "True"}, "does not match"),  # lowercase only
    ],
)
async def test_missing_malformed_or_different_param_headers_are_32020(
    server: McpServer, http: aiohttp.ClientSession, args: dict[str, Any], headers: dict[str, str], what: str
) -> None:
    status, answer = await call_route(http, server, args, **headers)
    assert status == 400, answer
    assert answer["id"] == 5 and answer["error"]["code"] == -32020 and what in answer["error"]["message"], answer


async def test_a_repeated_param_header_is_32020(server: McpServer, http: aiohttp.ClientSession) -> None:
    body = route_call(6, {"region": "a"})
    headers = [*modern_headers(body).items(), ("Mcp-Param-Region", "a"), ("Mcp-Param-Region", "a")]
    async with http.post(server.http_url, json=body, headers=headers) as resp:
        assert resp.status == 400
        answer = await resp.json()
    assert answer["error"]["code"] == -32020 and "more than once" in answer["error"]["message"]


async def test_the_session_era_does_not_ask_for_param_headers(server: McpServer, http: aiohttp.ClientSession) -> None:
    sid = await open_session(http, server.http_url)
    body = {
        "jsonrpc": "2.0",
        "id": 8,
        "method": "tools/call",
        "params": {"name": "route", "arguments": {"region": "x"}},
    }
    status, answer = await post(http, server.http_url, body, legacy_headers(sid))
    assert status == 200 and answer["result"]["structuredContent"] == {"args": {"region": "x"}}, answer
