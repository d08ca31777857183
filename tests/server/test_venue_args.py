"""Venue argument checks (sans-I/O): a refusal quotes the caller's value escaped and bounded, whatever its size."""

from __future__ import annotations

import pytest

from tradingmcp.server.exchanges.paramrules import rules_for
from tradingmcp.server.tools.market.args import check_symbol
from tradingmcp.server.venue_args import check_symbol_for, quoted
from tradingmcp.transport.jsonrpc import MAX_QUOTED_CHARS, JsonRpcError


def test_quoted_escapes_invisible_characters_and_keeps_short_values_whole() -> None:
    assert quoted("a\nb") == '"a\\nb"'
    assert quoted("ордер") == '"ордер"'
    assert quoted("x" * MAX_QUOTED_CHARS) == '"' + "x" * MAX_QUOTED_CHARS + '"'


@pytest.mark.parametrize("size", [MAX_QUOTED_CHARS + 1, 100_000, 1 << 20])
def test_quoted_is_bounded_by_the_limit_not_by_the_value(size: int) -> None:
    text = quoted("y" * size)
    assert len(text) <= MAX_QUOTED_CHARS + 32
    assert text.endswith(f"({size} characters)")


@pytest.mark.parametrize("venue", ["binance", "mexc"])
def test_a_huge_symbol_is_refused_with_a_short_message(venue: str) -> None:
    huge = "BTC&" + "U" * 200_000
    for check in (lambda: check_symbol(huge), lambda: check_symbol_for(rules_for(venue), huge)):
        with pytest.raises(JsonRpcError) as exc:
            check()
        assert exc.value.code == -32602 and len(exc.value.message) < 400
