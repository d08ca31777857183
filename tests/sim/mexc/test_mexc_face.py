"""The simulator's MEXC face on the wire, driven by plain aiohttp (not our adapter): MEXC signatures and error
bodies, derived exchangeInfo, MEXC amount rules, batchOrders, rate limits, WebSocket control acks and protobuf pushes
decoded with the committed ``_pb2`` modules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest
from yarl import URL

from tradingmcp.server.exchanges.mexc import control, parse, signing
from tradingmcp.sim.app import Simulator
from tradingmcp.sim.mexc import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace, MexcFaceConfig
from tradingmcp.sim.mexc.face import banner

D = Decimal
pytestmark = pytest.mark.data


@pytest.fixture
async def face(sim: Simulator) -> AsyncIterator[MexcFace]:
    sim.step(2000)
    async with MexcFace(sim, MexcFaceConfig(max_requests_per_10s=50)) as f:
        yield f


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
        yield s


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def call(
    http: aiohttp.ClientSession,
    face: MexcFace,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    signed: bool = True,
    secret: str = MEXC_SIM_SECRET,
    timestamp_ms: int | None = None,
    key: str | None = MEXC_SIM_KEY,
    recv_window_ms: int = 5000,
) -> tuple[int, Any, dict[str, str]]:
    """One request, signed as MEXC documents it (query string, lowercase hex); returns (status, JSON, headers)."""
    items = list((params or {}).items())
    headers: dict[str, str] = {}
    if signed:
        items += [("recvWindow", recv_window_ms), ("timestamp", timestamp_ms if timestamp_ms is not None else now_ms())]
        query = signing.encode_params(items)
        query += "&signature=" + signing.sign(secret, query)
        if key is not None:
            headers[signing.API_KEY_HEADER] = key
    else:
        query = signing.encode_params(items)
    url = URL(f"{face.rest_url}/api/v3/{path}" + (f"?{query}" if query else ""), encoded=True)  # as signed
    async with http.request(method, url, headers=headers) as resp:
        return resp.status, orjson.loads(await resp.read()), dict(resp.headers)


async def test_signature_timestamp_and_key_errors(face: MexcFace, http: aiohttp.ClientSession) -> None:
    async with asyncio.timeout(10):
        status, body, _ = await call(http, face, "GET", "account")
        assert status == 200 and {b["asset"] for b in body["balances"]} == {"USDT", "BTC", "ETH"}
        status, body, _ = await call(http, face, "GET", "account", secret="wrong")
        assert (status, body) == (400, {"code": 700002, "msg": "Signature for this request is not valid."})
        status, body, _ = await call(http, face, "GET", "account", timestamp_ms=now_ms() - 10_000)
        assert (status, body["code"]) == (400, 700003)
        status, body, _ = await call(http, face, "GET", "account", timestamp_ms=now_ms() + 5_000)
        assert (status, body["code"]) == (400, 700003)  # from the future
        status, body, _ = await call(http, face, "GET", "account", key=None)
        assert (status, body["code"]) == (400, 700001)
        status, body, _ = await call(http, face, "GET", "account", key="someone-else")
        assert (status, body["code"]) == (400, 10072)
        status, body, _ = await call(http, face, "GET", "account", recv_window_ms=70_000)
        assert (status, body["code"]) == (400, 700005)
        status, body, _ = await call(http, face, "GET", "nope", signed=False)
        assert status == 404 and body["code"] == 404
    assert all("signature" not in p for _, _, p in face.rest.calls)


async def test_public_bodies_are_mexc_shaped(face: MexcFace, sim: Simulator, http: aiohttp.ClientSession) -> None:
    async with asyncio.timeout(10):
        _, info, _ = await call(http, face, "GET", "exchangeInfo", {"symbol": "BTCUSDT"}, signed=False)
        (entry,) = info["symbols"]
        assert entry["filters"] == [] and entry["status"] == "1"
        assert (entry["quotePrecision"], entry["baseAssetPrecision"], entry["baseSizePrecision"]) == (
            "2",
            "5",
            "0.00001",
        )
        assert entry["quoteAmountPrecision"] == "5" and entry["orderTypes"] == ["LIMIT", "MARKET", "LIMIT_MAKER"]
        _, depth, _ = await call(http, face, "GET", "depth", {"symbol": "BTCUSDT", "limit": 3}, signed=False)
        book = sim.markets["BTCUSDT"].book
        assert depth["lastUpdateId"] == book.last_update_id and len(depth["bids"]) == 3
        best = book.best_bid()
        assert best is not None and [D(x) for x in depth["bids"][0]] == list(best)
        assert not depth["bids"][0][0].endswith("0")  # plain decimals, no Binance zero padding
        _, trades, _ = await call(http, face, "GET", "trades", {"symbol": "BTCUSDT", "limit": 2}, signed=False)
        assert [t["id"] for t in trades] == [None, None] and trades[0]["time"] >= trades[1]["time"]  # newest first
        _, klines, _ = await call(http, face, "GET", "klines", {"symbol": "BTCUSDT", "interval": "60m"}, signed=False)
        assert len(klines[-1]) == 8 and klines[-1][6] - klines[-1][0] == 3_600_000
        status, body, _ = await call(http, face, "GET", "klines", {"symbol": "BTCUSDT", "interval": "1h"}, signed=False)
        assert (status, body["code"]) == (400, 33333)  # MEXC spells it 60m
        status, body, _ = await call(http, face, "GET", "ticker/price", {"symbol": "DOGEUSDT"}, signed=False)
        assert (status, body) == (400, {"code": 10007, "msg": "bad symbol"})
        async with http.get(f"{face.rest_url}/api/v1/contract/detail") as resp:
            assert await resp.json() == {"success": True, "code": 0, "data": []}  # ccxt's fetchMarkets asks
    assert "DERIVED" in banner(face) and "SIMULATED" in banner(face)


async def test_amount_rules_batch_orders_and_rate_limit(face: MexcFace, http: aiohttp.ClientSession) -> None:
    async with asyncio.timeout(10):
        small = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.00001", "price": "60000"}
        status, body, _ = await call(http, face, "POST", "order", small)
        assert (status, body["code"]) == (400, 30002) and "smallest valid quantity" in body["msg"]
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "1000000"}
        status, body, _ = await call(http, face, "POST", "order", market)
        assert (status, body["code"]) == (400, 30003)  # above maxQuoteAmountMarket
        orders = [{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": p,
                   "newClientOrderId": f"b{i}"} for i, p in enumerate(["59000", "59000.001", "58000"])]  # fmt: skip
        status, body, _ = await call(http, face, "POST", "batchOrders", {"batchOrders": orjson.dumps(orders).decode()})
        assert status == 200, body
        assert [r.get("code") for r in body] == [None, 33333, None]
        assert body[0]["orderId"].startswith("C02__") and body[1]["newClientOrderId"] == "b1"
        status, body, _ = await call(
            http, face, "POST", "batchOrders", {"batchOrders": orjson.dumps(orders * 7).decode()}
        )
        assert (status, body["code"]) == (400, 33333)  # more than 20
        status, body, _ = await call(http, face, "DELETE", "order", {"symbol": "BTCUSDT", "orderId": "C02__1"})
        assert (status, body["code"]) == (400, -2011)
        status, body, _ = await call(http, face, "GET", "order", {"symbol": "BTCUSDT"})
        assert (status, body["code"]) == (400, 700004)
        statuses = [(await call(http, face, "GET", "ping", signed=False))[0] for _ in range(51)]
        assert statuses[:50] == [200] * 50 and statuses[50] == 429
        status, body, headers = await call(http, face, "GET", "ping", signed=False)
        assert status == 429 and body["code"] == 429 and int(headers["Retry-After"]) >= 1


async def ws_json(ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send_str(orjson.dumps(message).decode())
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            out: dict[str, Any] = orjson.loads(msg.data)
            return out
    raise AssertionError("closed")


async def next_push(ws: aiohttp.ClientWebSocketResponse, kind: str) -> parse.Push:
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.BINARY:
            push = parse.decode_push(msg.data)
            if push.kind == kind:
                return push
    raise AssertionError("closed")


async def test_ws_control_and_protobuf_pushes(face: MexcFace, sim: Simulator, http: aiohttp.ClientSession) -> None:
    depth, deals = control.aggre_depth_topic("BTCUSDT"), control.aggre_deals_topic("BTCUSDT")
    limit, kline = control.limit_depth_topic("BTCUSDT", 5), control.kline_topic("BTCUSDT", "Min1")
    async with asyncio.timeout(10), http.ws_connect(face.ws_url) as ws:
        assert await ws_json(ws, {"method": "PING"}) == {"id": 0, "code": 0, "msg": "PONG"}
        ack = await ws_json(ws, {"method": "SUBSCRIPTION", "params": [depth, deals, limit, kline]})
        assert ack == {"id": 0, "code": 0, "msg": ",".join([depth, deals, limit, kline])}
        refused = await ws_json(ws, {"method": "SUBSCRIPTION", "params": [control.PRIVATE_ORDERS_TOPIC]})
        assert refused["msg"].startswith("Not Subscribed successfully!")  # private topics need a listenKey
        refused = await ws_json(ws, {"method": "SUBSCRIPTION", "params": [control.aggre_deals_topic("DOGEUSDT")]})
        assert "Blocked" in refused["msg"]
        version = sim.markets["BTCUSDT"].book.last_update_id
        sim.step(300)
        push = await next_push(ws, "publicAggreDepths")
        assert push.channel == depth and push.symbol == "BTCUSDT"
        assert int(push.body.fromVersion) == version + 1 and int(push.body.toVersion) >= int(push.body.fromVersion)
        assert push.body.eventType == "spot@public.aggre.depth.v3.api.pb@100ms"
        trade = await next_push(ws, "publicAggreDeals")
        assert trade.body.deals[0].tradeType in (1, 2) and D(trade.body.deals[0].price) > 0
        snap = await next_push(ws, "publicLimitDepths")
        book = sim.markets["BTCUSDT"].book
        assert int(snap.body.version) == book.last_update_id and len(snap.body.bids) == 5
        best = book.best_bid()
        assert best is not None and (D(snap.body.bids[0].price), D(snap.body.bids[0].quantity)) == best
        candle = await next_push(ws, "publicSpotKline")
        assert candle.body.interval == "Min1" and candle.body.windowEnd - candle.body.windowStart == 60
        ack = await ws_json(ws, {"method": "UNSUBSCRIPTION", "params": [depth, deals, limit, kline]})
        assert ack["msg"] == ",".join([depth, deals, limit, kline]) and not face.hub.connections[0].topics
    async with http.get(face.ws_url + "?listenKey=nope") as resp:
        assert resp.status == 401 and (await resp.json())["code"] == 730706


async def test_ws_topic_limit_and_private_pushes(face: MexcFace, http: aiohttp.ClientSession) -> None:
    async with asyncio.timeout(10):
        _, body, _ = await call(http, face, "POST", "userDataStream")
        listen_key = body["listenKey"]
        async with http.ws_connect(f"{face.ws_url}?listenKey={listen_key}") as ws:
            private = [control.PRIVATE_ORDERS_TOPIC, control.PRIVATE_DEALS_TOPIC, control.PRIVATE_ACCOUNT_TOPIC]
            assert (await ws_json(ws, {"method": "SUBSCRIPTION", "params": private}))["msg"] == ",".join(private)
            klines = [control.kline_topic(s, i) for s in ("BTCUSDT", "ETHUSDT") for i in control.KLINE_INTERVALS]
            depths = [control.limit_depth_topic(s, n) for s in ("BTCUSDT", "ETHUSDT") for n in (5, 10, 20)]
            assert (await ws_json(ws, {"method": "SUBSCRIPTION", "params": klines}))["code"] == 0  # 23 topics
            ack = await ws_json(ws, {"method": "SUBSCRIPTION", "params": depths})  # 29 topics
            assert ack["msg"] == ",".join(depths)
            refused = await ws_json(ws, {"method": "SUBSCRIPTION", "params": [control.aggre_depth_topic("BTCUSDT"),
                                                                              control.aggre_deals_topic("BTCUSDT")]})  # fmt: skip
            assert refused["msg"].startswith("Not Subscribed successfully!")  # 31 > 30 topics
            order = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"}
            status, placed, _ = await call(http, face, "POST", "order", order)
            assert status == 200
            pushed = await next_push(ws, "privateOrders")
            assert pushed.body.id == placed["orderId"] and pushed.body.status == 1  # NEW
            filled = await next_push(ws, "privateOrders")
            assert filled.body.status == 2 and D(filled.body.cumulativeQuantity) == D("0.001")
            deal = await next_push(ws, "privateDeals")
            assert deal.body.orderId == placed["orderId"] and D(deal.body.quantity) == D("0.001")
            acct = await next_push(ws, "privateAccount")
            assert acct.body.vcoinName in ("BTC", "USDT") and D(acct.body.balanceAmountChange) != 0


@pytest.mark.parametrize("field", ["quantity", "price", "quoteOrderQty"])
@pytest.mark.parametrize(
    "value",
    ["1e999999999", "1e-30", "1e-300", "NaN", "Infinity", "-1", "1" * 40, "0.0010000000000000000000000000000000000001"],
)
async def test_extreme_numbers_are_parameter_errors(
    face: MexcFace, http: aiohttp.ClientSession, field: str, value: str
) -> None:
    """Every extreme number gets MEXC's 400 ``33333`` (or an amount error), never a 500, and places nothing; the
    long quantity is judged with all its digits (not rounded onto the step first)."""
    if field == "quoteOrderQty":
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": value}
    else:
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": "59000"}
        order[field] = value
    async with asyncio.timeout(10):
        status, body, _ = await call(http, face, "POST", "order", order)
        assert status == 400 and body["code"] in (33333, 30002, 30003), body
        _, open_orders, _ = await call(http, face, "GET", "openOrders", {"symbol": "BTCUSDT"})
        assert open_orders == []
