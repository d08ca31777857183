"""The parsed-recording cache: the events read back from it are the reader's, to the byte; a broken cache file is
parsed over; an empty ``TRADINGMCP_CACHE_DIR`` turns it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingmcp.research.backtest.data import cache_dir, cached_recording, load_market_data
from tradingmcp.sim.replay import read_recording

pytestmark = pytest.mark.data


def test_cached_events_are_the_readers(data_dir: Path, tmp_path: Path) -> None:
    files = load_market_data(["BTCUSDT"], data_dir).files[:1]
    expected = list(read_recording("BTCUSDT", files))
    first = list(cached_recording("BTCUSDT", files, tmp_path))  # parses and stores
    stored = list(tmp_path.glob("*.marshal"))
    assert len(stored) == 1
    second = list(cached_recording("BTCUSDT", files, tmp_path))  # reads the stored file
    assert first == expected and second == expected
    assert len(expected) > 10_000
    stored[0].write_bytes(b"not marshal data")
    assert list(cached_recording("BTCUSDT", files, tmp_path)) == expected  # parsed over, and stored again
    assert stored[0].read_bytes() != b"not marshal data"


def test_cache_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRADINGMCP_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.setenv("TRADINGMCP_CACHE_DIR", "")
    assert cache_dir() is None
    monkeypatch.delenv("TRADINGMCP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "tradingmcp" / "recordings"


def test_recording_events_through_the_cache(data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRADINGMCP_CACHE_DIR", str(tmp_path))
    data = load_market_data(["BTCUSDT", "ETHUSDT"], data_dir)
    events = list(data.events())
    assert {e.symbol for e in events} == {"BTCUSDT", "ETHUSDT"}
    assert [e.local_ns for e in events] == sorted(e.local_ns for e in events)
    assert len(list(tmp_path.glob("*.marshal"))) == len(data.files)
    assert list(data.events()) == events
