"""TradingView alerts replayed in a backtest (``--alerts``): each line mapped exactly as the webhook maps it, handed to
the ``signals`` strategy at its time, its trades in the report; byte-identical across runs. The alerts file is written
here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradingmcp.research.backtest.alerts import AlertsFileError, parse_alerts, read_alerts
from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import BacktestParams
from tradingmcp.research.backtest.run import RunSpec, run_one
from tradingmcp.server.webhooks.alerts import read_alert
from tradingmcp.server.webhooks.config import TradingViewConfig

TO_MS = 1723161420000  # 2024-08-08T23:57:00Z: the first ~3 minutes of the recording (from 23:54:15)
SECRET = "s3cret-for-the-tests-only"
ALERTS: list[dict[str, Any]] = [
    {"time_ms": 1723161270000, "alert": {"secret": SECRET, "id": "a1", "ticker": "BINANCE:BTCUSDT", "action": "buy",
                                         "contracts": "0.001", "price": 58000.5, "time": "2024-08-08T23:54:30Z"}},
    {"time_ms": 1723161271000, "alert": {"id": "a1", "ticker": "BTCUSDT", "action": "buy", "contracts": "0.001"}},
    {"time_ms": 1723161280000, "alert": {"id": "e1", "ticker": "ETHUSDT", "action": "buy"}},
    {"time_ms": 1723161330000, "alert": '{"id": "a2", "ticker": "BTCUSDT", "action": "sell"}'},
    {"time_ms": 1723161500000, "alert": {"id": "a3", "ticker": "BTCUSDT", "action": "buy"}},
]  # fmt: skip
"""A buy, its repeat, an alert of a symbol the bot does not trade, a sell (as the message text) and one after the
window."""
PINNED = ("f1b4222cc4ce5ed9", "6ec43671d648a361")
"""sha256 of ``fills.jsonl`` and ``report.json`` (first 16 hex digits) of the ``signals`` run on :data:`ALERTS`."""


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) + b"\n")
    return path


def test_each_line_is_the_webhooks_signal() -> None:
    (first, _, _, sell, _) = parse_alerts([orjson.dumps(r) for r in ALERTS])
    posted = orjson.dumps(ALERTS[0]["alert"])
    webhook = read_alert(posted, TradingViewConfig(secret=SECRET)).signal(1723161270000)
    assert first.time_ms == 1723161270000 and first.message == webhook
    assert SECRET not in orjson.dumps(first.message).decode()  # the secret is never kept
    assert (first.message["symbol"], first.message["side"], first.message["quantity"]) == ("BTCUSDT", "BUY", "0.001")
    assert (sell.message["alert_id"], sell.message["side"], sell.message["received_ms"]) == (
        "a2",
        "SELL",
        1723161330000,
    )


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (b"{oops", "line 2: not JSON"),
        (b'{"time_ms": "soon", "alert": {}}', "line 2: time_ms must be epoch milliseconds"),
        (b'{"time_ms": 1, "alert": {}, "extra": 1}', 'line 2: expected {"time_ms"'),
        (b'{"time_ms": 1, "alert": "not json"}', "line 2: the alert's message is not JSON"),
        (b'{"time_ms": 1, "alert": [1]}', "line 2: the alert must be a JSON object"),
        (b'{"time_ms": 1, "alert": {"ticker": "BTCUSDT", "contracts": "-1"}}', "line 2: field 'contracts' must be"),
    ],
)
def test_a_bad_line_is_named(line: bytes, text: str) -> None:
    with pytest.raises(AlertsFileError, match="^alerts.jsonl " + text.replace("{", "\\{").replace("(", "\\(")):
        parse_alerts([orjson.dumps(ALERTS[0]), line], "alerts.jsonl")


def _run(data_dir: Path, out: Path, alerts_file: Path | None) -> dict[str, Any]:
    data = load_market_data(["BTCUSDT"], data_dir)
    alerts = read_alerts(alerts_file) if alerts_file is not None else ()
    params = BacktestParams(end_ms=TO_MS, alerts=alerts)
    name = alerts_file.name if alerts_file is not None else None
    return run_one(RunSpec({}, "signals", data, params, {}, out, plots=False, alerts_file=name))


@pytest.fixture(scope="module")
def twice(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    alerts = _write(tmp_path_factory.mktemp("in") / "alerts.jsonl", ALERTS)
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    report = _run(data_dir, a, alerts)
    _run(data_dir, b, alerts)
    return a, b, report


@pytest.mark.data
def test_the_alerts_drive_the_signals_strategy(twice: tuple[Path, Path, dict[str, Any]]) -> None:
    a, _, report = twice
    assert report["alerts"] == {
        "file": "alerts.jsonl",
        "read": 5,
        "delivered": 4,  # the last one is after the window
        "accepted": 2,
        "ignored": {"duplicate": 1, "not_traded_on_alerts": 1},
    }
    fills = [json.loads(line) for line in (a / "fills.jsonl").read_text().splitlines()]
    buys = [f for f in fills if f["side"] == "BUY" and f["time_ms"] < 1723161330000]
    sells = [f for f in fills if f["side"] == "SELL"]
    assert sum(float(f["qty"]) for f in buys) == pytest.approx(0.001)  # long the alert's contracts after the buy
    assert all(f["time_ms"] >= 1723161270000 for f in buys)
    assert sells and all(f["time_ms"] >= 1723161330000 for f in sells)  # flat after the sell
    assert abs(float(report["positions"]["BTCUSDT"])) < 0.00001  # flat to the step (buy fees were paid in BTC)


@pytest.mark.data
def test_alerts_are_byte_identical_across_runs_and_pinned(twice: tuple[Path, Path, dict[str, Any]]) -> None:
    a, b, _ = twice
    for name in ("fills.jsonl", "report.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    digests = tuple(hashlib.sha256((a / n).read_bytes()).hexdigest()[:16] for n in ("fills.jsonl", "report.json"))
    assert digests == PINNED  # as test_pinned.py pins the other runs


@pytest.mark.data
def test_without_alerts_the_signals_strategy_does_nothing(data_dir: Path, tmp_path: Path) -> None:
    report = _run(data_dir, tmp_path, None)
    assert report["metrics"]["fills"] == 0 and "alerts" not in report


@pytest.mark.data
def test_alerts_through_the_bots_per_turn_rule_and_a_later_start(data_dir: Path, tmp_path: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    alerts = tuple(parse_alerts([orjson.dumps(r) for r in ALERTS]))
    conflated = run_one(
        RunSpec({}, "signals", data, BacktestParams(end_ms=TO_MS, alerts=alerts, turn_us=50), {}, None, plots=False,
                alerts_file="alerts.jsonl")
    )  # fmt: skip
    assert conflated["alerts"]["accepted"] == 2 and conflated["metrics"]["fills"] > 0
    assert conflated["events"]["conflated"] > 0
    # from 23:55:00 on: the buy, its repeat and the ETHUSDT alert (23:54:30–40) come before the window: not delivered
    later = BacktestParams(start_ms=1723161300000, end_ms=TO_MS, alerts=alerts)
    report = run_one(RunSpec({}, "signals", data, later, {}, None, plots=False, alerts_file="alerts.jsonl"))
    assert report["alerts"]["delivered"] == 1 and report["alerts"]["accepted"] == 1  # the sell
    assert report["metrics"]["fills"] == 0  # a sell toward flat with nothing held
