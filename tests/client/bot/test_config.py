"""Bot config: the example file loads with its values, per-symbol strategy overrides, unknown keys are refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.app.cli import build_parser
from tradingmcp.client.bot.cli import config_from_args
from tradingmcp.client.bot.config import ConfigError, config_from_dict, load_config

EXAMPLE = Path(__file__).resolve().parents[3] / "bot.example.toml"


def test_example_config_loads() -> None:
    cfg = load_config(EXAMPLE)
    assert [s.symbol for s in cfg.symbols] == ["BTCUSDT", "ETHUSDT"]
    btc = cfg.symbol("BTCUSDT")
    assert btc.order_qty_base == Decimal("0.0002") and btc.max_position_base == Decimal("0.002")
    assert cfg.risk.max_daily_loss_quote == Decimal("25") and cfg.risk.reject_cooldown_ms == 250
    assert cfg.connection.exchange == "binance" and cfg.report.out_dir == Path("bot-report")


def test_symbol_overrides_and_errors() -> None:
    cfg = config_from_dict(
        {
            "strategy": {"skew_ticks": 4, "half_spread_ticks": 1},
            "symbols": {"ethusdt": {"skew_ticks": 7, "order_qty_base": "0.01"}},
        }
    )
    eth = cfg.symbol("ETHUSDT")
    assert (
        eth.strategy.skew_ticks == 7 and eth.strategy.half_spread_ticks == 1 and eth.order_qty_base == Decimal("0.01")
    )
    with pytest.raises(ConfigError, match=r"symbols\.BTCUSDT\.order_qty"):
        config_from_dict({"symbols": {"BTCUSDT": {"order_qty": "1"}}})
    with pytest.raises(ConfigError, match=r"risk\.max_orders_per_s"):
        config_from_dict({"risk": {"max_orders_per_s": "fast"}})
    with pytest.raises(ConfigError, match="unknown table"):
        config_from_dict({"strategyy": {}})


def test_cli_overrides() -> None:
    args = build_parser().parse_args(
        ["bot", "--config", str(EXAMPLE), "--url", "wss://127.0.0.1:9/mcp", "--symbol", "ethusdt", "--out", "x"]
    )
    cfg = config_from_args(args)
    assert cfg.connection.url == "wss://127.0.0.1:9/mcp" and [s.symbol for s in cfg.symbols] == ["ETHUSDT"]
    assert cfg.report.out_dir == Path("x")
    assert args.busy_poll is False and build_parser().parse_args(["bot", "--busy-poll"]).busy_poll is True
    with pytest.raises(ConfigError, match="BNBUSDT"):
        config_from_args(build_parser().parse_args(["bot", "--config", str(EXAMPLE), "--symbol", "BNBUSDT"]))


def test_run_log_switch() -> None:
    cfg = config_from_dict({"report": {"run_log": True, "runs_dir": "my-runs"}})
    assert cfg.report.run_log is True and cfg.report.runs_dir == Path("my-runs")
    assert config_from_dict({}).report.run_log is False
    with pytest.raises(ConfigError, match=r"report\.run_log"):
        config_from_dict({"report": {"run_log": "yes"}})
