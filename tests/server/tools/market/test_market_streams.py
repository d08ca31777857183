"""Market push streams through the whole stack: kline and 24 h ticker streams, one exchange subscription shared by
every MCP client of a stream and released when the last one leaves, lower-case keys, bad keys (malformed, outside the
key grammar, or of a symbol the venue does not list); the venue's ticker cache and its own book ticker streams."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from tradingmcp.client.session import McpClient, RpcError
from tradingmcp.server.exchanges.models import StreamKind, StreamSpec, StreamStatus
from tradingmcp.server.mcp.streams import STREAM_METHOD

from ...support import ToolServer

TIMEOUT_S = 10


async def wait_upstream(srv: ToolServer, stream: str, wanted: bool = True) -> None:
    """Until the simulator does (or no longer does) serve ``stream`` to the adapter's connection."""
    for _ in range(TIMEOUT_S * 100):
        if srv.sim.hub.wants(stream) == wanted:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"simulator stream {stream} never became wanted={wanted}")


async def collect(srv: ToolServer, clients: list[McpClient], key: str, n: int) -> list[list[dict[str, Any]]]:
    """Step the market until each client got ``n`` pushes of ``key``; returns their params, per client."""
    got: list[list[dict[str, Any]]] = [[] for _ in clients]
    async with asyncio.timeout(TIMEOUT_S):
        while min(len(g) for g in got) < n:
            srv.sim.step(300)
            await asyncio.sleep(0.02)
            for c, g in zip(clients, got, strict=True):
                g.extend(
                    x.params for x in c.drain_notifications() if x.method == STREAM_METHOD and x.params["stream"] == key
                )
    return got


def assert_increasing_seq(pushes: list[dict[str, Any]]) -> None:
    seqs = [p["seq"] for p in pushes]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 1


