"""Drive a TradingMCP server with mcp 1.30.0's deprecated ``mcp.client.websocket.websocket_client``.

Runs in the separate ``.venv-mcp1`` (mcp 1.x and 2.x cannot share a venv)::

    .venv-mcp1/bin/python tests/interop/mcp1_client.py ws://127.0.0.1:8765/mcp

That client takes no headers (so no token: the server under test runs without auth), offers only the ``mcp``
subprotocol, and speaks the initialize handshake. Prints one JSON document on stdout: the negotiated version, the
tool names (all pages), the ``echo`` result, progress updates, a resource read and a ``resources/updated`` notice.
Exit code 0 on success, 1 on any failure (the traceback goes to stderr).
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import anyio
from mcp import ClientSession, types
from pydantic import AnyUrl

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from mcp.client.websocket import websocket_client

COUNTER_URI = "demo://counter"


async def run(url: str) -> dict[str, Any]:
    """Connect, initialize, list tools, call tools, read and subscribe; returns what was seen."""
    updated = anyio.Event()
    updated_uris: list[str] = []
    progress: list[list[float | None]] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
            message.root, types.ResourceUpdatedNotification
        ):
            updated_uris.append(str(message.root.params.uri))
            updated.set()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append([value, total])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        transport = websocket_client(url)
    with anyio.fail_after(30):
        async with transport as (read, write), ClientSession(read, write, message_handler=on_message) as session:
            init = await session.initialize()
            tools: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
                pages += 1
                tools += [t.name for t in page.tools]
                cursor = page.nextCursor
                if cursor is None or pages >= 100:
                    break
            echo = await session.call_tool("echo", {"text": "from mcp 1.30", "n": 130})
            slow = await session.call_tool("slow", {"steps": 3, "delay_ms": 1}, progress_callback=on_progress)
            counter = await session.read_resource(AnyUrl(COUNTER_URI))
            await session.subscribe_resource(AnyUrl(COUNTER_URI))
            await session.call_tool("bump", {})
            await updated.wait()
    return {
        "ok": True,
        "protocolVersion": init.protocolVersion,
        "serverInfo": init.serverInfo.model_dump(mode="json", exclude_none=True),
        "tools": tools,
        "pages": pages,
        "echo": echo.model_dump(mode="json", by_alias=True, exclude_none=True),
        "slow": slow.model_dump(mode="json", by_alias=True, exclude_none=True),
        "progress": progress,
        "counter": counter.model_dump(mode="json", by_alias=True, exclude_none=True),
        "updated": updated_uris,
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: mcp1_client.py <ws-url>", file=sys.stderr)
        return 2
    result = anyio.run(run, sys.argv[1])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
