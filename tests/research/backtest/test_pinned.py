"""The backtest's results pinned to the byte: every strategy's ``fills.jsonl`` and ``report.json`` on the whole
BTCUSDT recording (the bot's default settings, no latency; the arbitrage on Binance and MEXC with MEXC's prices 30 bps
up), and the market maker with a 5 ms latency on its first minutes hash to the digests below (the ``signals`` strategy
on replayed alerts is pinned in ``test_alerts.py``, next to the alerts file it writes). A speed-up of the replay, the simulator or the bot's core must leave them alone;
a change meant to alter the results updates the digests (and says why in its commit)."""

from __future__ import annotations

import decimal
import hashlib
from pathlib import Path

import pytest

from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import BacktestParams
from tradingmcp.research.backtest.run import RunSpec, run_one

pytestmark = pytest.mark.data

TO_MS = 1723161420000  # 2024-08-08T23:57:00Z: the first ~3 minutes of the recording

PINNED = {
    # (strategy, latency_ms, end_ms): (sha256 of fills.jsonl, sha256 of report.json), first 16 hex digits
    ("market_making", 0.0, None): ("3b8c8ef373bd2181", "646875ec45c20a8c"),
    ("momentum", 0.0, None): ("c20c9270d98baa2f", "ca4cc0d0df5ce1a7"),
    ("mean_reversion", 0.0, None): ("3e48f48ed0bddab8", "be03f22fe7037516"),
    ("market_making", 5.0, TO_MS): ("5cf4f8bf5034cd1c", "f0abc3521032950b"),
}
ARBITRAGE = ("b8c637b4ef866530", "8496c7c773d126dd")
"""The arbitrage on the whole recording, two venues, ``mexc_offset_bps = 30``."""


def _digests(out: Path) -> tuple[str, ...]:
    return tuple(hashlib.sha256((out / n).read_bytes()).hexdigest()[:16] for n in ("fills.jsonl", "report.json"))


@pytest.mark.parametrize(("strategy", "latency_ms", "end_ms"), list(PINNED))
def test_results_are_pinned(
    data_dir: Path, tmp_path: Path, strategy: str, latency_ms: float, end_ms: int | None
) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    params = BacktestParams(latency_ms=latency_ms, end_ms=end_ms)
    report = run_one(RunSpec({}, strategy, data, params, {}, tmp_path, plots=False))
    assert report["metrics"]["fills"] > 0
    digests = tuple(
        hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()[:16] for n in ("fills.jsonl", "report.json")
    )
    assert digests == PINNED[(strategy, latency_ms, end_ms)]


def test_two_venue_arbitrage_is_pinned(data_dir: Path, tmp_path: Path) -> None:
    data = load_market_data(["BTCUSDT"], data_dir)
    report = run_one(RunSpec({}, "arbitrage", data, BacktestParams(mexc_offset_bps=30.0), {}, tmp_path, plots=False))
    assert report["venues"]["binance"]["fills"] > 0 and report["venues"]["mexc"]["fills"] > 0
    assert _digests(tmp_path) == ARBITRAGE


def test_results_do_not_depend_on_the_callers_decimal_context(data_dir: Path, tmp_path: Path) -> None:
    """ccxt's number formatting sets the thread's decimal context to ROUND_HALF_UP (and an Underflow trap): a backtest
    in a process that ran it first must still give the pinned bytes."""
    data = load_market_data(["BTCUSDT"], data_dir)
    params = BacktestParams(latency_ms=5.0, end_ms=TO_MS)
    with decimal.localcontext() as ctx:
        ctx.rounding = decimal.ROUND_HALF_UP
        ctx.prec = 12
        run_one(RunSpec({}, "market_making", data, params, {}, tmp_path, plots=False))
        assert decimal.getcontext().prec == 12  # the caller's context is left as it was
    assert _digests(tmp_path) == PINNED[("market_making", 5.0, TO_MS)]
