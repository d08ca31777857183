"""``get_indicators`` over the real wire: McpClient → server → python-binance adapter → simulator on the recording.
Its series equal TA-Lib called directly on the candles ``get_klines`` returns from the same server."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
import talib
from jsonschema import Draft202012Validator
from mcp.client import Client

from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.client.session import McpClient, RpcError
from tradingmcp.research.indicators import Ohlcv

from ...support import READER_TOKEN, ToolServer

pytestmark = pytest.mark.data


async def call_ok(c: McpClient, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    res = await c.call_tool(name, args)
    assert res["isError"] is False, res
    return res["structuredContent"], res["content"][0]["text"]


async def invalid_params(c: McpClient, args: dict[str, Any]) -> str:
    with pytest.raises(RpcError) as exc:
        await c.call_tool("get_indicators", args)
    assert exc.value.code == -32602
    return exc.value.message


def nullable(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


async def test_series_equal_talib_on_the_served_candles(tool_server: ToolServer) -> None:
    tool_server.sim.step(120_000)
    asked = [
        {"name": "rsi"},
        {"name": "macd", "params": {"fastperiod": 6, "slowperiod": 13, "signalperiod": 4}},
        {"name": "bbands", "params": {"timeperiod": 10}},
        {"name": "atr", "params": {"timeperiod": 5}},
        {"name": "vwap"},
    ]
    async with tool_server.client(token=READER_TOKEN) as c:
        tools = {t["name"]: t for t in await c.list_tools()}
        out, text = await call_ok(
            c, "get_indicators", {"symbol": "btcusdt", "interval": "1s", "indicators": asked, "limit": 50}
        )
        klines, _ = await call_ok(c, "get_klines", {"symbol": "BTCUSDT", "interval": "1s", "limit": 500})
    tool = tools["get_indicators"]
    assert tool["annotations"]["readOnlyHint"] is True
    assert tool["inputSchema"]["properties"]["limit"]["maximum"] == 500
    Draft202012Validator(tool["outputSchema"]).validate(out)

    ohlcv = Ohlcv.from_rows(klines["columns"], klines["rows"], 1000)
    assert out["candles"] == len(ohlcv) > 400 and out["count"] == 50
    assert out["close_time_ms"] == ohlcv.close_time_ms[-50:].tolist()
    assert out["last_closed"] is klines["rows"][-1][-1]
    cl, hi, lo = ohlcv.close, ohlcv.high, ohlcv.low
    rsi, macd, bbands, atr, vwap = out["indicators"]
    assert (rsi["name"], rsi["params"], rsi["unit"]) == ("rsi", {"timeperiod": 14}, "percent 0-100")
    assert rsi["outputs"]["rsi"] == nullable(talib.RSI(cl, 14)[-50:])
    assert list(macd["outputs"]) == ["macd", "signal", "hist"]
    for ours, theirs in zip(macd["outputs"].values(), talib.MACD(cl, 6, 13, 4), strict=True):
        assert ours == nullable(theirs[-50:])
    for ours, theirs in zip(bbands["outputs"].values(), talib.BBANDS(cl, 10, 2.0, 2.0, 0), strict=True):
        assert ours == nullable(theirs[-50:])
    assert atr["outputs"]["atr"] == nullable(talib.ATR(hi, lo, cl, 5)[-50:])
    assert vwap["unit"] == "quote asset price" and vwap["source"].startswith("Σ")
    assert None not in vwap["outputs"]["vwap"]
    assert text.startswith("BTCUSDT 1s, 50 points to ") and "rsi(timeperiod=14) rsi " in text
    assert "macd(fastperiod=6, slowperiod=13, signalperiod=4) macd " in text


async def test_lookback_shows_as_null_when_history_is_short(tool_server: ToolServer) -> None:
    tool_server.sim.step(60_000)
    async with tool_server.client() as c:
        out, text = await call_ok(
            c, "get_indicators", {"symbol": "ETHUSDT", "interval": "1m", "indicators": [{"name": "sma"}]}
        )
    assert 0 < out["count"] == out["candles"] < 30
    assert out["indicators"][0]["outputs"]["sma"] == [None] * out["count"]
    assert "sma(timeperiod=30) sma null [quote asset price]" in text


async def test_bad_arguments_are_refused_naming_the_indicator(tool_server: ToolServer) -> None:
    base = {"symbol": "BTCUSDT", "interval": "1m"}
    async with tool_server.client() as c:
        msg = await invalid_params(c, {**base, "indicators": [{"name": "sma"}, {"name": "foo"}]})
        assert "indicators[1].name" in msg and "foo" in msg
        msg = await invalid_params(c, {**base, "indicators": [{"name": "rsi", "params": {"timeperiod": 1}}]})
        assert "arguments.indicators[0]: rsi: timeperiod must be an integer 2..100000, got 1" in msg
        msg = await invalid_params(c, {**base, "indicators": [{"name": "sma", "params": {"fastperiod": 3}}]})
        assert "sma: unknown parameter(s) fastperiod" in msg
        msg = await invalid_params(c, {**base, "indicators": [{"name": "sma", "params": {"x&y=1": 3}}]})
        assert "params" in msg
        assert "indicators" in await invalid_params(c, {**base, "indicators": []})
        assert "indicators" in await invalid_params(c, {**base, "indicators": [{"name": "obv"}] * 9})
        assert "limit" in await invalid_params(c, {**base, "indicators": [{"name": "obv"}], "limit": 501})
        assert "interval" in await invalid_params(c, {**base, "interval": "7m", "indicators": [{"name": "obv"}]})
        res = await c.call_tool("get_indicators", {**base, "symbol": "NOPEUSDT", "indicators": [{"name": "obv"}]})
    assert res["isError"] is True and res["structuredContent"]["error"]["code"] == "exchange_error"


async def test_the_official_sdk_accepts_the_result_against_the_output_schema(tool_server: ToolServer) -> None:
    """The SDK validates ``structuredContent`` against the declared ``outputSchema`` (nulls included)."""
    tool_server.sim.step(20_000)
    transport = websocket_transport(tool_server.url, token=READER_TOKEN)
    async with asyncio.timeout(30), Client(transport, mode="legacy") as client:
        result = await client.call_tool(
            "get_indicators", {"symbol": "BTCUSDT", "interval": "1s", "indicators": [{"name": "sma"}], "limit": 500}
        )
    assert result.is_error is False and result.structured_content is not None
    series = result.structured_content["indicators"][0]["outputs"]["sma"]
    assert len(series) > 29 and series[:29] == [None] * 29 and all(isinstance(v, float) for v in series[29:])
