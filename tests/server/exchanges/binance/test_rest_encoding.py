"""The adapter's REST request builder against the simulator: values holding ``&``, ``=``, ``%``, ``#``, spaces,
newlines or non-ASCII reach the exchange exactly as given, as one parameter, under a valid signature; the exchange's
refusals come back quoting its own code and message, never a Python object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aiohttp import web

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.binance.errors import BadParameter, ExchangeError, UnknownOrder
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side
from tradingmcp.sim.app import Simulator

pytestmark = pytest.mark.data
HOSTILE = ("zz&orderId={order_id}", "a=b", "100%", "x#y", "a b", "a\nb", "ордер", "ok-id\n")
ILLEGAL_CID = "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'."


def limit_buy(price: Decimal, cid: str | None = None) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=price, client_order_id=cid
    )


async def test_values_reach_the_exchange_exactly_and_never_name_another_order(
    sim: Simulator, adapter: BinanceAdapter
) -> None:
    bid = (await adapter.book_ticker("BTCUSDT")).bid
    resting = await adapter.place_order(limit_buy((bid * Decimal("0.98")).quantize(Decimal("0.01"))))
    for template in HOSTILE:
        value = template.format(order_id=resting.order_id)
        with pytest.raises(UnknownOrder) as exc:  # not the resting order, not -1022: the signature checked out
            await adapter.get_order("BTCUSDT", client_order_id=value)
        assert exc.value.code == -2013 and exc.value.exchange_message == "Order does not exist."
        assert "Binance error -2013: Order does not exist." in str(exc.value)
        method, endpoint, params = sim.state.calls[-1]  # what the simulator decoded from the raw query string
        assert (method, endpoint) == ("GET", "order")
        assert params["origClientOrderId"] == value and "orderId" not in params
        assert set(params) == {"symbol", "origClientOrderId", "recvWindow", "timestamp"}
    assert (await adapter.get_order("BTCUSDT", order_id=resting.order_id)).status == resting.status


async def test_an_illegal_new_client_order_id_gets_binances_own_refusal(
    sim: Simulator, adapter: BinanceAdapter
) -> None:
    bid = (await adapter.book_ticker("BTCUSDT")).bid
    request = limit_buy((bid * Decimal("0.98")).quantize(Decimal("0.01")), "a b&c=d")
    with pytest.raises(BadParameter) as ws_api:  # order.place on the WS API order channel
        await adapter.place_order(request, validate=False)
    with pytest.raises(BadParameter) as rest:  # POST /api/v3/order/test over REST
        await adapter.test_order(request)
    for exc in (ws_api.value, rest.value):
        assert (exc.code, exc.exchange_message) == (-1100, ILLEGAL_CID)
        assert str(exc).startswith(f"Binance error -1100: {ILLEGAL_CID}")
    assert sim.state.calls[-1][2]["newClientOrderId"] == "a b&c=d"
    assert await adapter.open_orders("BTCUSDT") == []


@pytest.fixture
async def plain_text_exchange() -> AsyncIterator[str]:
    """An HTTP server answering every request like a proxy in front of an exchange may: a plain-text 400, or an HTML
    502. Returns its ``/api`` base URL."""

    async def handle(request: web.Request) -> web.Response:
        if "bookTicker" in request.path:
            return web.Response(status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
        return web.Response(status=400, text="Bad Request: malformed query")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        await runner.cleanup()


async def test_error_bodies_that_are_not_json_are_quoted_as_text(plain_text_exchange: str) -> None:
    adapter = BinanceAdapter(BinanceConfig(api_key="k", api_secret="s", rest_url=plain_text_exchange))
    try:
        with pytest.raises(ExchangeError) as bad_request:
            await adapter.get_order("BTCUSDT", client_order_id="a b")
        with pytest.raises(ExchangeError) as gateway:
            await adapter.book_ticker("BTCUSDT")
    finally:
        await adapter.close()
    assert bad_request.value.status == 400 and gateway.value.status == 502
    assert "HTTP 400" in str(bad_request.value) and "Bad Request: malformed query" in str(bad_request.value)
    assert "502 Bad Gateway" in str(gateway.value)
    for exc in (bad_request.value, gateway.value):
        text = f"{exc} {exc.exchange_message}"
        assert "<bound method" not in text and "ClientResponse" not in text and "signature=" not in text
