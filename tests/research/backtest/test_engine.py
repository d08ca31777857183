"""Backtests of the reference market maker on the real recording: deterministic to the byte, with fills and sane
metrics; and on a Binance dump written here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import Backtest, BacktestParams
from tradingmcp.research.backtest.run import RunSpec, build_config, run_one

pytestmark = pytest.mark.data

TO_MS = 1723161420000  # 2024-08-08T23:57:00Z: the first ~3 minutes of the recording
DOC: dict[str, Any] = {"symbols": {"BTCUSDT": {"order_qty_base": "0.0002", "max_position_base": "0.002"}}}


def _spec(data_dir: Path, out: Path | None, **params: Any) -> RunSpec:
    data = load_market_data(["BTCUSDT"], data_dir)
    return RunSpec(DOC, "market_making", data, BacktestParams(end_ms=TO_MS, **params), {}, out, plots=out is not None)


@pytest.fixture(scope="module")
def twice(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    report = run_one(_spec(data_dir, a))
    run_one(_spec(data_dir, b))
    return a, b, report


def test_same_input_gives_byte_identical_fills_and_report(twice: tuple[Path, Path, dict[str, Any]]) -> None:
    a, b, _ = twice
    for name in ("fills.jsonl", "report.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "fills.jsonl").read_bytes().count(b"\n") > 10


def test_the_run_has_fills_and_sane_metrics(twice: tuple[Path, Path, dict[str, Any]]) -> None:
    a, _, report = twice
    m = report["metrics"]
    assert m["fills"] > 10
    assert float(m["fees_quote"]) > 0
    assert m["max_drawdown"] >= 0 and m["max_drawdown_quote"] >= 0
    assert m["var_95"] is not None and m["sharpe"] is not None
    assert 0 <= m["win_rate"] <= 1
    assert m["turnover"] > 0
    assert report["events"]["market_events"] > 10_000
    assert report["window"]["last_ms"] <= TO_MS
    assert 1000 <= report["params"]["mean_sample_ms"] < 2000  # a sample at least 1 s after the last, on the next event
    # the bot's ledger reconciles with the simulated account: Δquote + Δbase × mark == net P&L (within a mark's rounding)
    start, end = report["balances"]["start"], report["balances"]["end"]
    assert float(end["USDT"]) != float(start["USDT"])
    assert (a / "equity.png").stat().st_size > 1000 and (a / "drawdown.png").stat().st_size > 1000


def test_ledger_matches_the_account(data_dir: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    config = build_config(DOC, "market_making", ["BTCUSDT"], {})
    result = Backtest(config, data.exchange_info, BacktestParams(end_ms=TO_MS)).run(data.events())
    core = result.core
    mark = core.marks()["BTCUSDT"]
    assert mark is not None
    delta = (result.end_balances["USDT"] - result.start_balances["USDT"]) + (
        result.end_balances["BTC"] - result.start_balances["BTC"]
    ) * mark
    assert abs(delta - core.ledger.totals(core.marks())["net_pnl"]) < 1e-6
    assert not core.tracker.live_orders()  # wound down: nothing left open


def test_latency_changes_the_run_but_stays_deterministic(data_dir: Path) -> None:
    first = run_one(_spec(data_dir, None, latency_ms=50))
    second = run_one(_spec(data_dir, None, latency_ms=50))
    zero = run_one(_spec(data_dir, None))
    assert first == second
    assert first["metrics"]["fills"] > 0
    assert first["metrics"] != zero["metrics"]


def test_window_start_hides_the_early_market_from_the_bot(data_dir: Path) -> None:
    report = run_one(_spec(data_dir, None, start_ms=TO_MS - 60_000))
    assert report["window"]["first_ms"] >= TO_MS - 60_000
    assert report["metrics"]["fills"] > 0


def test_a_dump_of_trades_runs_through_the_same_engine(tmp_path: Path) -> None:
    rows = []
    for i in range(600):  # a price oscillating between 60000.00 and 60000.05, sellers and buyers in turn
        price = f"{60000 + (i % 6) / 100:.2f}"
        rows.append(f"{i},{price},0.01000000,600.00,{1735689600000000 + i * 50_000},{i % 2 == 0},True")
    (tmp_path / "BTCUSDT-trades-2025-01-01.csv").write_text("\n".join(rows) + "\n")
    data = load_market_data(["BTCUSDT"], tmp_path)
    assert data.source == "trades"
    report = run_one(RunSpec(DOC, "market_making", data, BacktestParams(), {}, None, plots=False))
    assert report["events"]["market_events"] == 600 * 3
    assert report["metrics"]["fills"] > 0


def test_turn_conflation_as_the_live_runner_does(data_dir: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    config = build_config(DOC, "market_making", ["BTCUSDT"], {})
    plain = Backtest(config, data.exchange_info, BacktestParams(end_ms=TO_MS)).run(data.events())
    turns = [
        Backtest(config, data.exchange_info, BacktestParams(end_ms=TO_MS, turn_us=50)).run(data.events())
        for _ in range(2)
    ]
    assert turns[0].conflated > 1000  # bursts of book tickers within 50 µs: superseded states never decided on
    assert turns[0].core.decisions < plain.core.decisions
    assert len(turns[0].core.ledger.fills) > 0
    assert turns[0].core.ledger.fills == turns[1].core.ledger.fills  # still deterministic
    assert plain.conflated == 0


@pytest.mark.parametrize("kind", ["momentum", "mean_reversion"])
def test_every_strategy_kind_runs_on_the_recording(data_dir: Path, kind: str) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    report = run_one(RunSpec(DOC, kind, data, BacktestParams(), {}, None, plots=False))
    assert report["strategy"] == kind
    assert report["metrics"]["fills"] > 0  # its signals traded through the simulator
    assert report["metrics"]["fills"] < 1000  # and it is not the market maker (thousands of fills)
