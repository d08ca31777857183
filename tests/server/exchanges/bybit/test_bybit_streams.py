"""``BybitSocket`` against a minimal WebSocket peer on loopback that answers ops without echoing ``req_id`` (as a
Bybit endpoint may): each answer still settles the request of its op, ``pong`` answers ``ping``, data messages go
to the callback, and a server close fails what is pending."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tradingmcp.server.exchanges.bybit.streams import BybitSocket
from tradingmcp.server.exchanges.errors import ExchangeUnavailable
from tradingmcp.sim.http import start_http


@pytest.fixture
async def peer() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            op = json.loads(msg.data)["op"]
            if op == "ping":
                await ws.send_str(json.dumps({"op": "pong", "args": ["1"], "conn_id": "c"}))
            elif op == "close":
                await ws.close()
            else:
                await ws.send_str(json.dumps({"topic": "wallet", "data": []}))
                await ws.send_str(json.dumps({"success": True, "ret_msg": "", "op": op, "conn_id": "c"}))
        return ws

    app = web.Application()
    app.router.add_get("/v5/private", handle)
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{port}/v5/private"
    finally:
        await runner.cleanup()


async def test_answers_without_req_id_settle_their_op(peer: str) -> None:
    data: list[dict[str, Any]] = []
    sock = BybitSocket(peer, data.append, ack_timeout_s=2.0)
    await sock.open()
    try:
        assert (await sock.op("auth", ["k", "1", "s"]))["op"] == "auth"
        assert (await sock.op("ping"))["op"] == "pong"
        assert (await sock.op("subscribe", ["order"]))["success"] is True
        assert [m["topic"] for m in data] == ["wallet", "wallet"]
        with pytest.raises(ExchangeUnavailable):
            await sock.op("close")
        assert sock.closed.is_set()
    finally:
        await sock.close()
