"""Peers no one here wrote drive our server: the TypeScript SDK (Node) and mcp 1.30.0's deprecated websocket client.

Each peer runs as a subprocess against our real server on 127.0.0.1 and prints one JSON document; these tests check it.
A missing peer (``node_modules`` or ``.venv-mcp1``) FAILS with "run make interop-deps": it is never skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradingmcp.transport import ws

from .fixtures import (
    FILLER_TOOLS,
    NODE_DIR,
    REPO,
    TOKEN,
    DemoState,
    last_json_line,
    require_mcp1,
    require_node,
    run_peer,
    running_server,
)

pytestmark = pytest.mark.interop


def test_a_missing_peer_fails_and_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="run make interop-deps"):
        require_node(tmp_path)
    with pytest.raises(pytest.fail.Exception, match="run make interop-deps"):
        require_mcp1(tmp_path / "bin" / "python")


TOOLS = ["echo", "slow", "bump", "say", "fail", *(f"filler_{i:02d}" for i in range(FILLER_TOOLS))]
TS_CLIENT = NODE_DIR / "ts_client.mjs"
MCP1_CLIENT = REPO / "tests" / "interop" / "mcp1_client.py"


@pytest.mark.parametrize(
    ("backend", "auth"),
    [("picows", True), ("websockets", True), ("picows", False)],
    ids=["picows-auth", "ws-auth", "noauth"],
)
async def test_typescript_sdk_client(backend: ws.Backend, auth: bool) -> None:
    node = require_node()
    async with running_server(DemoState(counter=5), page_size=4, tokens=auth, backend=backend) as server:
        argv = [node, str(TS_CLIENT), server.url, *(["--token", TOKEN] if auth else [])]
        code, out, err = await run_peer(argv)
    assert code == 0, f"ts_client.mjs failed ({code}): {out}\n{err}"
    doc = json.loads(last_json_line(out))
    assert doc["ok"] is True
    assert doc["serverVersion"] == {"name": "tradingmcp-interop-demo", "version": "9.9.9"}
    assert doc["capabilities"]["resources"]["subscribe"] is True
    assert doc["tools"] == TOOLS
    assert doc["pages"] == 3
    assert doc["echo"]["structuredContent"] == {"text": "from typescript", "n": 42}
    assert json.loads(doc["echo"]["content"][0]["text"]) == {"text": "from typescript", "n": 42}
    assert doc["echo"]["isError"] is False
    assert doc["slow"]["structuredContent"] == {"done": 3}
    # The TS SDK runs notification handlers a microtask later but resolves responses at once, so the last progress
    # notification (sent just before the result, often in the same TCP read) may be dropped on its side.
    assert doc["progress"] in ([[1, 3], [2, 3]], [[1, 3], [2, 3], [3, 3]])
    assert doc["badArgs"]["code"] == -32602
    assert doc["resources"] == ["demo://counter"]
    assert json.loads(doc["counter"][0]["text"]) == {"count": 5}


async def test_typescript_sdk_client_with_a_wrong_token_gets_401() -> None:
    node = require_node()
    async with running_server(DemoState(), tokens=True) as server:
        code, out, err = await run_peer([node, str(TS_CLIENT), server.url, "--token", "not-the-token"])
        assert not server.connections
    assert code == 3, f"expected a connect failure: {out}\n{err}"
    doc = json.loads(last_json_line(out))
    assert doc == {"ok": False, "stage": "connect", "error": "Unexpected server response: 401"}
    assert "not-the-token" not in out  # the rejected token is not echoed back


@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_mcp1_websocket_client(backend: ws.Backend) -> None:
    python = require_mcp1()
    state = DemoState(counter=2)
    async with running_server(state, page_size=4, backend=backend) as server:
        code, out, err = await run_peer([str(python), str(MCP1_CLIENT), server.url])
    assert code == 0, f"mcp1_client.py failed ({code}): {out}\n{err}"
    doc = json.loads(last_json_line(out))
    assert doc["protocolVersion"] == "2025-11-25"
    assert doc["serverInfo"] == {"name": "tradingmcp-interop-demo", "version": "9.9.9"}
    assert doc["tools"] == TOOLS
    assert doc["pages"] == 3
    assert doc["echo"]["structuredContent"] == {"text": "from mcp 1.30", "n": 130}
    assert json.loads(doc["echo"]["content"][0]["text"]) == {"text": "from mcp 1.30", "n": 130}
    assert doc["slow"]["structuredContent"] == {"done": 3}
    assert doc["progress"] == [[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]]
    assert json.loads(doc["counter"]["contents"][0]["text"]) == {"count": 2}
    assert doc["updated"] == ["demo://counter"]
    assert state.counter == 3  # the bump really ran on the server
