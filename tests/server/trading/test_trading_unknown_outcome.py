"""An order placement whose outcome is unknown (HTTP 503) is resolved by querying the client order id, never by
re-sending blindly.

A real loopback HTTP proxy sits between the python-binance adapter and the simulator and answers ``POST
/api/v3/order`` with a 503, either after forwarding it (the order exists) or without (it does not). The trading desk
above the adapter is the one the tools use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import aiohttp
from aiohttp import web

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side, TimeInForce
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.trading import SafetyConfig, TradingDesk
from tradingmcp.server.venues import Venue, Venues

from ..support import ToolServer

WAIT_S = 15.0


class FlakyProxy:
    """Forwards every request to ``target`` (the simulator's ``/api`` base); ``POST /api/v3/order`` is answered
    with 503 — after forwarding when ``forward_orders``, else without reaching the simulator — and so is
    ``GET /api/v3/order`` (the lookup by client order id, not forwarded) when ``fail_lookups``."""

    def __init__(self, target: str, forward_orders: bool, fail_lookups: bool = False) -> None:
        self.target = target.rstrip("/")
        self.forward_orders = forward_orders
        self.fail_lookups = fail_lookups
        self.order_posts = 0
        self.lookups = 0
        self.session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self.session is not None
        tail = request.match_info["tail"]
        body = await request.read()
        is_order = request.method == "POST" and tail == "v3/order"
        if is_order:
            self.order_posts += 1
        if request.method == "GET" and tail == "v3/order":
            self.lookups += 1
            if self.fail_lookups:
                return web.json_response({"code": -1000, "msg": "An unknown error occurred"}, status=503)
        if not is_order or self.forward_orders:
            headers = {k: v for k, v in request.headers.items() if k.lower() in ("x-mbx-apikey", "content-type")}
            url = f"{self.target}/{tail}" + (f"?{request.query_string}" if request.query_string else "")
            async with self.session.request(request.method, url, data=body, headers=headers) as upstream:
                payload = await upstream.read()
                if not is_order:
                    return web.Response(body=payload, status=upstream.status, content_type="application/json")
        return web.json_response({"code": -1000, "msg": "An unknown error occurred"}, status=503)


@asynccontextmanager
async def flaky_desk(
    srv: ToolServer, forward_orders: bool, fail_lookups: bool = False
) -> AsyncIterator[tuple[TradingDesk, Venue, FlakyProxy]]:
    proxy = FlakyProxy(srv.sim.rest_url, forward_orders, fail_lookups)
    app = web.Application()
    app.router.add_route("*", "/api/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    adapter = BinanceAdapter(
        BinanceConfig(
            api_key="sim-key",
            api_secret="sim-secret",
            rest_url=f"http://127.0.0.1:{port}/api",
            stream_url=srv.sim.stream_url,
            ws_api_url=srv.sim.ws_api_url.replace(f":{srv.sim.ws_port}/", ":9/"),  # no WS API: orders use REST
        )
    )
    async with aiohttp.ClientSession() as session:
        proxy.session = session
        try:
            await adapter.start()
            venues = Venues([Venue("binance", adapter, "sim", srv.sim)])
            yield TradingDesk(venues, SafetyConfig()), venues.get(), proxy
        finally:
            await adapter.close()
            await runner.cleanup()


def _request(cid: str, price: Decimal) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        Decimal("0.001"),
        price=price,
        time_in_force=TimeInForce.GTC,
        client_order_id=cid,
    )


async def test_a_placed_order_behind_a_503_is_found_not_resent(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with asyncio.timeout(WAIT_S), flaky_desk(tool_server, forward_orders=True) as (desk, venue, proxy):
        ticker = await venue.adapter.book_ticker("BTCUSDT")
        price = (ticker.bid * Decimal("0.99")).quantize(Decimal("0.01"))
        placed = await desk.place("trader", venue, _request("flaky-1", price))
        assert placed.order is not None and placed.order.client_order_id == "flaky-1"
        assert placed.order.status.value == "NEW" and placed.duplicate is False
        assert proxy.order_posts == 1  # found by client id: never sent twice
        history = await venue.adapter.all_orders("BTCUSDT")
        assert [o.client_order_id for o in history] == ["flaky-1"]


async def test_an_order_that_never_arrived_is_reported_as_unknown_outcome(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    async with asyncio.timeout(WAIT_S), flaky_desk(tool_server, forward_orders=False) as (desk, venue, proxy):
        ticker = await venue.adapter.book_ticker("BTCUSDT")
        price = (ticker.bid * Decimal("0.99")).quantize(Decimal("0.01"))
        try:
            await desk.place("trader", venue, _request("flaky-2", price))
        except ToolError as exc:
            assert exc.code == "exchange_error" and exc.details["exchange_error"] == "ExchangeUnavailable"
            assert exc.details["outcome_unknown"] is True and exc.details["client_order_id"] == "flaky-2"
            assert "get_order" in exc.details["next_step"]
        else:
            raise AssertionError("a placement that kept failing with 503 must be reported")
        # the adapter re-sent only after the exchange said it has no such order (one retry), never more
        assert proxy.order_posts == 2
        assert proxy.lookups == 2  # one after each send, the adapter's; the desk does not ask again
        assert await venue.adapter.all_orders("BTCUSDT") == []
        assert desk.desk(venue).safety.today_notional() > 0  # the unknown outcome keeps its daily reservation


async def test_an_order_whose_lookup_fails_is_sent_once_and_reported_as_unknown(tool_server: ToolServer) -> None:
    """The order is made behind a 503 and the lookup by client order id fails too: the desk reports the outcome as
    unknown with the next step, after one send and one lookup (the adapter's), and keeps the daily reservation."""
    tool_server.sim.step(2000)
    flaky = flaky_desk(tool_server, forward_orders=True, fail_lookups=True)
    async with asyncio.timeout(WAIT_S), flaky as (desk, venue, proxy):
        ticker = await venue.adapter.book_ticker("BTCUSDT")
        price = (ticker.bid * Decimal("0.99")).quantize(Decimal("0.01"))
        try:
            await desk.place("trader", venue, _request("flaky-3", price))
        except ToolError as exc:
            assert exc.code == "exchange_error" and exc.details["exchange_error"] == "ExchangeUnavailable"
            assert exc.details["outcome_unknown"] is True and exc.details["client_order_id"] == "flaky-3"
            assert "get_order(client_order_id='flaky-3')" in exc.details["next_step"]
            assert "checking it failed" in str(exc)
        else:
            raise AssertionError("a placement whose outcome stayed unknown must be reported")
        assert (proxy.order_posts, proxy.lookups) == (1, 1)  # never sent again, asked once
        assert [o.client_order_id for o in await venue.adapter.all_orders("BTCUSDT")] == ["flaky-3"]
        assert desk.desk(venue).safety.today_notional() > 0
