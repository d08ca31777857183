"""The HTTP face's guard on real HTTP: the same auth and Origin/Host rules as the WebSocket handshake, a request-rate
limit per token (429 with ``Retry-After``), and open ``/health``."""

from __future__ import annotations

import aiohttp
import orjson

from tests.wire_helpers import TIMEOUT_S, make_app, running
from tradingmcp.transport.auth import TokenStore
from tradingmcp.transport.ratelimit import RateLimit

from .helpers import OTHER_TOKEN, TOKEN, modern_headers, modern_request, post

TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"}), OTHER_TOKEN: ("bob", {"read"})})
BODY = modern_request(1, "tools/call", {"name": "echo", "arguments": {"x": 1}})


async def test_no_or_bad_token_is_401_with_www_authenticate() -> None:
    async with running(make_app(), "picows", tokens=TOKENS) as server, aiohttp.ClientSession() as http:
        for token in (None, "wrong"):
            async with http.post(server.http_url, data=orjson.dumps(BODY), headers=modern_headers(BODY, token)) as resp:
                assert resp.status == 401
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert (await resp.json())["error"]["code"] == -32600
        async with http.get(f"http://127.0.0.1:{server.port}/health") as resp:
            assert resp.status == 200  # open, as on the WebSocket side
        status, answer = await post(http, server.http_url, BODY, modern_headers(BODY))
        assert status == 200 and answer["result"]["structuredContent"] == {"x": 1}


async def test_scopes_apply_as_on_websocket() -> None:
    body = modern_request(
        2, "tools/call", {"name": "place_order", "arguments": {"symbol": "X", "order": {"quantity": 1}}}
    )
    async with running(make_app(), "picows", tokens=TOKENS) as server, aiohttp.ClientSession() as http:
        _, denied = await post(http, server.http_url, body, modern_headers(body, OTHER_TOKEN))
        _, allowed = await post(http, server.http_url, body, modern_headers(body, TOKEN))
    assert denied["result"]["isError"] is True and "trade" in denied["result"]["content"][0]["text"]
    assert allowed["result"]["structuredContent"] == {"accepted": True}


async def test_host_and_origin_are_checked_with_403() -> None:
    async with (
        running(make_app(), "picows", tokens=TOKENS, allowed_origins=frozenset({"https://app.example"})) as server,
        aiohttp.ClientSession() as http,
    ):
        for extra in ({"Host": f"evil.example:{server.port}"}, {"Origin": "https://evil.example"}):
            status, _ = await post(http, server.http_url, BODY, modern_headers(BODY, **extra))
            assert status == 403, extra
        status, _ = await post(http, server.http_url, BODY, modern_headers(BODY, Origin="https://app.example"))
        assert status == 200
        # the server's own origin passes (the Host it was checked with); another loopback origin does not
        own = f"127.0.0.1:{server.port}"
        status, _ = await post(http, server.http_url, BODY, modern_headers(BODY, Host=own, Origin=f"http://{own}"))
        assert status == 200
        other = f"http://localhost:{server.port}"
        status, _ = await post(http, server.http_url, BODY, modern_headers(BODY, Host=own, Origin=other))
        assert status == 403


async def test_rate_limit_per_token_is_429_with_retry_after() -> None:
    limit = RateLimit(per_s=0.5, burst=3)
    async with (
        running(make_app(), "picows", tokens=TOKENS, rate_limit=limit) as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
    ):
        statuses = []
        for _ in range(4):
            async with http.post(server.http_url, data=orjson.dumps(BODY), headers=modern_headers(BODY)) as resp:
                statuses.append(resp.status)
                last = resp.headers.get("Retry-After"), await resp.json()
        # another token has its own bucket
        status, _ = await post(http, server.http_url, BODY, modern_headers(BODY, OTHER_TOKEN))
    assert statuses == [200, 200, 200, 429]
    retry_after, answer = last
    assert retry_after is not None and int(retry_after) >= 1
    assert answer["error"]["code"] == -32005 and answer["error"]["data"]["retry_after_ms"] > 0
    assert status == 200
