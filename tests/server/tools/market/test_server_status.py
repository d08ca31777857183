"""``get_server_status`` tells the agent where it trades: every venue with its environment (simulator, testnet, demo,
live), its account (a part of the API key, never a secret) and the safety limits in force, over the real wire. The
handshake says it too: the official SDK client's ``initialize`` (2025-11-25) and ``server/discover`` (2026-07-28)
results name the venues and their modes.

Two stacks: ``serve --exchange both`` on the simulator (both venues ``simulator account``), and both venues configured
with real-looking keys through the environment, pointed at a standalone simulator and its MEXC face (Binance then
counts as ``testnet``, MEXC as ``live``: it has no testnet).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from tradingmcp.app.stack import ExchangeOptions, ExchangeStack, binance_mode
from tradingmcp.client.sdk_transport import websocket_transport
from tradingmcp.client.session import connect
from tradingmcp.server.audit import AuditConfig
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig
from tradingmcp.server.venues import ENVIRONMENTS, key_hint
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET
from tradingmcp.sim.mexc import MEXC_SIM_SECRET, MexcFace, MexcFaceConfig
from tradingmcp.transport.auth import TokenStore

from ...support import TRADER_TOKEN, WAIT_S, start_tool_server

pytestmark = pytest.mark.data

BINANCE_KEY = "bnKEYaaaa" + "0" * 46 + "zzzzBNKY"
BINANCE_SECRET = "bn-secret-" + "s" * 54
MEXC_KEY = "mx0vKEYm" + "1" * 10 + "MXKY"
MEXC_SECRET = "mexc-secret-" + "t" * 20


async def status(url: str, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``get_server_status`` over a real client: (structuredContent, the whole answer as JSON text)."""
    async with asyncio.timeout(WAIT_S * 2):
        c = await connect(url, token=TRADER_TOKEN)
        try:
            res = await c.call_tool("get_server_status", args)
        finally:
            await c.close()
    assert res["isError"] is False, res["content"][0]["text"]
    return res["structuredContent"], json.dumps(res)


async def handshake(url: str, mode: str) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """What the official SDK client learns when it connects in ``mode`` (``legacy``: ``initialize``; ``auto``:
    ``server/discover``): (serverInfo, instructions, capabilities.experimental) as JSON."""
    async with asyncio.timeout(WAIT_S * 2), Client(websocket_transport(url, token=TRADER_TOKEN), mode=mode) as client:
        assert client.server_info is not None
        info = client.server_info.model_dump(by_alias=True, exclude_none=True)
        return info, client.instructions, client.server_capabilities.experimental or {}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_handshake_names_the_simulated_venues_and_their_modes(
    data_dir: Path, tmp_path: Path, mode: str
) -> None:
    async with start_tool_server(data_dir, tmp_path, exchange="both") as srv:
        info, instructions, experimental = await handshake(srv.url, mode)
    assert info["description"] == "Crypto exchange bridge over MCP: binance (simulator, default), mexc (simulator)"
    assert instructions == "Venues: binance (simulator, default), mexc (simulator). No venue trades real money."
    assert experimental["tradingmcp/venues"] == {
        "default": "binance",
        "venues": [
            {"exchange": "binance", "mode": "sim", "environment": "simulator", "real_money": False, "default": True},
            {"exchange": "mexc", "mode": "sim", "environment": "simulator", "real_money": False, "default": False},
        ],
    }
    assert "tradingmcp/streams" in experimental


async def test_both_simulated_venues_show_mode_account_and_limits(data_dir: Path, tmp_path: Path) -> None:
    safety = SafetyConfig(
        allowed_symbols=frozenset({"BTCUSDT"}),
        max_order_notional=Decimal(250),
        max_daily_notional=Decimal(1000),
        max_open_orders=7,
        price_band_pct=Decimal(3),
        confirm_above_notional=Decimal(200),
    )
    async with start_tool_server(data_dir, tmp_path, ToolsetConfig(safety=safety), exchange="both") as srv:
        srv.sim.step(2000)
        async with srv.client() as c:  # trip MEXC's kill switch: the status shows it on that venue only
            killed = await c.call_tool("kill_switch", {"reason": "drill", "exchange": "mexc"})
            assert killed["isError"] is False
        out, whole = await status(srv.url, {"exchange": "mexc"})
    assert (out["exchange"], out["mode"], out["environment"], out["account"]) == (
        "mexc",
        "sim",
        "simulator",
        "simulator account",
    )
    venues = {v["exchange"]: v for v in out["venues"]}
    assert list(venues) == ["binance", "mexc"]
    for name, v in venues.items():
        assert (v["mode"], v["environment"], v["real_money"], v["account"]) == (
            "sim",
            "simulator",
            False,
            "simulator account",
        )
        assert v["default"] is (name == "binance")
        limits = v["limits"]
        assert limits["allowed_symbols"] == ["BTCUSDT"] and limits["max_open_orders"] == 7
        assert (limits["max_order_notional"], limits["max_daily_notional"]) == ("250", "1000")
        assert (limits["price_band_pct"], limits["confirm_above_notional"]) == ("3", "200")
        assert limits["allow_live"] is False and limits["kill_switch"] is False
    assert venues["binance"]["kill_switch"] == {"active": False, "source": None, "reason": None}
    assert venues["binance"]["trading_allowed"] is True
    assert venues["mexc"]["kill_switch"] == {"active": True, "source": "tool", "reason": "drill"}
    assert venues["mexc"]["trading_allowed"] is False
    text = json.loads(whole)["content"][0]["text"]
    assert "binance (default): simulator, simulator account; trading allowed" in text
    assert "mexc: simulator, simulator account; trading REFUSED" in text and "price band 3 %" in text
    for secret in (BINANCE_SIM_SECRET, MEXC_SIM_SECRET):
        assert secret not in whole


