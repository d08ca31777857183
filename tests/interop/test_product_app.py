"""The product's own tool set (``tradingmcp.app.serve.build_app``) as the official SDK sees it, and our live streams
(``notifications/tradingmcp/stream``) received by an SDK client through a SEP-2133 notification binding."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from mcp.client import Client, ClientExtension, NotificationBinding
from pydantic import BaseModel

from tradingmcp.app.serve import build_app
from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.server.mcp.streams import STREAM_METHOD, StreamSource
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws

pytestmark = pytest.mark.interop

WAIT_S = 5.0
STREAM = "ticks:sim:BTCUSDT"


class StreamParams(BaseModel):
    """``notifications/tradingmcp/stream`` params: the stream key, its per-stream ``seq``, the payload."""

    stream: str
    seq: int
    data: dict[str, Any]


class TradingStreams(ClientExtension):
    """What a bot author writes to receive our pushes with the SDK: bind the notification method to a handler."""

    identifier = "io.tradingmcp/streams"

    def __init__(self) -> None:
        self.received: asyncio.Queue[StreamParams] = asyncio.Queue()

    async def _on_stream(self, params: StreamParams) -> None:
        await self.received.put(params)

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        return [NotificationBinding(method=STREAM_METHOD, params_type=StreamParams, handler=self._on_stream)]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sdk_lists_and_calls_the_product_tools_and_receives_streams(mode: str) -> None:
    app, hub = build_app()
    started: list[str] = []
    stopped: list[str] = []
    hub.add_source(StreamSource("ticks", "synthetic ticks (test)", started.append, stopped.append))
    server = await McpServer(
        app, ServerConfig(port=0, drain_timeout_s=1.0, wire=ws.WireOptions(ping_interval_s=0)), streams=hub
    ).start()
    streams = TradingStreams()
    try:
        async with (
            asyncio.timeout(WAIT_S),
            Client(websocket_transport(server.url), mode=mode, extensions=[streams]) as client,
        ):
            listed = await client.list_tools()
            info = await client.call_tool("get_server_info", {})
            sub = await client.call_tool("subscribe", {"stream": STREAM})
            for price in (100, 101, 102):
                assert hub.publish(STREAM, {"price": price}) == 1
            got = [await streams.received.get() for _ in range(3)]
            unsub = await client.call_tool("unsubscribe", {"stream": STREAM})
    finally:
        async with asyncio.timeout(WAIT_S):
            await server.stop()
    names = {t.name for t in listed.tools}
    assert {"echo", "get_server_info", "subscribe", "unsubscribe", "list_subscriptions"} <= names
    assert names == set(app.tools)
    assert info.structured_content is not None and "ticks" in info.structured_content["stream_kinds"]
    assert sub.structured_content is not None and sub.structured_content["epoch"].startswith(hub.epoch)
    assert sub.structured_content == {
        "stream": STREAM,
        "subscribed": True,
        "new": True,
        "method": STREAM_METHOD,
        "epoch": sub.structured_content["epoch"],
        "seq": 0,
        "first_seq": 1,
        "replayed": 0,
        "conflates": True,
    }
    assert unsub.structured_content == {"stream": STREAM, "subscribed": False, "was_subscribed": True}
    # the SDK dispatches notifications independently, so it does not promise wire order to a binding
    assert sorted((p.seq, p.data["price"]) for p in got) == [(1, 100), (2, 101), (3, 102)]
    assert {p.stream for p in got} == {STREAM}
    assert started == [STREAM] and stopped == [STREAM]
