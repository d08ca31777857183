"""Settings (``--set``), grids (``--grid``) and the best point, and a grid run in worker processes."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.bot.config import ConfigError, StrategyConfig
from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import BacktestParams
from tradingmcp.research.backtest.run import (
    RunSpec,
    SettingsError,
    best_index,
    build_config,
    grid_points,
    parse_assignment,
    parse_grid,
    parse_value,
    run_grid,
)


def test_values_are_toml_else_text() -> None:
    assert parse_value("1") == 1
    assert parse_value("0.5") == 0.5
    assert parse_value("true") is True
    assert parse_value('"0.0002"') == "0.0002"
    assert parse_value("abc") == "abc"


def test_overrides_reach_the_bot_config() -> None:
    doc = {"strategy": {"skew_ticks": 3}, "symbols": {"BTCUSDT": {"order_qty_base": "0.0002"}}}
    config = build_config(
        doc,
        "market_making",
        ["BTCUSDT", "ETHUSDT"],
        {"half_spread_ticks": "2", "symbols.ETHUSDT.order_qty_base": '"0.004"', "risk.max_daily_loss_quote": "100"},
    )
    btc, eth = config.symbols
    assert (btc.symbol, btc.order_qty_base, btc.strategy.half_spread_ticks, btc.strategy.skew_ticks) == (
        "BTCUSDT", Decimal("0.0002"), 2, 3,
    )  # fmt: skip
    assert (eth.symbol, eth.order_qty_base) == ("ETHUSDT", Decimal("0.004"))
    assert config.risk.max_daily_loss_quote == Decimal(100)
    assert doc == {"strategy": {"skew_ticks": 3}, "symbols": {"BTCUSDT": {"order_qty_base": "0.0002"}}}  # untouched


def test_bad_settings_are_named() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'spread'"):
        build_config({}, "market_making", ["BTCUSDT"], {"spread": "1"})
    with pytest.raises(ConfigError, match=r"strategy\.nope"):
        build_config({}, "market_making", ["BTCUSDT"], {"strategy.nope": "1"})
    with pytest.raises(ConfigError, match="half_spread_ticks"):
        build_config({}, "market_making", ["BTCUSDT"], {"half_spread_ticks": "wide"})
    with pytest.raises(SettingsError, match="key=value"):
        parse_assignment("half_spread_ticks")
    with pytest.raises(SettingsError, match="no values"):
        parse_grid(["half_spread_ticks="])
    with pytest.raises(SettingsError, match="twice"):
        parse_grid(["half_spread_ticks=1", "half_spread_ticks=2"])


def test_strategy_kind() -> None:
    if "kind" in {f.name for f in fields(StrategyConfig)}:  # the strategy plug-ins have landed
        config = build_config({}, "market_making", ["BTCUSDT"], {})
        assert config.symbols[0].strategy.kind == "market_making"  # type: ignore[attr-defined]
    else:
        build_config({}, "market_making", ["BTCUSDT"], {})
        with pytest.raises(SettingsError, match="unknown strategy 'momentum'"):
            build_config({}, "momentum", ["BTCUSDT"], {})


def test_grid_points_are_the_product_in_order() -> None:
    grid = parse_grid(["half_spread_ticks=0,1", "skew_ticks=2,4,6"])
    points = grid_points(grid)
    assert len(points) == 6
    assert points[0] == {"half_spread_ticks": "0", "skew_ticks": "2"}
    assert points[-1] == {"half_spread_ticks": "1", "skew_ticks": "6"}
    assert grid_points([]) == [{}]


def _rep(**metrics: Any) -> dict[str, Any]:
    return {"metrics": metrics}


def test_best_index_by_direction() -> None:
    reports = [
        _rep(sharpe=1.0, max_drawdown=0.2),
        _rep(sharpe=None, max_drawdown=0.1),
        _rep(sharpe=3.0, max_drawdown=0.3),
    ]
    assert best_index(reports, "sharpe") == 2
    assert best_index(reports, "max_drawdown") == 1  # lower is better
    assert best_index([_rep(net_pnl_quote="-1.5"), _rep(net_pnl_quote="2")], "net_pnl_quote") == 1
    assert best_index([_rep(sharpe=None)], "sharpe") is None


@pytest.mark.data
def test_grid_runs_each_point_in_a_worker(data_dir: Path, tmp_path: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    base = RunSpec({}, "market_making", data, BacktestParams(end_ms=1723161300000), {}, tmp_path, plots=False)
    reports = run_grid(base, parse_grid(["half_spread_ticks=0,3"]), workers=2)
    assert [r["params"]["overrides"] for r in reports] == [{"half_spread_ticks": "0"}, {"half_spread_ticks": "3"}]
    assert reports[0]["metrics"] != reports[1]["metrics"]  # the setting reached the bot
    assert reports[0]["metrics"]["fills"] > reports[1]["metrics"]["fills"]  # quoting wider fills less
    assert (tmp_path / "point-000" / "report.json").is_file() and (tmp_path / "point-001" / "fills.jsonl").is_file()
    # a point run alone gives the same report as in the pool
    alone = run_grid(base, parse_grid(["half_spread_ticks=3"]), workers=1)[0]
    assert {k: v for k, v in alone.items() if k != "files_written"} == {
        k: v for k, v in reports[1].items() if k != "files_written"
    }
