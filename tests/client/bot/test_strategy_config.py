"""Strategy selection in the bot config: ``[strategy] kind``, the sub-tables of each kind with per-symbol overrides,
``--strategy``, and one-line errors naming the key for a bad kind, key or value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradingmcp.app.cli import build_parser
from tradingmcp.client.bot.cli import config_from_args
from tradingmcp.client.bot.config import ConfigError, config_from_dict, load_config, with_strategy
from tradingmcp.client.bot.params import ArbitrageParams, MeanReversionParams, MomentumParams

EXAMPLE = Path(__file__).resolve().parents[3] / "bot.example.toml"


def test_example_declares_every_kind_with_defaults() -> None:
    cfg = load_config(EXAMPLE)
    for sym in cfg.symbols:
        assert sym.strategy.kind == "market_making"
        assert sym.strategy.momentum == MomentumParams()  # the example's values are the defaults
        assert sym.strategy.mean_reversion == MeanReversionParams()
        assert sym.strategy.arbitrage == ArbitrageParams()


def test_kind_and_sub_tables_with_symbol_overrides() -> None:
    cfg = config_from_dict(
        {
            "strategy": {"kind": "momentum", "momentum": {"fast_period": 3, "slow_period": 9, "allow_short": True}},
            "symbols": {
                "BTCUSDT": {},
                "ETHUSDT": {"kind": "mean_reversion", "mean_reversion": {"signal": "rsi", "rsi_period": 7}},
                "ADAUSDT": {"momentum": {"bar_interval_s": 2}},
            },
        }
    )
    btc, eth, ada = cfg.symbols
    assert btc.strategy.kind == "momentum" and btc.strategy.momentum.fast_period == 3
    assert btc.strategy.momentum.allow_short is True
    assert eth.strategy.kind == "mean_reversion" and eth.strategy.mean_reversion.signal == "rsi"
    assert eth.strategy.mean_reversion.rsi_period == 7 and eth.strategy.mean_reversion.period == 20
    # a per-symbol sub-table overrides only its own keys
    assert ada.strategy.momentum.bar_interval_s == 2.0 and ada.strategy.momentum.slow_period == 9
    assert config_from_dict({}).symbols[0].strategy.kind == "market_making"


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        (
            {"strategy": {"kind": "grid"}},
            r"strategy\.kind: 'grid' \(known: market_making, momentum, mean_reversion, arbitrage, signals\)",
        ),
        ({"strategy": {"momentum": {"fast": 3}}}, r"unknown key strategy\.momentum\.fast "),
        ({"strategy": {"momentum": {"fast_period": "3"}}}, r"strategy\.momentum\.fast_period: '3'"),
        ({"strategy": {"momentum": {"fast_period": 9, "slow_period": 9}}}, r"strategy\.momentum\.slow_period: must be"),
        ({"strategy": {"momentum": {"allow_short": "yes"}}}, r"strategy\.momentum\.allow_short: 'yes'"),
        ({"strategy": {"momentum": 3}}, r"strategy\.momentum must be a table"),
        ({"strategy": {"mean_reversion": {"signal": "macd"}}}, r"strategy\.mean_reversion\.signal: 'macd'"),
        ({"strategy": {"mean_reversion": {"bar_source": "book"}}}, r"mean_reversion\.bar_source: 'book'"),
        ({"strategy": {"mean_reversion": {"execution": "market"}}}, r"mean_reversion\.execution: 'market'"),
        ({"strategy": {"mean_reversion": {"rsi_oversold": 80}}}, r"mean_reversion\.rsi_oversold: need 0 <"),
        ({"strategy": {"mean_reversion": {"band_k": -1}}}, r"mean_reversion\.band_k: must be"),
        ({"strategy": {"mean_reversion": {"bar_interval_s": 0}}}, r"mean_reversion\.bar_interval_s: must be"),
        ({"symbols": {"BTCUSDT": {"kind": "arb"}}}, r"symbols\.BTCUSDT\.kind: 'arb'"),
        ({"symbols": {"BTCUSDT": {"momentum": {"period": 2}}}}, r"unknown key symbols\.BTCUSDT\.momentum\.period"),
    ],
)
def test_bad_strategy_settings_are_refused(doc: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        config_from_dict(doc)
    assert "\n" not in str(info.value)


def test_strategy_option() -> None:
    args = build_parser().parse_args(["bot", "--config", str(EXAMPLE), "--strategy", "mean_reversion"])
    cfg = config_from_args(args)
    assert {s.strategy.kind for s in cfg.symbols} == {"mean_reversion"}
    assert with_strategy(cfg, "momentum").symbols[0].strategy.kind == "momentum"
    with pytest.raises(ConfigError, match="kind: 'trend'"):
        config_from_args(build_parser().parse_args(["bot", "--strategy", "trend"]))
