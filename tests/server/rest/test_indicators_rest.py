"""``GET /v1/indicators`` over real HTTP on the whole stack: the same series as the MCP tool ``get_indicators`` for
the same candles, and a 400 naming ``indicators`` for a malformed list, an unknown indicator or a bad parameter."""

from __future__ import annotations

import aiohttp

from ..support import READER_TOKEN, ToolServer

AUTH = {"Authorization": f"Bearer {READER_TOKEN}"}


async def get(srv: ToolServer, path: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(srv.http_url + path, headers=AUTH) as r:
        assert r.content_type == "application/json", await r.text()
        body: dict[str, object] = await r.json()
        return r.status, body


async def test_rest_and_the_tool_give_the_same_series(tool_server: ToolServer) -> None:
    tool_server.sim.step(60_000)
    query = "interval=1s&limit=30&indicators=rsi:timeperiod=7,bbands:timeperiod=10:nbdevup=2.5,vwap"
    status, body = await get(tool_server, f"/v1/indicators/binance/btcusdt?{query}")
    assert status == 200, body
    async with tool_server.client(token=READER_TOKEN) as c:
        res = await c.call_tool("get_indicators", {"symbol": "BTCUSDT", "interval": "1s", "limit": 30, "indicators": [
            {"name": "rsi", "params": {"timeperiod": 7}},
            {"name": "bbands", "params": {"timeperiod": 10, "nbdevup": 2.5}},
            {"name": "vwap"},
        ]})  # fmt: skip
    tool = res["structuredContent"]
    for key in ("exchange", "symbol", "interval", "count", "candles", "close_time_ms", "indicators"):
        assert body[key] == tool[key], key
    assert body["count"] == 30 and body["symbol"] == "BTCUSDT" and isinstance(body["cached"], bool)
    indicators = body["indicators"]
    assert isinstance(indicators, list) and indicators[1]["params"]["nbdevup"] == 2.5
    assert indicators[0]["params"] == {"timeperiod": 7} and indicators[0]["unit"] == "percent 0-100"

    status, body = await get(tool_server, "/v1/indicators/binance/ETHUSDT?interval=1s")
    assert status == 200 and [i["name"] for i in body["indicators"]] == ["rsi"]  # type: ignore[attr-defined]


async def test_bad_indicators_are_400(tool_server: ToolServer) -> None:
    for query, words in (
        ("indicators=RSI", "name[:param=value...]"),
        ("indicators=rsi,", "joined by commas"),
        ("indicators=" + ",".join(["rsi"] * 9), "at most 8"),
        ("indicators=foo", "unknown indicator 'foo'"),
        ("indicators=sma:timeperiod=1", "sma: timeperiod must be an integer 2..100000, got 1"),
        ("indicators=macd:fastperiod=30", "fastperiod (30) must be below slowperiod (26)"),
    ):
        status, body = await get(tool_server, f"/v1/indicators/binance/BTCUSDT?{query}")
        error = body["error"]
        assert status == 400 and isinstance(error, dict), body
        assert error["field"] == "indicators" and words in error["message"], body
