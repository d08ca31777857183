"""The day's loss and drawdown state (sans-I/O): fills in, day P&L, peak and latched breaches out; the config keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.server.exchanges.models import Fill, Side
from tradingmcp.server.trading.losslimits import MS_PER_DAY, SETTLE_MS, DayRails, is_reducing
from tradingmcp.server.trading.safety import SafetyConfig, SafetyRefusal, check_exposure, check_loss_limits

DAY = 20_000
T0 = DAY * MS_PER_DAY + 1_000


def fill(trade_id: int, price: str, qty: str = "1", t: int = T0) -> Fill:
    p, q = Decimal(price), Decimal(qty)
    return Fill("BTCUSDT", trade_id, trade_id, p, q, p * q, Decimal(0), "BNB", False, t + trade_id)


def rails(**limits: Decimal | None) -> DayRails:
    marks: dict[str, Decimal] = {}
    r = DayRails("binance", marks.get)
    r.limits = dict(limits)
    r.roll(T0)
    r.know("BTCUSDT", "BTC", "USDT")
    return r


def test_drawdown_trips_from_the_days_peak_while_the_day_is_still_in_profit() -> None:
    r = rails(max_daily_loss=Decimal(100), max_drawdown=Decimal(30))
    assert r.replay([(fill(1, "100"), Side.BUY), (fill(2, "150"), Side.SELL)], T0) is None  # +50 realized
    assert r.peak == 50
    r.add_fill(fill(3, "150"), Side.BUY)
    assert r.evaluate(T0, live=False) is None
    r.add_fill(fill(4, "125"), Side.SELL)  # −25: drawdown 25 < 30
    assert r.evaluate(T0, live=False) is None
    r.add_fill(fill(5, "125"), Side.BUY)
    r.add_fill(fill(6, "120"), Side.SELL)  # −5 more: day P&L +20, drawdown exactly 30
    breach = r.evaluate(T0, live=False)
    assert breach is not None and breach.rule == "max_drawdown"
    assert (breach.value, breach.day_pnl, breach.peak) == (Decimal(30), Decimal(20), Decimal(50))
    assert set(r.tripped) == {"max_drawdown"}  # the day is up 20: the loss limit is nowhere near


def test_a_tripped_limit_stays_tripped_until_the_utc_day_ends() -> None:
    r = rails(max_daily_loss=Decimal(10))
    r.replay([(fill(1, "100"), Side.BUY), (fill(2, "89"), Side.SELL)], T0)
    assert set(r.tripped) == {"max_daily_loss"}
    r.replay([(fill(3, "89"), Side.BUY), (fill(4, "120"), Side.SELL)], T0)  # recovered: +20 on the day
    assert r.day_pnl(live=False) == 20 and set(r.tripped) == {"max_daily_loss"}
    assert r.add_fill(fill(2, "89"), Side.SELL) is False  # a fill seen again counts once
    assert r.roll(T0 + MS_PER_DAY) is True
    assert r.tripped == {} and r.day_pnl() == 0 and r.peak == 0
    assert r.add_fill(fill(9, "100"), Side.BUY) is False  # yesterday's fill is not today's


def test_only_a_sell_of_no_more_than_held_reduces_and_passes_a_tripped_limit() -> None:
    r = rails(max_daily_loss=Decimal(10))
    r.replay([(fill(1, "100"), Side.BUY), (fill(2, "80"), Side.SELL)], T0)
    for reducing in (False, True):
        if reducing:
            check_loss_limits(r.tripped, "binance", reducing, "USDT")
        else:
            with pytest.raises(SafetyRefusal) as info:
                check_loss_limits(r.tripped, "binance", reducing, "USDT")
            assert info.value.code == "safety_max_daily_loss" and info.value.details["value"] == "20"
    assert is_reducing(Side.SELL, Decimal("0.5"), Decimal("0.5"))
    assert not is_reducing(Side.SELL, Decimal("0.6"), Decimal("0.5"))
    assert not is_reducing(Side.SELL, Decimal("0.1"), None)  # holdings unknown: not reducing
    assert not is_reducing(Side.BUY, Decimal("0.1"), Decimal(5))


def test_exposure_caps_name_the_asset_and_the_room_left() -> None:
    config = SafetyConfig(max_asset_exposure=Decimal(1000), max_total_exposure=Decimal(1500))
    check_exposure(config, "BTC", Decimal(900), Decimal(1400), Decimal(100), "USDT")  # exactly at both caps
    with pytest.raises(SafetyRefusal) as info:
        check_exposure(config, "BTC", Decimal(900), Decimal(1000), Decimal(101), "USDT")
    assert info.value.code == "safety_max_asset_exposure" and info.value.details["remaining"] == "100"
    with pytest.raises(SafetyRefusal) as info:
        check_exposure(config, "ETH", Decimal(0), Decimal(1450), Decimal(51), "USDT")
    assert info.value.code == "safety_max_total_exposure" and "50 USDT of room" in info.value.message


def test_a_settling_buy_counts_until_the_balance_update_or_for_a_bounded_time() -> None:
    r = rails()
    r.set_balance("BTC", Decimal("0.5"))
    r.settling_buy("BTC", Decimal("0.25"), T0)
    assert r.exposures("USDT", {"BTC": Decimal(100)}) == {"BTC": Decimal(75)}  # 0.75 BTC at 100
    r.set_balance("BTC", Decimal("0.75"))  # the balance update that holds the fill: counted once
    assert r.exposures("USDT", {"BTC": Decimal(100)}) == {"BTC": Decimal(75)}
    r.settling_buy("ETH", Decimal(2), T0)  # no balance update ever comes: it counts for SETTLE_MS only
    assert r.holding("ETH", T0 + SETTLE_MS - 1) == 2 and r.holding("ETH", T0 + SETTLE_MS) == 0
    r.expire_settling(T0 + SETTLE_MS - 1)
    assert r.exposure("ETH", Decimal(10)) == 20
    r.expire_settling(T0 + SETTLE_MS)
    assert r.exposure("ETH", Decimal(10)) == 0 and not r.settling


def test_config_keys_from_toml_and_env(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[safety]\nmax_daily_loss = 250\nmax_drawdown = "100.5"\non_breach = "kill"\n')
    config = SafetyConfig.load(
        path, {"TRADINGMCP_SAFETY_MAX_TOTAL_EXPOSURE": "5000", "TRADINGMCP_SAFETY_ON_BREACH": "block"}
    )
    assert (config.max_daily_loss, config.max_drawdown, config.max_total_exposure) == (250, Decimal("100.5"), 5000)
    assert config.on_breach == "block" and config.max_asset_exposure is None and config.rails_on
    assert not SafetyConfig().rails_on and SafetyConfig().intent_journal
    with pytest.raises(ValueError, match="on_breach"):
        SafetyConfig.from_env({"TRADINGMCP_SAFETY_ON_BREACH": "panic"})
    with pytest.raises(ValueError, match="max_daily_loss must be > 0"):
        SafetyConfig.from_env({"TRADINGMCP_SAFETY_MAX_DAILY_LOSS": "-5"})
    assert SafetyConfig.from_env({"TRADINGMCP_SAFETY_MAX_DRAWDOWN": "none"}).max_drawdown is None
