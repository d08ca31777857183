"""``read_stream`` over the real HTTP face (2026-07-28 POSTs, as a standard host calls it): the first read subscribes
and waits, later reads return what changed since the cursor, bounded; the subscription ends after the last read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.server.http.helpers import modern_headers, modern_request, post
from tests.wire_helpers import TIMEOUT_S, Probe, make_app, make_hub, running, wait_until
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.live import poll
from tradingmcp.server.tools.live.feeds import InternalSubscriber
from tradingmcp.server.tools.live.poll import StreamReader, register_read_tool
from tradingmcp.server.wsserver import McpServer

KEY = "ticks:sim:BTCUSDT"


class Stack:
    def __init__(self, server: McpServer, hub: StreamHub, reader: StreamReader, probe: Probe) -> None:
        self.server, self.hub, self.reader, self.probe = server, hub, reader, probe
        self.http: aiohttp.ClientSession | None = None

    async def read(self, rid: int, **args: Any) -> dict[str, Any]:
        assert self.http is not None
        body = modern_request(rid, "tools/call", {"name": "read_stream", "arguments": {"stream": KEY, **args}})
        status, answer = await post(self.http, self.server.http_url, body, modern_headers(body, token=None))
        assert status == 200, answer
        if isinstance(answer, list):  # an SSE response: the answer is its last event
            answer = answer[-1]
        result: dict[str, Any] = answer["result"]
        assert not result["isError"], result
        return dict(result["structuredContent"])


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    probe = Probe()
    hub = make_hub(probe)
    app = make_app(probe, hub)
    reader = register_read_tool(app, hub)
    async with (
        running(app, "picows", hub=hub) as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
    ):
        s = Stack(server, hub, reader, probe)
        s.http = http
        yield s
        reader.close()


async def test_first_read_subscribes_and_waits_then_reads_since_the_cursor(stack: Stack) -> None:
    first = asyncio.ensure_future(stack.read(1, wait_s=5))
    await wait_until(lambda: stack.hub.subscriber_count(KEY) == 1)
    assert stack.probe.starts == [KEY]  # the exchange-side source started once
    stack.hub.publish(KEY, {"p": 1})
    got = await first
    assert [i["data"] for i in got["items"]] == [{"p": 1}] and got["cursor"] == 1 and not got["timed_out"]
    for p in (2, 3, 4):
        stack.hub.publish(KEY, {"p": p})
    page = await stack.read(2, cursor=got["cursor"], max_items=2, wait_s=0)
    assert [i["data"]["p"] for i in page["items"]] == [2, 3] and page["more"] is True and page["cursor"] == 3
    rest = await stack.read(3, cursor=page["cursor"], wait_s=0)
    assert [i["data"]["p"] for i in rest["items"]] == [4] and rest["more"] is False
    idle = await stack.read(4, cursor=rest["cursor"], wait_s=0.05)
    assert idle["items"] == [] and idle["timed_out"] is True and idle["cursor"] == 4
    assert stack.hub.subscriber_count(KEY) == 1  # one subscription for every read


async def test_a_reader_that_falls_behind_is_told_what_it_missed(stack: Stack) -> None:
    await stack.read(1, wait_s=0)
    for p in range(poll.BUFFER_ITEMS + 5):
        stack.hub.publish(KEY, {"p": p})
    got = await stack.read(2, cursor=0, max_items=3, wait_s=0)
    assert got["missed"] == 5 and [i["seq"] for i in got["items"]] == [6, 7, 8]


async def test_the_subscription_ends_after_the_last_read(stack: Stack) -> None:
    stack.reader.linger_s = 0.1
    await stack.read(1, wait_s=0)
    assert stack.hub.subscriber_count(KEY) == 1
    await wait_until(lambda: stack.hub.subscriber_count(KEY) == 0 and stack.probe.stops)
    assert stack.probe.stops == [KEY]  # the source stopped once the subscription ended


async def test_a_bad_stream_key_is_32602(stack: Stack) -> None:
    assert stack.http is not None
    body = modern_request(1, "tools/call", {"name": "read_stream", "arguments": {"stream": "nope:sim:X"}})
    status, answer = await post(stack.http, stack.server.http_url, body, modern_headers(body, token=None))
    assert status == 400 and answer["error"]["code"] == -32602


async def test_items_carry_the_streams_seq_and_a_cursor_resumes_on_a_new_subscription(stack: Stack) -> None:
    # lossless messages (as trades and orders are): the replay window keeps each one
    keeper = InternalSubscriber(lambda key, data: None)  # another subscriber keeps the stream (and its window) alive
    await stack.hub.subscribe(keeper, KEY)
    for p in range(3):
        stack.hub.publish(KEY, {"p": p}, conflate=False)
    first = await stack.read(1, wait_s=0)  # subscribes after seq 3: nothing yet
    assert first["items"] == [] and first["cursor"] == 3
    stack.hub.publish(KEY, {"p": 3}, conflate=False)
    got = await stack.read(2, cursor=first["cursor"], wait_s=0)
    assert [(i["seq"], i["data"]["p"]) for i in got["items"]] == [(4, 3)]  # the stream's seq, as pushed
    stack.reader.close()  # the reading ends (as on a gateway the client left)
    for p in (4, 5):
        stack.hub.publish(KEY, {"p": p}, conflate=False)
    resumed = await stack.read(3, cursor=got["cursor"], wait_s=0)  # a new subscription resumes after the cursor
    assert [(i["seq"], i["data"]["p"]) for i in resumed["items"]] == [(5, 4), (6, 5)] and resumed["missed"] == 0
    stack.hub.release(keeper)
