"""The route seam: routes another package contributes (``McpServer(routes=...)``) answer on the MCP port behind the
same guard, read the caller with ``principal_of``/``require_scope``, and leave ``/mcp``, ``/health`` and WebSocket as
they were."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from tests.wire_helpers import Recorder, make_app
from tradingmcp.server.http.guard import require_scope
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws
from tradingmcp.transport.auth import TokenStore

from .helpers import OTHER_TOKEN, TOKEN, modern_headers, modern_request, post

TOKENS = TokenStore({TOKEN: ("alice", {"read", "trade"}), OTHER_TOKEN: ("bob", {"audit"})})


async def price(request: web.Request) -> web.Response:
    who = require_scope(request, "read")
    return web.json_response({"symbol": request.match_info["symbol"], "caller": who.name})


async def test_contributed_routes_are_served_behind_the_guard() -> None:
    server = McpServer(make_app(), ServerConfig(port=0, tokens=TOKENS), routes=[web.get("/v1/price/{symbol}", price)])
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/v1/price/BTCUSDT", headers=auth) as resp:
                assert resp.status == 200 and await resp.json() == {"symbol": "BTCUSDT", "caller": "alice"}
            async with http.get(f"{base}/v1/price/BTCUSDT") as resp:
                assert resp.status == 401 and "WWW-Authenticate" in resp.headers
            async with http.get(f"{base}/v1/price/BTCUSDT", headers={"Authorization": f"Bearer {OTHER_TOKEN}"}) as resp:
                assert resp.status == 403  # the token lacks the read scope
            async with http.get(f"{base}/v1/price/BTCUSDT", headers={**auth, "Host": "evil.example"}) as resp:
                assert resp.status == 403
            async with http.get(f"{base}/health") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "ok"
            async with http.get(f"{base}/nothing-here", headers=auth) as resp:
                assert resp.status == 404
            body = modern_request(1, "tools/call", {"name": "echo", "arguments": {"x": 1}})
            status, answer = await post(http, server.http_url, body, modern_headers(body))
            assert status == 200 and answer["result"]["structuredContent"] == {"x": 1}
        rec = Recorder()
        conn = await ws.connect(server.url, rec, headers=auth)
        conn.send_text(b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
        assert (await rec.wait_for(lambda m: m.get("id") == 1))["result"] == {}
        conn.close()
    finally:
        await server.stop()
