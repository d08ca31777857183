"""``tradingmcp backtest`` from the command line: one clear line for every bad argument, a report when it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradingmcp.app.cli import main


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["--set", "spread=1"], 2, "unknown setting 'spread'"),
        (["--set", "strategy.half_spread_ticks"], 2, "expected key=value"),
        (["--grid", "skew_ticks="], 2, "no values"),
        (["--from", "2024-08-09T00:00:00", "--to", "2024-08-08T00:00:00"], 2, "--from must be before --to"),
        (["--config", "/nonexistent/bot.toml"], 2, "cannot read /nonexistent/bot.toml"),
        (["--data", "/nonexistent/dumps"], 1, "no Binance dump files"),
        (["--symbols", "NOPEUSDT", "--data", "{tmp}"], 1, "no dump file for NOPEUSDT"),
        (["--mexc-offset-bps", "20000"], 2, "--mexc-offset-bps: expected basis points"),
        (["--data", "{tmp}", "--mexc-offset-bps", "30"], 2, "--mexc-offset-bps moves a MEXC venue traded besides"),
        (["--alerts", "{tmp}/none.jsonl"], 1, "--alerts: cannot read"),
        (["--alerts", "{tmp}/bad.jsonl"], 2, "--alerts: bad.jsonl line 2: field 'ticker' is not a symbol"),
    ],
)
def test_bad_arguments_get_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], code: int, text: str
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    (tmp_path / "BTCUSDT-trades.csv").write_text("1,100,1,100,1735689600000000,True,True\n")
    (tmp_path / "bad.jsonl").write_text(
        '{"time_ms": 1, "alert": {"ticker": "BTCUSDT", "action": "buy"}}\n{"time_ms": 2, "alert": {"ticker": "?"}}\n'
    )
    rc = main(["backtest", *argv])
    assert rc == code
    err = capsys.readouterr().err
    assert text in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--from", "yesterday"], "expected epoch ms or ISO 8601"),
        (["--metric", "luck"], "invalid choice"),
        (["--latency-ms", "-1"], "must be ≥ 0"),
        (["--maker-fee", "2"], "fraction in [0, 1)"),
        (["--workers", "0"], "must be ≥ 1"),
    ],
)
def test_bad_option_values_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], text: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["backtest", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert text in err and err.count("\n") == 1


def test_unlisted_symbol_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "DOGEUSDT-trades.csv").write_text("1,0.1,1,0.1,1735689600000000,True,True\n")
    rc = main(["backtest", "--symbols", "DOGEUSDT", "--data", str(tmp_path)])
    assert rc == 2
    assert "symbol not listed by the simulator" in capsys.readouterr().err


@pytest.mark.data
def test_a_run_prints_the_report(capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path) -> None:
    argv = ["backtest", "--strategy", "market_making", "--symbols", "BTCUSDT", "--from", "2024-08-08T23:55:00Z",
            "--to", "2024-08-08T23:56:00Z", "--data", str(data_dir), "--out", str(tmp_path), "--json", "--no-plots",
            "--set", "risk.max_daily_loss_quote=100"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["window"]["from_ms"] == 1723161300000 and report["window"]["to_ms"] == 1723161360000
    assert report["params"]["overrides"] == {"risk.max_daily_loss_quote": "100"}
    assert report["metrics"]["fills"] > 0
    assert (tmp_path / "report.json").is_file() and not (tmp_path / "equity.png").exists()


@pytest.mark.data
def test_a_grid_prints_a_row_per_point(capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path) -> None:
    argv = ["backtest", "--to", "2024-08-08T23:55:00Z", "--data", str(data_dir), "--out", str(tmp_path),
            "--grid", "half_spread_ticks=0,2", "--metric", "fees_quote", "--no-plots"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Grid: 2 points, best by fees_quote" in out
    grid = json.loads((tmp_path / "grid.json").read_text())
    assert len(grid["points"]) == 2 and grid["best"] == 1  # quoting wider pays fewer fees


@pytest.mark.data
def test_run_log_records_the_backtest_for_tradingmcp_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradingmcp.research.runs import load_runs

    monkeypatch.setenv("TRADINGMCP_RUNS_DIR", str(tmp_path / "runs"))
    argv = ["backtest", "--to", "2024-08-08T23:55:00Z", "--data", str(data_dir), "--out", str(tmp_path / "out"),
            "--no-plots", "--json", "--run-log"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    (run,) = load_runs(tmp_path / "runs", "backtest")
    assert run.name == "market_making-BTCUSDT" and run.status == "finished"
    assert run.steps == report["equity_samples"] > 10
    assert run.metric("metrics.sharpe") == report["metrics"]["sharpe"]
    assert report["files_written"]["run_log"].startswith(str(tmp_path / "runs"))
    assert main(["runs", "--dir", str(tmp_path / "runs"), "--kind", "backtest"]) == 0
    assert "market_making-BTCUSDT" in capsys.readouterr().out


@pytest.mark.data
def test_arbitrage_and_alerts_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path
) -> None:
    argv = ["backtest", "--strategy", "arbitrage", "--mexc-offset-bps", "30", "--to", "2024-08-08T23:57:00Z",
            "--data", str(data_dir), "--out", str(tmp_path / "arb"), "--json", "--no-plots"]  # fmt: skip
    assert main(argv) == 0
    venues = json.loads(capsys.readouterr().out)["venues"]
    assert venues["binance"]["fills"] > 0 and venues["mexc"]["fills"] > 0
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text('{"time_ms": 1723161270000, "alert": {"id": "x", "ticker": "BTCUSDT", "action": "buy"}}\n')
    argv = ["backtest", "--strategy", "signals", "--alerts", str(alerts), "--to", "2024-08-08T23:57:00Z",
            "--data", str(data_dir), "--out", str(tmp_path / "sig"), "--no-plots"]  # fmt: skip
    assert main(argv) == 0
    assert "Backtest: signals on BTCUSDT" in capsys.readouterr().out
    report = json.loads((tmp_path / "sig" / "report.json").read_text())
    assert report["alerts"]["accepted"] == 1 and report["metrics"]["fills"] > 0