@asynccontextmanager
async def keyed_server(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """``serve --exchange both`` with both venues' keys in the environment, their URLs pointed at a standalone
    simulator (Binance face) and its MEXC face, which accept exactly those keys; yields the MCP URL."""
    sim = Simulator(SimConfig(speed=0, loop=False, data_dir=data_dir, api_keys={BINANCE_KEY: BINANCE_SECRET}))
    await sim.start()
    face = MexcFace(sim, MexcFaceConfig(api_keys={MEXC_KEY: MEXC_SECRET}))
    stack: ExchangeStack | None = None
    server: McpServer | None = None
    try:
        await face.start()
        sim.step(2000)
        env = {
            "BINANCE_API_KEY": BINANCE_KEY,
            "BINANCE_API_SECRET": BINANCE_SECRET,
            "BINANCE_REST_URL": sim.rest_url,
            "BINANCE_STREAM_URL": sim.stream_url,
            "BINANCE_WS_API_URL": sim.ws_api_url,
            "MEXC_API_KEY": MEXC_KEY,
            "MEXC_API_SECRET": MEXC_SECRET,
            "MEXC_REST_URL": face.rest_url,
            "MEXC_WS_URL": face.ws_url,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app, hub = McpApp(), StreamHub()
        register_builtin_tools(app, hub)
        tools = ToolsetConfig(audit=AuditConfig(data_dir=tmp_path / "audit"))
        stack = await ExchangeStack.start(app, hub, ExchangeOptions(exchange="both", data_dir=data_dir), tools)
        tokens = TokenStore({TRADER_TOKEN: ("trader", ["read"])})
        server = McpServer(app, ServerConfig(port=0, tokens=tokens), streams=hub)
        await server.start()
        yield server.url
    finally:
        if server is not None:
            await server.stop()
        if stack is not None:
            await stack.close()
        await face.stop()
        await sim.stop()


async def test_keyed_venues_show_a_key_hint_and_never_a_secret(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with keyed_server(data_dir, tmp_path, monkeypatch) as url:
        out, whole = await status(url, {})
        info, instructions, experimental = await handshake(url, "legacy")
    assert instructions == "Venues: binance (testnet, default), mexc (live). Orders on mexc use real money."
    assert info["description"].endswith("binance (testnet, default), mexc (live)")
    announced = {
        v["exchange"]: (v["environment"], v["real_money"]) for v in experimental["tradingmcp/venues"]["venues"]
    }
    assert announced == {"binance": ("testnet", False), "mexc": ("live", True)}
    for secret in (BINANCE_SECRET, MEXC_SECRET, BINANCE_KEY, MEXC_KEY):
        assert secret not in json.dumps([info, instructions, experimental])
    venues = {v["exchange"]: v for v in out["venues"]}
    binance, mexc = venues["binance"], venues["mexc"]
    assert (binance["mode"], binance["environment"], binance["real_money"]) == ("testnet", "testnet", False)
    assert binance["account"] == "API key bnKE...BNKY" and out["account"] == binance["account"]
    assert binance["trading_allowed"] is True
    assert (mexc["mode"], mexc["environment"], mexc["real_money"]) == ("live", "live", True)
    assert mexc["account"] == "API key mx0v...MXKY"
    assert mexc["limits"]["allow_live"] is False and mexc["trading_allowed"] is False  # the live switch is off
    for secret in (BINANCE_SECRET, MEXC_SECRET, BINANCE_KEY, MEXC_KEY):
        assert secret not in whole


def test_binance_demo_mode_is_its_own_environment_and_short_keys_are_not_shown() -> None:
    demo = BinanceConfig(api_key="k", api_secret="s", rest_url="https://demo-api.binance.com/api")
    assert binance_mode(demo) == "demo" and binance_mode(BinanceConfig(api_key="k", api_secret="s")) == "testnet"
    mainnet = BinanceConfig(api_key="k", api_secret="s", testnet=False, allow_mainnet=True)
    assert binance_mode(mainnet) == "live"
    assert ENVIRONMENTS == {"sim": "simulator", "testnet": "testnet", "demo": "demo", "live": "live"}
    assert key_hint(BINANCE_KEY) == "API key bnKE...BNKY"
    assert key_hint(BINANCE_SIM_KEY) == "API key (not shown)"  # its first and last 4 would be all 7
