"""The pre-trade reference quote comes from the venue's own ``book_ticker`` stream, whether or not an MCP client
subscribes to the symbol: once the venue's feed is up, orders send no ``GET /api/v3/ticker/bookTicker``.

The whole stack on the manual-step simulator, its adapter's REST calls counted by a loopback proxy
(:class:`~tests.server.support.RestCounter`); orders go over the WS API and the streams over WebSocket, uncounted.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.client.session import McpClient
from tradingmcp.server.exchanges.models import StreamKind, StreamSpec
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig

from ..support import RestCounter, ToolServer, ok, start_counted_server

BOOK_TICKER_REST = ("GET", "v3/ticker/bookTicker")
KEY = "book_ticker:binance:BTCUSDT"
TIMEOUT_S = 10.0


async def until(cond: Any, what: str) -> None:
    """Poll ``cond()`` (server state with no event to wait on) until true; fails naming ``what`` after the timeout."""
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while not cond():  # noqa: ASYNC110 - polling server state from the test, bounded by the timeout
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


async def streamed_quote(srv: ToolServer, symbol: str = "BTCUSDT") -> None:
    """Step the market until a quote of ``symbol`` pushed after this call is in the venue's ticker cache (its stream is
    live, not just remembered)."""
    venue = srv.venues.get()
    before = venue.tickers.get(symbol)

    def pushed() -> bool:
        now = venue.tickers.get(symbol)
        if now is None or now is before:
            srv.sim.step(50)
            return False
        return True

    await until(pushed, f"a newly streamed {symbol} quote in the venue's cache")


async def place(c: McpClient, price: str) -> dict[str, Any]:
    """A small resting BUY limit order on BTCUSDT; its ``place_order`` result."""
    return await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price})


async def stream_priced_orders(srv: ToolServer, rest: RestCounter, c: McpClient, price: str, n: int) -> int:
    """Place ``n`` orders, each after a fresh streamed quote; asserts each was priced from the stream. Returns the
    ``bookTicker`` REST requests made meanwhile."""
    before = rest.count(*BOOK_TICKER_REST)
    for _ in range(n):
        await streamed_quote(srv)
        placed = await place(c, price)
        assert placed["order"]["status"] == "NEW" and placed["reference"]["source"] == "stream"
    return rest.count(*BOOK_TICKER_REST) - before


def below_bid(placed: dict[str, Any]) -> str:
    """A resting BUY price 1 % under the bid an order was priced at, on the tick (0.01)."""
    return str((Decimal(placed["reference"]["bid"]) * Decimal("0.99")).quantize(Decimal("0.01")))


async def test_orders_price_from_the_venues_own_stream_without_subscribers(data_dir: Path, tmp_path: Path) -> None:
    async with start_counted_server(data_dir, tmp_path) as (srv, rest):
        srv.sim.step(2000)
        async with srv.client() as c:
            first = await ok(c, "preview_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"})
            assert first["reference"]["source"] == "rest"  # nothing streamed yet: priced over REST
            assert rest.count(*BOOK_TICKER_REST) == 1
            # from the symbol's first pricing on, the venue holds its stream: nobody else subscribed to it
            await until(lambda: srv.sim.hub.wants("btcusdt@bookTicker"), "the venue's own bookTicker subscription")
            assert srv.hub.subscriber_count(KEY) == 1 and (await ok(c, "list_subscriptions", {}))["subscriptions"] == []
            made = await stream_priced_orders(srv, rest, c, below_bid(first), 4)
            assert made == 0  # several orders, no bookTicker REST request
        assert srv.hub.subscriber_count(KEY) == 1  # the client left; the venue keeps its stream


async def test_pricing_does_not_depend_on_another_client_subscribing(data_dir: Path, tmp_path: Path) -> None:
    config = ToolsetConfig(safety=SafetyConfig(allowed_symbols=frozenset({"BTCUSDT", "ETHUSDT"})))
    hub_after_close = None
    async with start_counted_server(data_dir, tmp_path, config) as (srv, rest):
        hub_after_close = srv.hub
        bridge = srv.stack.toolset.bridges[0]
        spec = StreamSpec(StreamKind.BOOK_TICKER, "BTCUSDT")
        # allow-listed symbols are streamed from the start, before any order or client (subscribed as the server
        # starts: wait for the exchange side, which may lag on a loaded machine)
        await until(
            lambda: srv.sim.hub.wants("btcusdt@bookTicker") and srv.sim.hub.wants("ethusdt@bookTicker"),
            "the venue's own bookTicker subscriptions of the allow-listed symbols",
        )
        assert bridge.upstream_subscribes[spec] == 1
        srv.sim.step(2000)
        async with srv.client() as trader, srv.client() as watcher:
            await streamed_quote(srv)
            preview = await ok(trader, "preview_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"})
            assert preview["reference"]["source"] == "stream" and rest.count(*BOOK_TICKER_REST) == 0
            price = below_bid(preview)

            await watcher.subscribe(KEY)  # another client of the same stream: still one exchange subscription
            assert bridge.upstream_subscribes[spec] == 1 and srv.hub.subscriber_count(KEY) == 2
            with_watcher = await stream_priced_orders(srv, rest, trader, price, 3)

            await watcher.unsubscribe(KEY)  # the last client leaves: the venue's own subscription keeps the stream
            assert srv.hub.subscriber_count(KEY) == 1 and spec in bridge.active_specs()
            assert srv.sim.hub.wants("btcusdt@bookTicker")
            without_watcher = await stream_priced_orders(srv, rest, trader, price, 3)

            assert with_watcher == without_watcher == 0
            assert bridge.upstream_subscribes[spec] == 1
    # a clean shutdown: the venue's own subscriptions were released and no task of theirs is left
    assert hub_after_close is not None and hub_after_close.active() == []
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_a_subscribed_book_prices_the_first_order_of_its_symbol(data_dir: Path, tmp_path: Path) -> None:
    # a client follows ETHUSDT's order book only: the venue holds no ETHUSDT book ticker (no allow-list, no order
    # yet), and the top of the maintained book is the reference quote of the symbol's first order
    async with start_counted_server(data_dir, tmp_path) as (srv, rest):
        venue = srv.venues.get()
        srv.sim.step(2000)
        async with srv.client() as c:
            await c.subscribe("book:binance:ETHUSDT")

            def book_top() -> bool:
                if venue.tickers.get("ETHUSDT") is None:
                    srv.sim.step(50)
                    return False
                return True

            await until(book_top, "the ETHUSDT book's top in the venue's ticker cache")
            assert not srv.sim.hub.wants("ethusdt@bookTicker")  # the quote came from the book
            book = venue.adapter.local_book("ETHUSDT", 1)
            assert book is not None
            preview = await ok(c, "preview_order", {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.01"})
            reference = preview["reference"]
            assert reference["source"] == "stream" and rest.count(*BOOK_TICKER_REST) == 0
            assert (Decimal(reference["bid"]), Decimal(reference["ask"])) == (book.bids[0].price, book.asks[0].price)
