"""The arbitrage strategy backtested on two venues replayed from the one recording: Binance as recorded, MEXC with
every price moved by ``mexc_offset_bps`` (its own books, engine, rules and MEXC's result and push shapes), through the
bot's own core: fills on both venues, byte-identical across runs, and nothing traded (with the reason) at offset 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.bot.arbitrage import Arbitrage
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import Backtest, BacktestParams
from tradingmcp.research.backtest.mexcvenue import MexcSimVenue
from tradingmcp.research.backtest.run import RunSpec, build_config, run_one
from tradingmcp.research.backtest.venues import VenueNotReplayed

pytestmark = pytest.mark.data

TO_MS = 1723161420000  # 2024-08-08T23:57:00Z: the first ~3 minutes of the recording


def _run(data_dir: Path, out: Path, offset_bps: float) -> dict[str, Any]:
    data = load_market_data(["BTCUSDT"], data_dir)
    params = BacktestParams(end_ms=TO_MS, mexc_offset_bps=offset_bps)
    return run_one(RunSpec({}, "arbitrage", data, params, {}, out, plots=False))


@pytest.fixture(scope="module")
def twice(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    report = _run(data_dir, a, 30.0)
    _run(data_dir, b, 30.0)
    return a, b, report


def test_an_offset_makes_fills_on_both_venues(twice: tuple[Path, Path, dict[str, Any]]) -> None:
    a, _, report = twice
    venues = report["venues"]
    assert set(venues) == {"binance", "mexc"}
    assert venues["binance"]["fills"] > 0 and venues["mexc"]["fills"] > 0
    assert venues["binance"]["fills"] + venues["mexc"]["fills"] == report["metrics"]["fills"]
    assert (venues["binance"]["price_offset_bps"], venues["mexc"]["price_offset_bps"]) == (0.0, 30.0)
    fills = [json.loads(line) for line in (a / "fills.jsonl").read_text().splitlines()]
    by_venue = {v: [f for f in fills if f["exchange"] == v] for v in ("binance", "mexc")}
    # bought where it is cheap, sold where the offset makes it dear; MEXC's own order ids (its protocol's path)
    assert {f["side"] for f in by_venue["binance"]} == {"BUY"} and {f["side"] for f in by_venue["mexc"]} == {"SELL"}
    assert all(str(f["order_id"]).startswith("C02__") for f in by_venue["mexc"])
    assert all(isinstance(f["order_id"], int) for f in by_venue["binance"])
    sold = sum(float(f["price"]) for f in by_venue["mexc"]) / len(by_venue["mexc"])
    bought = sum(float(f["price"]) for f in by_venue["binance"]) / len(by_venue["binance"])
    assert sold > bought * 1.002  # ~30 bps apart, more than both taker fees
    assert float(report["metrics"]["realized_pnl_quote"]) > 0
    # each account moved: base bought on one, sold on the other; the totals are their sums
    b_start, b_end = venues["binance"]["balances"]["start"], venues["binance"]["balances"]["end"]
    m_start, m_end = venues["mexc"]["balances"]["start"], venues["mexc"]["balances"]["end"]
    assert float(b_end["BTC"]) > float(b_start["BTC"]) and float(m_end["BTC"]) < float(m_start["BTC"])
    assert float(report["balances"]["start"]["USDT"]) == float(b_start["USDT"]) + float(m_start["USDT"])
    assert "notes" not in report


def test_two_runs_are_byte_identical(twice: tuple[Path, Path, dict[str, Any]]) -> None:
    a, b, _ = twice
    for name in ("fills.jsonl", "report.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_no_offset_trades_nothing_and_says_why(data_dir: Path, tmp_path: Path) -> None:
    report = _run(data_dir, tmp_path, 0.0)
    assert report["metrics"]["fills"] == 0 and report["orders"]["actions"] == 0
    assert {v["fills"] for v in report["venues"].values()} == {0}
    (note,) = report["notes"]
    assert "mexc_offset_bps 0" in note and "--mexc-offset-bps" in note


def test_each_venue_has_its_own_book_engine_and_rules(data_dir: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    config = build_config({}, "arbitrage", ("BTCUSDT",), {})
    bt = Backtest(config, data.exchange_info, BacktestParams(end_ms=1723161300000, mexc_offset_bps=30.0))
    bt.run(data.events())
    home, mexc = bt.venues
    assert (home.exchange, mexc.exchange) == ("binance", "mexc")
    assert home.engine is not mexc.engine and isinstance(mexc.venue, MexcSimVenue)
    bb, mb = home.books["BTCUSDT"].best_bid(), mexc.books["BTCUSDT"].best_bid()
    assert bb is not None and mb is not None
    assert 29 < float((mb[0] - bb[0]) / bb[0]) * 10_000 < 31  # the MEXC book is the recording moved by 30 bps
    strategy = bt.core.strategies["BTCUSDT"]
    assert isinstance(strategy, Arbitrage)
    r = mexc.venue.trading.rules["BTCUSDT"]  # the rules the MEXC face enforces, as its get_symbol_rules gives them
    assert strategy.venue_rules("mexc") == SymbolRulesLite(r.tick, r.step, r.min_qty, r.min_amount)
    assert strategy.venue_rules("binance") == bt.core.rules["BTCUSDT"]


def test_a_venue_the_backtest_cannot_replay_is_refused(data_dir: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    doc = {"strategy": {"arbitrage": {"venues": ["binance", "bybit"], "taker_fee_bps": {"binance": 10, "bybit": 10}}}}
    config = build_config(doc, "arbitrage", ("BTCUSDT",), {})
    with pytest.raises(VenueNotReplayed, match="not 'bybit'"):
        Backtest(config, data.exchange_info, BacktestParams())
