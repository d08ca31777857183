"""The market cache's settings: ``[market]`` in the server's TOML file, checked, with the documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingmcp.server.market import MarketCacheConfig
from tradingmcp.server.tools.toolset import ToolsetConfig

EXAMPLE = Path(__file__).parents[3] / "tradingmcp.example.toml"


def test_defaults_are_one_second_for_books_ten_for_tickers() -> None:
    cfg = MarketCacheConfig()
    assert (cfg.book_ttl_ms, cfg.ticker_ttl_ms) == (1_000, 10_000)
    assert ToolsetConfig.load(EXAMPLE, {}).market == cfg  # the example file states the real defaults


def test_market_table_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[market]\nticker_ttl_ms = 2500\nbook_ttl_ms = 0\n")
    loaded = ToolsetConfig.load(path, {}).market
    assert (loaded.ticker_ttl_ms, loaded.book_ttl_ms, loaded.trades_ttl_ms) == (2500, 0, 1000)
    for text, match in (
        ("ticker_ttl = 5", "ticker_ttl"),  # a misspelt key is named, not ignored
        ("ticker_ttl_ms = -1", "ticker_ttl_ms"),
        ('ticker_ttl_ms = "10s"', "ticker_ttl_ms"),
        ("ticker_ttl_ms = 1.5", "ticker_ttl_ms"),
        ("max_entries = 0", "max_entries"),
    ):
        path.write_text(f"[market]\n{text}\n")
        with pytest.raises(ValueError, match=match):
            ToolsetConfig.load(path, {})