async def test_kline_stream_delivers_open_and_closed_bars(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    key = "klines:binance:BTCUSDT:1m"
    async with tool_server.client() as c:
        await c.subscribe(key)
        await wait_upstream(tool_server, "btcusdt@kline_1m")
        (pushes,) = await collect(tool_server, [c], key, 5)
        assert_increasing_seq(pushes)
        bars = [p["data"] for p in pushes]
        assert {b["symbol"] for b in bars} == {"BTCUSDT"} and {b["interval"] for b in bars} == {"1m"}
        for b in bars:
            assert b["close_time_ms"] - b["open_time_ms"] == 59_999
            assert Decimal(b["low"]) <= Decimal(b["close"]) <= Decimal(b["high"])
        # keep going until a minute closes: the closed bar is delivered (lossless), then the next one opens
        async with asyncio.timeout(TIMEOUT_S):
            while not any(b["closed"] for b in bars):
                (more,) = await collect(tool_server, [c], key, 1)
                bars += [p["data"] for p in more]
        closed = next(b for b in bars if b["closed"])
        later = bars[bars.index(closed) + 1 :]
        assert all(b["open_time_ms"] > closed["open_time_ms"] for b in later)


async def test_ticker_24h_stream(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    key = "ticker_24h:binance:ETHUSDT"
    async with tool_server.client() as c:
        await c.subscribe(key)
        await wait_upstream(tool_server, "ethusdt@ticker")
        (pushes,) = await collect(tool_server, [c], key, 3)
        assert_increasing_seq(pushes)
        stats = [p["data"] for p in pushes]
        assert [s["count"] for s in stats] == sorted(s["count"] for s in stats) and stats[-1]["count"] > 0
        last = stats[-1]
        assert last["symbol"] == "ETHUSDT" and Decimal("2600") < Decimal(last["last_price"]) < Decimal("2700")
        assert Decimal(last["low_price"]) <= Decimal(last["last_price"]) <= Decimal(last["high_price"])


async def test_two_clients_share_one_exchange_stream(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    bridge = tool_server.stack.toolset.bridges[0]
    adapter: Any = tool_server.venues.get().adapter
    spec = StreamSpec(StreamKind.KLINE, "ETHUSDT", "1m")
    key = "klines:binance:ETHUSDT:1m"
    async with tool_server.client() as a, tool_server.client() as b:
        await a.subscribe(key)
        await b.subscribe(key)
        await b.subscribe("klines:binance:ethusdt:1m")  # another spelling of the same exchange stream
        assert bridge.upstream_subscribes[spec] == 1 and tool_server.hub.subscriber_count(key) == 2
        await wait_upstream(tool_server, "ethusdt@kline_1m")
        got_a, got_b = await collect(tool_server, [a, b], key, 2)
        assert [p["data"]["open_time_ms"] for p in got_a][:1] == [p["data"]["open_time_ms"] for p in got_b][:1]
        (lower,) = await collect(tool_server, [b], "klines:binance:ethusdt:1m", 1)
        assert lower[0]["data"]["symbol"] == "ETHUSDT"

        await a.unsubscribe(key)
        await b.unsubscribe(key)
        assert "ethusdt@kline_1m" in adapter.streams.wanted  # b still holds the lower-case key
        await b.unsubscribe("klines:binance:ethusdt:1m")
        assert spec not in bridge.active_specs() and "ethusdt@kline_1m" not in adapter.streams.wanted
        await wait_upstream(tool_server, "ethusdt@kline_1m", wanted=False)
        assert bridge.upstream_subscribes[spec] == 1

        await a.subscribe(key)  # subscribing again after the release opens it again
        assert bridge.upstream_subscribes[spec] == 2
        await wait_upstream(tool_server, "ethusdt@kline_1m")


async def test_the_venue_streams_the_symbols_it_wants_and_drops_quotes_after_a_gap(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    venue = tool_server.venues.get()
    bridge = tool_server.stack.toolset.bridges[0]
    key = "book_ticker:binance:ETHUSDT"

    async def quoted() -> None:
        async with asyncio.timeout(TIMEOUT_S):
            while venue.tickers.get("ETHUSDT") is None:
                tool_server.sim.step(100)
                await asyncio.sleep(0.01)

    assert tool_server.hub.subscriber_count(key) == 0 and venue.tickers.get("ETHUSDT") is None
    venue.tickers.want("ethusdt")  # e.g. its first order: the venue holds the stream itself, no client needed
    await wait_upstream(tool_server, "ethusdt@bookTicker")
    assert tool_server.hub.subscriber_count(key) == 1
    await quoted()
    quote = venue.tickers.get("ETHUSDT")
    assert quote is not None and Decimal("2600") < quote.bid < quote.ask < Decimal("2700")

    bridge.on_event(StreamStatus("reconnecting", "connection lost", None))  # what the adapter reports on a cut
    assert venue.tickers.get("ETHUSDT") is None  # nothing from before the gap is trusted
    await quoted()  # the next pushed quote is


@pytest.mark.parametrize(
    "key",
    ["klines:binance:BTCUSDT", "klines:binance:BTCUSDT:7m", "ticker_24h:binance:BTCUSDT:5", "book:binance:BTC/USDT"],
)
async def test_bad_market_stream_keys_are_refused(tool_server: ToolServer, key: str) -> None:
    async with tool_server.client() as c:
        with pytest.raises(RpcError) as exc:
            await c.subscribe(key)
        assert exc.value.code == -32602
        assert tool_server.hub.subscriber_count(key) == 0


@pytest.mark.parametrize(
    "key",
    [
        "trades:binance:NOPEUSDT",
        "book:binance:nopeusdt:5",
        "orders:binance:NOPEUSDT",
        "trades:binance:BTCUSDT\n",
        "orders:binance:BTCUSDT\n",
        "book:binance:BTCUSDT:10\n",
        "trades:binance:BTC\nUSDT",
        "trades:binance:BTC USDT",
        "trades:binance:BTCUSDT\r",
    ],
)
async def test_stream_keys_off_the_venue_or_the_grammar_are_refused(tool_server: ToolServer, key: str) -> None:
    """-32602 naming the stream, nothing subscribed upstream, and the connection (and every other) still served."""
    adapter: Any = tool_server.venues.get().adapter
    wanted_before = set(adapter.streams.wanted)
    async with tool_server.client() as c, tool_server.client() as bystander:
        with pytest.raises(RpcError) as exc:
            await c.subscribe(key)
        assert exc.value.code == -32602
        assert repr(key) in exc.value.message, exc.value.message
        assert tool_server.hub.subscriber_count(key) == 0 and key not in tool_server.hub.active()
        assert set(adapter.streams.wanted) == wanted_before
        assert (await c.subscribe("trades:binance:BTCUSDT"))["isError"] is False
        assert (await bystander.subscribe("orders:binance:BTCUSDT"))["isError"] is False
