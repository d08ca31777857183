"""The market tools read REST through the server's TTL cache: many ``get_ticker`` calls on a symbol no stream holds
cost the exchange one request each of ``bookTicker`` and ``ticker/price``, and ``/metrics`` counts the hits and misses.

The whole stack on the manual-step simulator, its adapter's REST calls counted by a loopback proxy
(:class:`~tests.server.support.RestCounter`); the clients are our own ``McpClient`` over the WebSocket wire.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.metrics import metrics_routes
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig

from ...support import READER_TOKEN, RestCounter, ToolServer, ok, start_counted_server

BOOK_TICKER = ("GET", "v3/ticker/bookTicker")
PRICE = ("GET", "v3/ticker/price")
CALLS, CLIENTS = 1000, 20
"""1,000 calls from 20 connections at once (each connection runs at most 64 async calls at a time)."""


async def burst(srv: ToolServer, symbol: str) -> list[str]:
    """:data:`CALLS` ``get_ticker`` calls on ``symbol`` from :data:`CLIENTS` connections at once; their prices."""

    async def client_calls(c: McpClient) -> list[str]:
        rows = await asyncio.gather(*(ok(c, "get_ticker", {"symbol": symbol}) for _ in range(CALLS // CLIENTS)))
        return [r["price"] for r in rows]

    clients = [await connect(srv.url, token=READER_TOKEN) for _ in range(CLIENTS)]
    try:
        per_client = await asyncio.gather(*(client_calls(c) for c in clients))
    finally:
        for c in clients:
            await c.close()
    return [p for prices in per_client for p in prices]


async def scrape(srv: ToolServer, rest: RestCounter) -> str:
    server = srv.server
    server.http_routes.update(metrics_routes(srv.app, lambda: server, srv.venues, market=srv.stack.toolset.market))
    base = srv.url.replace("ws://", "http://").removesuffix("/mcp")
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


def counter(metrics: str, name: str, kind: str) -> float:
    m = re.search(rf'tradingmcp_market_cache_{name}_total\{{exchange="binance",kind="{kind}"\}} (\S+)', metrics)
    assert m is not None, metrics
    return float(m.group(1))


async def test_a_thousand_get_ticker_calls_reach_the_exchange_once(data_dir: Path, tmp_path: Path) -> None:
    async with start_counted_server(data_dir, tmp_path) as (srv, rest):
        srv.sim.step(2000)
        assert "ETHUSDT" not in srv.venues.get().tickers.wanted  # no stream of the server's own holds it
        prices = await burst(srv, "ETHUSDT")
        assert len(prices) == CALLS and len(set(prices)) == 1
        # the default ticker TTL (10 s) covers the burst: one request of each kind; 2 leaves room for a slow machine
        assert 1 <= rest.count(*BOOK_TICKER) <= 2, rest.requests
        assert 1 <= rest.count(*PRICE) <= 2, rest.requests
        metrics = await scrape(srv, rest)
        assert counter(metrics, "misses", "ticker") == rest.count(*BOOK_TICKER)
        assert counter(metrics, "misses", "price") == rest.count(*PRICE)
        assert counter(metrics, "hits", "ticker") + counter(metrics, "misses", "ticker") == CALLS
        assert counter(metrics, "hits", "price") + counter(metrics, "misses", "price") == CALLS


async def test_book_trades_and_klines_tools_share_the_cache(data_dir: Path, tmp_path: Path) -> None:
    async with start_counted_server(data_dir, tmp_path) as (srv, rest):
        srv.sim.step(2000)
        async with srv.client(token=READER_TOKEN) as c:
            books = [await ok(c, "get_order_book", {"symbol": "ETHUSDT", "limit": n}) for n in (5, 20, 100)]
            trades = [await ok(c, "get_recent_trades", {"symbol": "ETHUSDT", "limit": n}) for n in (1, 50, 100)]
            klines = [
                await ok(c, "get_klines", {"symbol": "ETHUSDT", "interval": "1m", "limit": n}) for n in (1, 100, 500)
            ]
        assert [b["cached"] for b in books] == [False, True, True] and [len(b["bids"]) for b in books] == [5, 20, 100]
        assert [t["count"] for t in trades] == [1, 50, 100]
        assert trades[0]["trades"][-1] == trades[2]["trades"][-1]  # cut from the same read
        assert klines[0]["rows"][-1] == klines[1]["rows"][-1] and klines[2]["count"] <= 500
        assert rest.count("GET", "v3/depth") == 1
        assert rest.count("GET", "v3/trades") == 1
        assert rest.count("GET", "v3/klines") == 1


async def test_get_ticker_prices_a_streamed_symbol_from_the_stream(data_dir: Path, tmp_path: Path) -> None:
    config = ToolsetConfig(safety=SafetyConfig(allowed_symbols=frozenset({"BTCUSDT"})))  # the venue streams it
    async with start_counted_server(data_dir, tmp_path, config) as (srv, rest):
        venue = srv.venues.get()
        async with asyncio.timeout(10):
            while venue.tickers.get("BTCUSDT") is None:  # step the market until the venue's own stream quotes it
                srv.sim.step(50)
                await asyncio.sleep(0.01)
        async with srv.client(token=READER_TOKEN) as c:
            rows = [await ok(c, "get_ticker", {"symbol": "BTCUSDT"}) for _ in range(10)]
            other = await ok(c, "get_ticker", {"symbol": "ETHUSDT"})
        assert {r["source"] for r in rows} == {"stream"} and other["source"] == "rest"
        assert rest.count(*BOOK_TICKER) == 1  # ETHUSDT's only: the streamed symbol's bid/ask cost no request
        assert rest.count(*PRICE) == 2  # the last price is REST-only: once per symbol within its TTL
