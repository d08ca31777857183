"""The whole tool set over the real wire: every family registered, the market tools answer with an ``exchange``."""

from __future__ import annotations

from pathlib import Path

from ..support import ToolServer


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


def test_toolset_config_file_then_environment(tmp_path: Path) -> None:
    from decimal import Decimal

    import pytest

    from tradingmcp.server.tools.toolset import ToolsetConfig

    example = ToolsetConfig.load(Path(__file__).parents[3] / "tradingmcp.example.toml", {})
    assert example.safety.max_order_notional == Decimal(10000)  # the documented defaults are the real ones
    assert example.safety == ToolsetConfig().safety
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        '[safety]\nallowed_symbols = ["BTCUSDT"]\nmax_order_notional = "250"\n'
        '[audit]\ndata_dir = "audit-here"\n[portfolio]\nexport_dir = "out"\n'
    )
    env = {"TRADINGMCP_SAFETY_MAX_ORDER_NOTIONAL": "100", "TRADINGMCP_AUDIT_URL": "postgresql://u@h/db"}
    loaded = ToolsetConfig.load(cfg, env)
    assert loaded.safety.allowed_symbols == frozenset({"BTCUSDT"})
    assert loaded.safety.max_order_notional == Decimal(100)  # the environment wins over the file
    assert loaded.audit.data_dir == Path("audit-here") and loaded.audit.postgres_url == "postgresql://u@h/db"
    assert loaded.portfolio.export_dir == Path("out")
    cfg.write_text("[safty]\nmax_open_orders = 1\n")
    with pytest.raises(ValueError, match="safty"):
        ToolsetConfig.load(cfg, {})
    cfg.write_text("[safety]\nmax_open_order = 1\n")
    with pytest.raises(ValueError, match="max_open_order"):
        ToolsetConfig.load(cfg, {})


def test_streams_table_sets_the_replay_windows(tmp_path: Path) -> None:
    import pytest

    from tradingmcp.server.mcp.replay import Retention
    from tradingmcp.server.tools.toolset import ToolsetConfig

    example = ToolsetConfig.load(Path(__file__).parents[3] / "tradingmcp.example.toml", {})
    assert example.streams == Retention()  # the documented defaults are the real ones
    cfg = tmp_path / "s.toml"
    cfg.write_text("[streams]\nmax_count = 500\nmax_age_s = 30\nlinger_s = 0\n")
    assert ToolsetConfig.load(cfg, {}).streams == Retention(max_count=500, max_age_s=30, linger_s=0)
    for bad, named in (
        ("max_cnt = 5", "max_cnt"),
        ('max_count = "5"', "max_count"),
        ("max_count = 2.5", "max_count"),
        ("max_age_s = true", "max_age_s"),
        ("max_count = 0", "retention"),
    ):
        cfg.write_text(f"[streams]\n{bad}\n")
        with pytest.raises(ValueError, match=named):
            ToolsetConfig.load(cfg, {})
