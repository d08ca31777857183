"""Sans-I/O parts of the market tools: stream-key parsing, argument checks, text helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.models import StreamKind, StreamSpec
from tradingmcp.server.tools.market.args import check_symbol, symbols_arg
from tradingmcp.server.tools.market.shapes import short
from tradingmcp.server.tools.market.streams import parse_stream_key
from tradingmcp.transport.jsonrpc import JsonRpcError


def test_stream_keys_parse_to_adapter_specs() -> None:
    assert parse_stream_key("klines:binance:btcusdt:1M", "binance").spec == StreamSpec(
        StreamKind.KLINE, "BTCUSDT", "1M"
    )
    assert parse_stream_key("ticker_24h:binance:ETHUSDT", "binance").spec.kind is StreamKind.TICKER_24H
    book = parse_stream_key("book:binance:BTCUSDT:5", "binance")
    assert (book.levels, book.route) == (5, ("book", "BTCUSDT", None))
    assert parse_stream_key("book:binance:BTCUSDT", "binance").levels == 10


@pytest.mark.parametrize(
    "key",
    [
        "klines:binance:BTCUSDT",  # interval missing
        "klines:binance:BTCUSDT:7m",  # not a Binance interval
        "klines:binance:BTCUSDT:1mm",
        "trades:binance:BTCUSDT:5",  # only book takes levels
        "book:binance:BTCUSDT:101",
        "book:binance:BTCUSDT:0",
        "trades:mexc:BTCUSDT",  # another exchange
        "candles:binance:BTCUSDT",
        "trades:binance:BTC/USDT",
        "trades:binance:",
    ],
)
def test_bad_stream_keys_are_invalid_params(key: str) -> None:
    with pytest.raises(JsonRpcError) as err:
        parse_stream_key(key, "binance")
    assert err.value.code == -32602


def test_symbol_arguments() -> None:
    assert check_symbol("btcusdt") == "BTCUSDT"
    for bad in ("BTC USDT", "BTC/USDT", "x", "A" * 21, "BTC:USDT"):
        with pytest.raises(JsonRpcError):
            check_symbol(bad)
    assert symbols_arg({"symbols": ["btcusdt", "BTCUSDT", "ethusdt"]}) == (["BTCUSDT", "ETHUSDT"], True)
    assert symbols_arg({"symbol": "ethusdt"}) == (["ETHUSDT"], False)
    for args in ({}, {"symbol": "BTCUSDT", "symbols": ["ETHUSDT"]}):
        with pytest.raises(JsonRpcError) as err:
            symbols_arg(args)
        assert err.value.code == -32602


def test_short_numbers() -> None:
    assert short(Decimal("76213456.2")) == "76.21M"
    assert short(Decimal("1234.5678")) == "1234.57"
    assert short(Decimal("0.00123")) == "0.00123"
    assert short(Decimal("20000000000")) == "20.00B"
