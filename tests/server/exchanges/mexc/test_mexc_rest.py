"""``MexcRestClient`` over real sockets against a MEXC-shaped aiohttp server on 127.0.0.1 that checks signatures."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from tradingmcp.server.exchanges.mexc import errors
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.server.exchanges.mexc.rest import MexcRestClient
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from tradingmcp.sim.mexc.signing import verify
from tradingmcp.sim.mexc.wire import MexcError

KEY, SECRET = "mx0-test-key", "test-secret-0123456789"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class FakeMexc:
    """Just enough of MEXC's REST face: checks signatures as the simulator's MEXC face does, answers recorded MEXC
    bodies."""

    rest_bodies: dict[str, Any]
    misc: dict[str, Any]
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    overrides: dict[str, list[tuple[int, Any, dict[str, str]]]] = field(default_factory=dict)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/v3/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        raw_body = (await request.read()).decode()
        raw_query = request.rel_url.raw_query_string
        endpoint = f"{request.method} {path}"
        queued = self.overrides.get(endpoint)
        if queued:
            status, body, headers = queued.pop(0)
            self.calls.append((request.method, path, {}))
            return web.json_response(body, status=status, headers=headers)
        if path in PUBLIC:
            params = dict(request.query)
        else:
            try:
                _, params = verify(request.headers.get("X-MEXC-APIKEY"), {KEY: SECRET}, raw_query, raw_body, _now_ms())
            except MexcError as exc:
                self.calls.append((request.method, path, {}))
                return web.json_response(exc.body(), status=400)
        self.calls.append((request.method, path, params))
        return web.json_response(self.answer(request.method, path, params))

    def answer(self, method: str, path: str, p: dict[str, str]) -> Any:
        r, m = self.rest_bodies, self.misc
        order_row = r["GET /api/v3/allOrders (ATLASUSDT, private)"][0]
        table: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "/ping"): dict,
            ("GET", "/time"): lambda: {"serverTime": _now_ms()},
            ("GET", "/exchangeInfo"): lambda: m["rest.GET /api/v3/exchangeInfo (1 symbol)"],
            ("GET", "/depth"): lambda: r["GET /api/v3/depth?symbol=BTCUSDT&limit=1"],
            ("GET", "/trades"): lambda: m["rest.GET /api/v3/trades?symbol=ETHUSDT"],
            ("GET", "/aggTrades"): lambda: r["GET /api/v3/aggTrades?symbol=BTCUSDT&limit=1 (ccxt fetchTrades)"],
            ("GET", "/klines"): lambda: r["GET /api/v3/klines?symbol=BTCUSDT&interval=60m&limit=1"],
            ("GET", "/ticker/24hr"): lambda: r["GET /api/v3/ticker/24hr?symbol=BTCUSDT"],
            ("GET", "/ticker/price"): lambda: {"symbol": p["symbol"], "price": "73397.77"},
            ("GET", "/ticker/bookTicker"): lambda: {
                "symbol": p["symbol"],
                "bidPrice": "0.11001",
                "bidQty": "115.59",
                "askPrice": "0.11127",
                "askQty": "215.48",
            },
            ("POST", "/order"): lambda: {
                "symbol": p["symbol"],
                "orderId": "C02__1",
                "orderListId": -1,
                "price": p.get("price", "0"),
                "origQty": p.get("quantity", "0"),
                "type": p["type"],
                "side": p["side"],
                "transactTime": _now_ms(),
            },
            ("POST", "/order/test"): dict,
            ("DELETE", "/order"): lambda: {**order_row, "status": "CANCELED", "origClientOrderId": "mine"},
            ("DELETE", "/openOrders"): lambda: [{**order_row, "status": "CANCELED"}],
            ("GET", "/order"): lambda: order_row,
            ("GET", "/openOrders"): list,
            ("GET", "/allOrders"): lambda: r["GET /api/v3/allOrders (ATLASUSDT, private)"],
            ("GET", "/myTrades"): lambda: r["GET /api/v3/myTrades (ATLASUSDT, private)"],
            ("GET", "/account"): lambda: {
                "canTrade": True,
                "accountType": "SPOT",
                "permissions": ["SPOT"],
                "balances": [
                    {"asset": "USDT", "free": "100.5", "locked": "1"},
                    {"asset": "MX", "free": "0", "locked": "0"},
                ],
            },
            ("POST", "/batchOrders"): lambda: [
                {
                    "symbol": o["symbol"],
                    "orderId": f"C02__{i}",
                    "orderListId": -1,
                    "newClientOrderId": o["newClientOrderId"],
                }
                for i, o in enumerate(json.loads(p["batchOrders"]))
            ],
            ("POST", "/userDataStream"): lambda: {"listenKey": "lk-1"},
            ("PUT", "/userDataStream"): lambda: {"listenKey": p["listenKey"]},
            ("DELETE", "/userDataStream"): lambda: {"listenKey": p["listenKey"]},
        }
        return table[(method, path)]()


PUBLIC = {"/ping", "/time", "/exchangeInfo", "/depth", "/trades", "/aggTrades", "/klines", "/ticker/24hr",
          "/ticker/price", "/ticker/bookTicker"}  # fmt: skip


@pytest.fixture
async def fake(rest_bodies: dict[str, Any], misc_samples: dict[str, Any]) -> AsyncIterator[FakeMexc]:
    server = FakeMexc(rest_bodies, misc_samples)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def _client(fake: FakeMexc, **kw: Any) -> MexcRestClient:
    cfg = MexcConfig(api_key=KEY, api_secret=kw.pop("secret", SECRET), rest_url=fake.url, request_timeout_s=5)
    return MexcRestClient(cfg, **kw)


async def test_public_endpoints(fake: FakeMexc) -> None:
    async with asyncio.timeout(10), _client(fake) as rest:
        await rest.ping()
        assert abs(await rest.sync_time()) < 2000
        rules = await rest.exchange_info(["BROCKUSDT"])
        assert rules["BROCKUSDT"].tick_size == Decimal("0.00001")
        book = await rest.depth("BTCUSDT", limit=1000)
        assert book.last_update_id == 20453289489 and book.bids[0].price == Decimal("45995.47")
        assert len(await rest.trades("ETHUSDT", limit=2)) == 2
        assert (await rest.agg_trades("BTCUSDT"))[0].price == Decimal("73238.7")
        (k,) = await rest.klines("BTCUSDT", "1h", limit=1)
        assert k.interval == "60m" and k.close == Decimal("73414.21")
        assert (await rest.ticker_24h("BTCUSDT")).price_change_percent == Decimal("1.73")
        assert await rest.ticker_price("BTCUSDT") == Decimal("73397.77")
        assert (await rest.book_ticker("AEUSDT")).ask == Decimal("0.11127")
    sent = {path: params for _, path, params in fake.calls}
    assert sent["/depth"] == {"symbol": "BTCUSDT", "limit": "1000"}
    assert sent["/klines"]["interval"] == "60m"
    assert sent["/exchangeInfo"] == {"symbol": "BROCKUSDT"}


async def test_signed_endpoints_pass_the_signature_check(fake: FakeMexc) -> None:
    req = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.0002"), price=Decimal("40000"),
                       time_in_force=TimeInForce.IOC, client_order_id="my-1")  # fmt: skip
    async with asyncio.timeout(10), _client(fake) as rest:
        placed = await rest.place_order(req)
        assert (placed.order_id, placed.client_order_id, placed.status) == ("C02__1", "my-1", OrderStatus.NEW)
        assert placed.time_in_force is TimeInForce.IOC
        await rest.test_order(OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, quote_order_qty=Decimal(10)))
        cancelled = await rest.cancel_order("ATLASUSDT", client_order_id="mine")
        assert cancelled.status is OrderStatus.CANCELED and cancelled.client_order_id == "mine"
        assert len(await rest.cancel_open_orders("ATLASUSDT")) == 1
        assert (await rest.get_order("ATLASUSDT", order_id="C02__385413065019117569043")).status is OrderStatus.FILLED
        assert await rest.open_orders("ATLASUSDT") == []
        assert len(await rest.all_orders("ATLASUSDT")) == 1
        (fill,) = await rest.my_trades("ATLASUSDT")
        assert fill.quote_qty == Decimal("5.54124")
        balances = await rest.balances()
        assert [(b.asset, b.free, b.locked) for b in balances] == [("USDT", Decimal("100.5"), Decimal(1))]
        batch = await rest.batch_orders(
            [
                OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.0002"), price=Decimal("40000")),
                OrderRequest("BTCUSDT", Side.SELL, OrderType.LIMIT_MAKER, quantity=Decimal("0.0003"), price=Decimal(45000)),
            ]
        )  # fmt: skip
        assert [getattr(o, "order_id", None) for o in batch] == ["C02__0", "C02__1"]
        key = await rest.create_listen_key()
        await rest.keepalive_listen_key(key)
        await rest.close_listen_key(key)
        with pytest.raises(errors.BadParameter):
            await rest.batch_orders([])
    sent = [(m, path, params) for m, path, params in fake.calls]
    order_params = sent[0][2]
    assert order_params["type"] == "IMMEDIATE_OR_CANCEL" and order_params["newClientOrderId"] == "my-1"
    assert order_params["quantity"] == "0.0002" and order_params["recvWindow"] == "5000"
    assert sent[1][2]["quoteOrderQty"] == "10" and sent[1][2]["newClientOrderId"].startswith("tmcp")
    batch_sent = json.loads(next(p for _, path, p in sent if path == "/batchOrders")["batchOrders"])
    assert [o["type"] for o in batch_sent] == ["LIMIT", "LIMIT_MAKER"] and len(
        {o["newClientOrderId"] for o in batch_sent}
    ) == 2
    assert ("PUT", "/userDataStream", sent[-2][2]) == sent[-2] and sent[-2][2]["listenKey"] == "lk-1"


async def test_wrong_secret_is_invalid_signature(fake: FakeMexc) -> None:
    async with asyncio.timeout(10), _client(fake, secret="not-the-secret") as rest:
        with pytest.raises(errors.InvalidSignature) as info:
            await rest.balances()
    assert info.value.code == 700002 and info.value.status == 400 and "not-the-secret" not in str(info.value)


async def test_skewed_clock_is_resynced_once(fake: FakeMexc) -> None:
    async with asyncio.timeout(10), _client(fake, clock_ms=lambda: _now_ms() - 20_000) as rest:
        assert (await rest.account())["canTrade"] is True
        assert 19_000 < rest.time_offset_ms < 21_000
    assert [path for _, path, _ in fake.calls] == ["/account", "/time", "/account"]


async def test_429_retry_after_is_honoured(fake: FakeMexc) -> None:
    fake.overrides["GET /ticker/price"] = [(429, {"code": 429, "msg": "Too Many Requests"}, {"Retry-After": "0.2"})]
    async with asyncio.timeout(10), _client(fake) as rest:
        start = time.monotonic()
        assert await rest.ticker_price("BTCUSDT") == Decimal("73397.77")
        assert time.monotonic() - start >= 0.2
    assert len(fake.calls) == 2


async def test_long_retry_after_and_ban_raise_without_hammering(fake: FakeMexc) -> None:
    fake.overrides["GET /depth"] = [(429, {"code": 429, "msg": "Too Many Requests"}, {"Retry-After": "30"})]
    async with asyncio.timeout(10), _client(fake) as rest:
        with pytest.raises(errors.RateLimited) as info:
            await rest.depth("BTCUSDT")
        assert info.value.retry_after_s == 30
        with pytest.raises(errors.RateLimited):
            await rest.ping()  # blocked locally: nothing sent
        assert len(fake.calls) == 1
    fake.overrides["GET /time"] = [(418, {"code": 418, "msg": "banned"}, {"Retry-After": "120"})]
    async with asyncio.timeout(10), _client(fake) as rest:
        with pytest.raises(errors.IpBanned):
            await rest.server_time()
        with pytest.raises(errors.IpBanned):
            await rest.ping()
    assert len(fake.calls) == 2


async def test_server_errors_and_unreachable_are_unavailable(fake: FakeMexc) -> None:
    fake.overrides["GET /ping"] = [(503, {"code": 503, "msg": "service not available"}, {})]
    async with asyncio.timeout(10), _client(fake) as rest:
        with pytest.raises(errors.ExchangeUnavailable):
            await rest.ping()
    fake.overrides["GET /ticker/24hr"] = [(400, {"code": 10007, "msg": "bad symbol"}, {})]
    async with asyncio.timeout(10), _client(fake) as rest:
        with pytest.raises(errors.InvalidSymbol):
            await rest.ticker_24h("NOPE")
    cfg = MexcConfig(rest_url="http://127.0.0.1:9", request_timeout_s=2)
    async with asyncio.timeout(10), MexcRestClient(cfg) as rest:
        with pytest.raises(errors.ExchangeUnavailable):
            await rest.ping()
        with pytest.raises(errors.AuthError):
            await rest.account()  # no credentials configured


async def test_order_shapes_mexc_lacks_are_refused_locally(fake: FakeMexc) -> None:
    stop = OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS_LIMIT, quantity=Decimal(1), price=Decimal(1),
                        stop_price=Decimal(1))  # fmt: skip
    both = OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal(1), quote_order_qty=Decimal(5))
    async with asyncio.timeout(10), _client(fake) as rest:
        with pytest.raises(errors.NotSupported):
            await rest.place_order(stop)
        with pytest.raises(errors.BadParameter):
            await rest.place_order(both)
        with pytest.raises(errors.BadParameter):
            await rest.cancel_order("BTCUSDT")
    assert fake.calls == []
