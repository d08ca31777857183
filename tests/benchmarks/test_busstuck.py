"""Smoke test of ``bench fanout --bus --stuck``: a real nats-server, feed, two gateways and client processes on
127.0.0.1, tiny counts; the stuck windows really have gateway A backed up while B's clients receive."""

from __future__ import annotations

import pytest

from tradingmcp.benchmarks import busstuck
from tradingmcp.benchmarks.busfanout import main
from tradingmcp.benchmarks.procs import kill_all


async def test_stuck_rows_have_gateway_a_backed_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(busstuck, "RATES_MSGS_PER_S", (200.0,))
    try:
        rows = await busstuck.run_stuck((4,), 0.5, 1)
    finally:
        kill_all()
    assert [r.condition for r in rows] == list(busstuck.CONDITIONS)
    reading, stuck = rows
    assert reading.a_backlog_kb == 0 and stuck.a_backlog_kb >= busstuck.FILL_BACKLOG_BYTES / 1024
    for r in rows:  # 2 clients on B, 200 messages/s (received inside the window: a loaded machine delays the tail)
        assert 0.5 * 2 * 200 <= r.deliveries_per_s <= 1.05 * 2 * 200
        assert 0 < r.p50_us <= r.p99_us
    assert stuck.p99_ratio == pytest.approx(stuck.p99_us / reading.p99_us)


def test_stuck_mode_bad_clients_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bus", "--stuck", "--clients", "x"]) == 2
    err = capsys.readouterr().err
    assert "comma-separated integers" in err and len(err.strip().splitlines()) == 1
