"""Sans-I/O parts of the market tools: stream-key parsing, argument checks, the REST book cache, text helpers."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.errors import InvalidSymbol
from tradingmcp.server.exchanges.models import BookLevel, OrderBookSnapshot, StreamKind, StreamSpec
from tradingmcp.server.tools.market.args import check_symbol, symbols_arg
from tradingmcp.server.tools.market.quotes import BookCache
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


def _book(uid: int) -> OrderBookSnapshot:
    return OrderBookSnapshot("BTCUSDT", uid, (BookLevel(Decimal(1), Decimal(2)),), (BookLevel(Decimal(3), Decimal(4)),))


async def test_book_cache_ttl_single_flight_and_errors() -> None:
    now = [0]
    cache = BookCache(ttl_ms=1000, clock_ms=lambda: now[0])
    calls = 0

    async def fetch() -> OrderBookSnapshot:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return _book(calls)

    first, second = await asyncio.gather(cache.get("binance", "BTCUSDT", fetch), cache.get("binance", "BTCUSDT", fetch))
    assert calls == 1 and first[0] is second[0]  # concurrent misses share one request
    assert (first[2], second[2]) == (False, True)
    now[0] = 999
    book, age, cached = await cache.get("binance", "BTCUSDT", fetch)
    assert (book.last_update_id, age, cached, calls) == (1, 999, True, 1)
    now[0] = 1000  # expired
    book, age, cached = await cache.get("binance", "BTCUSDT", fetch)
    assert (book.last_update_id, cached, calls) == (2, False, 2)
    assert (cache.hits, cache.misses) == (2, 2)

    async def failing() -> OrderBookSnapshot:
        raise InvalidSymbol("unknown symbol", exchange="binance", code=-1121)

    for _ in range(2):  # a failure is not cached
        with pytest.raises(InvalidSymbol):
            await cache.get("binance", "NOPEUSDT", failing)
    assert cache.misses == 4
