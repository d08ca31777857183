"""The asyncio shell of the session core (:class:`~tradingmcp.server.mcp.runner.TaskRunner`) over real sockets, both
backends: it applies a tool's deadline, keeps a cancelled task until its tool has unwound, and tells the deadline
apart from a tool's own ``TimeoutError``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.wire_helpers import TIMEOUT_S, RawClient, open_raw, running, wait_until
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool
from tradingmcp.server.wsserver import ClientConnection, McpServer
from tradingmcp.transport import ws
from tradingmcp.transport.jsonrpc import ErrorCode

DEADLINE_S = 0.2


class Seen:
    """What the tools saw, server side."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.release = asyncio.Event()


def deadline_app(seen: Seen) -> McpApp:
    """``hang`` (waits forever, deadline ``DEADLINE_S``), ``stubborn`` (on cancel, finishes its cleanup only when
    released), ``own_timeout`` (raises TimeoutError itself, well within its deadline)."""
    app = McpApp(name="runner-test")

    async def hang(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        seen.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.cancelled.set()
            raise
        return {}

    async def stubborn(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        seen.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.cancelled.set()
            await seen.release.wait()  # cleanup that takes a while
            raise
        return {}

    async def own_timeout(call: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        raise TimeoutError("the venue did not answer")

    app.add_tool(Tool("hang", "Waits forever.", hang, {"type": "object"}, timeout_s=DEADLINE_S))
    app.add_tool(Tool("stubborn", "Slow to unwind.", stubborn, {"type": "object"}))
    app.add_tool(Tool("own_timeout", "Its own timeout.", own_timeout, {"type": "object"}, timeout_s=TIMEOUT_S))
    return app


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def server(backend: ws.Backend, seen: Seen) -> AsyncIterator[McpServer]:
    async with running(deadline_app(seen), backend) as srv:
        yield srv


async def _client(server: McpServer, backend: ws.Backend) -> tuple[RawClient, ClientConnection]:
    raw = await open_raw(server.url, backend)
    (conn,) = server.connections
    return raw, conn


async def test_the_deadline_cancels_the_tool_and_answers_deadline_exceeded(
    server: McpServer, backend: ws.Backend, seen: Seen
) -> None:
    raw, conn = await _client(server, backend)
    raw.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "hang"}})
    answer = await raw.response(1)
    assert answer["result"]["isError"] is True
    error = answer["result"]["structuredContent"]["error"]
    assert error["code"] == "deadline_exceeded" and error["timeout_s"] == DEADLINE_S
    assert seen.cancelled.is_set()  # the tool was cancelled before the answer went out
    await wait_until(lambda: not conn.runner.tasks)
    assert conn.session.in_flight == {}
    await raw.ping_ok()
    await raw.close()


async def test_a_tools_own_timeout_is_not_the_deadline(server: McpServer, backend: ws.Backend) -> None:
    raw, _conn = await _client(server, backend)
    raw.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "own_timeout"}})
    answer = await raw.response(2)
    assert answer["error"] == {"code": ErrorCode.INTERNAL_ERROR, "message": "Internal error in tools/call"}
    await raw.close()


async def test_a_cancelled_task_is_kept_until_its_tool_has_unwound(
    server: McpServer, backend: ws.Backend, seen: Seen
) -> None:
    raw, conn = await _client(server, backend)
    raw.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "stubborn"}})
    async with asyncio.timeout(TIMEOUT_S):
        await seen.started.wait()
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})
    async with asyncio.timeout(TIMEOUT_S):
        await seen.cancelled.wait()
    assert conn.session.in_flight == {}  # the core stopped counting it at the cancel decision
    assert len(conn.runner.tasks) == 1  # the shell still holds the task that is unwinding
    seen.release.set()
    await wait_until(lambda: not conn.runner.tasks)
    await raw.ping_ok()
    assert not any(m.get("id") == 3 for m in raw.rec.messages)  # a cancelled call is never answered
    await raw.close()
