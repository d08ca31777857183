"""Input-required results (2026-07-28 Multi Round-Trip Requests) on the WebSocket face, both backends: the engine
that serves Streamable HTTP serves them here too, and a retry needs nothing of the connection that asked (it is
answered on another connection, as a stateless server must), while a tampered state is refused there too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wire_helpers import open_raw
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.tools.conformance import register_conformance_fixtures
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws
from tradingmcp.transport.jsonrpc import ErrorCode

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}


def multi_round(rid: str, **params: Any) -> dict[str, Any]:
    args = {"name": "test_input_required_result_multi_round", "arguments": {}, "_meta": META, **params}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": args}


def accepted(**content: Any) -> dict[str, Any]:
    return {"action": "accept", "content": content}


@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_rounds_over_websocket_span_connections(backend: ws.Backend) -> None:
    app = McpApp(name="mrtr-ws")
    register_conformance_fixtures(app)
    srv = await McpServer(app, ServerConfig(port=0, backend=backend, drain_timeout_s=1.0)).start()
    try:
        first, second = (
            await open_raw(srv.url, backend, initialize=False),
            await open_raw(srv.url, backend, initialize=False),
        )
        first.send(multi_round("r1"))
        r1 = (await first.response("r1"))["result"]
        assert r1["resultType"] == "input_required" and list(r1["inputRequests"]) == ["step1"]
        second.send(multi_round("r2", inputResponses={"step1": accepted(name="Ada")}, requestState=r1["requestState"]))
        r2 = (await second.response("r2"))["result"]
        assert r2["resultType"] == "input_required" and list(r2["inputRequests"]) == ["step2"]
        first.send(multi_round("r3", inputResponses={"step2": accepted(color="red")}, requestState=r2["requestState"]))
        r3 = (await first.response("r3"))["result"]
        assert r3["resultType"] == "complete" and r3["content"] == [{"type": "text", "text": "Ada likes red"}]
        forged = r2["requestState"][:-2] + ("AA" if not r2["requestState"].endswith("AA") else "BB")
        second.send(multi_round("r4", inputResponses={"step2": accepted(color="red")}, requestState=forged))
        refused = await second.response("r4")
        assert refused["error"]["code"] == ErrorCode.INVALID_PARAMS and "integrity" in refused["error"]["message"]
        await first.close()
        await second.close()
    finally:
        await srv.stop()
