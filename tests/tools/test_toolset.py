"""The whole tool set over the real wire: every family registered, the market tools answer with an ``exchange``."""

from __future__ import annotations

from .support import ToolServer


async def test_market_tools_take_an_exchange_argument(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        tools = {t["name"]: t for t in await c.list_tools()}
        assert tools["get_ticker"]["inputSchema"]["properties"]["exchange"]["enum"] == ["binance"]
        ok = await c.call_tool("get_ticker", {"symbol": "btcusdt", "exchange": "binance"})
        assert ok["isError"] is False and ok["structuredContent"]["exchange"] == "binance"
        assert ok["structuredContent"]["symbol"] == "BTCUSDT"
        default = await c.call_tool("get_symbol_rules", {"symbol": "ETHUSDT"})
        assert default["structuredContent"]["tick_size"] == "0.01"


async def test_unknown_exchange_is_a_schema_error(tool_server: ToolServer) -> None:
    from tradingmcp.client.session import RpcError

    async with tool_server.client() as c:
        try:
            await c.call_tool("get_ticker", {"symbol": "BTCUSDT", "exchange": "kraken"})
        except RpcError as exc:
            assert exc.code == -32602 and "kraken" in exc.message
        else:
            raise AssertionError("an exchange outside the enum must be refused")
