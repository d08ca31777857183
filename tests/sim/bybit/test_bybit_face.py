"""The simulator's Bybit face on the wire, driven by plain aiohttp (not our adapter): V5 signatures and ``retCode``
errors, instruments-info derived from the Binance filters, Bybit's order rules, rate-limit headers, the public
WebSocket (orderbook snapshot + contiguous deltas rebuilding the engine's book, trades, ping) and the private one
(``auth``, order/execution/wallet pushes)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tradingmcp.sim.app import Simulator
from tradingmcp.sim.bybit import BYBIT_SIM_KEY, BYBIT_SIM_SECRET, BybitFace, BybitFaceConfig
from tradingmcp.sim.bybit.face import banner

D = Decimal
pytestmark = pytest.mark.data


@pytest.fixture
async def face(sim: Simulator) -> AsyncIterator[BybitFace]:
    sim.step(2000)
    async with BybitFace(sim, BybitFaceConfig()) as f:
        yield f


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
        yield s


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


async def call(
    http: aiohttp.ClientSession,
    face: BybitFace,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    secret: str = BYBIT_SIM_SECRET,
    key: str = BYBIT_SIM_KEY,
    timestamp_ms: int | None = None,
    signed: bool = True,
) -> tuple[int, Any, dict[str, str]]:
    """One V5 request signed as Bybit documents it (timestamp + key + recvWindow + query or JSON body)."""
    params = params or {}
    ts = str(timestamp_ms if timestamp_ms is not None else time.time_ns() // 1_000_000)
    if method == "GET":
        payload = "&".join(f"{k}={v}" for k, v in params.items())
        url, data = f"{face.rest_url}/v5/{path}" + (f"?{payload}" if payload else ""), None
    else:
        payload = json.dumps(params)
        url, data = f"{face.rest_url}/v5/{path}", payload
    headers = {"Content-Type": "application/json"}
    if signed:
        headers.update({"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
                        "X-BAPI-SIGN": sign(secret, ts + key + "5000" + payload)})  # fmt: skip
    async with http.request(method, url, data=data, headers=headers) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


async def test_public_endpoints_match_the_engine(face: BybitFace, http: aiohttp.ClientSession) -> None:
    assert "Bybit V5 spot protocol" in banner(face) and "DERIVED" in banner(face)
    book = face.sim.markets["BTCUSDT"].book
    _, body, _ = await call(http, face, "GET", "market/orderbook", {"category": "spot", "symbol": "BTCUSDT",
                                                                   "limit": 5}, signed=False)  # fmt: skip
    assert body["retCode"] == 0 and body["retMsg"] == "OK"
    best_bid = book.best_bid()
    assert best_bid is not None and (D(body["result"]["b"][0][0]), D(body["result"]["b"][0][1])) == best_bid
    assert len(body["result"]["a"]) == 5
    _, body, _ = await call(http, face, "GET", "market/instruments-info", {"category": "spot"}, signed=False)
    (btc,) = [e for e in body["result"]["list"] if e["symbol"] == "BTCUSDT"]
    info = face.sim.exchange_info.symbol("BTCUSDT")
    assert info.price_filter is not None and info.lot_size is not None
    assert D(btc["priceFilter"]["tickSize"]) == info.price_filter.tick_size
    assert D(btc["lotSizeFilter"]["basePrecision"]) == info.lot_size.step_size and btc["status"] == "Trading"
    _, body, _ = await call(http, face, "GET", "market/tickers", {"category": "spot", "symbol": "BTCUSDT"},
                            signed=False)  # fmt: skip
    assert D(body["result"]["list"][0]["bid1Price"]) == best_bid[0]
    _, body, _ = await call(http, face, "GET", "market/recent-trade", {"category": "spot", "symbol": "BTCUSDT",
                                                                      "limit": 3}, signed=False)  # fmt: skip
    rows = body["result"]["list"]
    assert len(rows) == 3 and int(rows[0]["time"]) >= int(rows[-1]["time"]) and rows[0]["side"] in ("Buy", "Sell")
    _, body, _ = await call(http, face, "GET", "market/kline", {"category": "spot", "symbol": "BTCUSDT",
                                                               "interval": "1", "limit": 2}, signed=False)  # fmt: skip
    assert len(body["result"]["list"][0]) == 7
    _, body, _ = await call(http, face, "GET", "market/time", signed=False)
    assert abs(int(body["result"]["timeSecond"]) - time.time()) < 5
    _, body, _ = await call(http, face, "GET", "market/orderbook", {"category": "spot", "symbol": "DOGEUSDT"},
                            signed=False)  # fmt: skip
    assert body["retCode"] == 170121
    _, body, _ = await call(http, face, "GET", "market/orderbook", {"symbol": "BTCUSDT"}, signed=False)
    assert body["retCode"] == 10001


async def test_signature_key_and_timestamp_checks(face: BybitFace, http: aiohttp.ClientSession) -> None:
    q = {"accountType": "UNIFIED"}
    status, body, headers = await call(http, face, "GET", "account/wallet-balance", q)
    assert status == 200 and body["retCode"] == 0
    usdt = next(c for c in body["result"]["list"][0]["coin"] if c["coin"] == "USDT")
    assert D(usdt["walletBalance"]) == D(10_000)
    assert {"X-Bapi-Limit-Status", "X-Bapi-Limit", "X-Bapi-Limit-Reset-Timestamp"} <= set(headers)
    assert (await call(http, face, "GET", "account/wallet-balance", q, secret="wrong"))[1]["retCode"] == 10004
    assert (await call(http, face, "GET", "account/wallet-balance", q, key="nobody"))[1]["retCode"] == 10003
    stale = time.time_ns() // 1_000_000 - 60_000
    assert (await call(http, face, "GET", "account/wallet-balance", q, timestamp_ms=stale))[1]["retCode"] == 10002


async def test_orders_rules_and_errors(face: BybitFace, http: aiohttp.ClientSession) -> None:
    bid = face.sim.markets["BTCUSDT"].book.best_bid()
    assert bid is not None
    price = str((bid[0] * D("0.98")).quantize(D("0.01")))
    base = {"category": "spot", "symbol": "BTCUSDT"}
    _, body, _ = await call(http, face, "POST", "order/create", {**base, "side": "Buy", "orderType": "Limit",
                                                                "qty": "0.001", "price": price,
                                                                "orderLinkId": "face-1"})  # fmt: skip
    assert body["retCode"] == 0 and body["result"]["orderLinkId"] == "face-1"
    order_id = body["result"]["orderId"]
    assert order_id.isdigit()
    _, body, _ = await call(http, face, "GET", "order/realtime", {**base, "orderLinkId": "face-1"})
    (row,) = body["result"]["list"]
    assert (row["orderId"], row["orderStatus"], row["timeInForce"], D(row["price"])) == (order_id, "New", "GTC",
                                                                                         D(price))  # fmt: skip
    again = await call(
        http,
        face,
        "POST",
        "order/create",
        {**base, "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": price, "orderLinkId": "face-1"},
    )
    assert again[1]["retCode"] == 170141
    _, body, _ = await call(http, face, "POST", "order/cancel", {**base, "orderId": order_id})
    assert body["retCode"] == 0
    _, body, _ = await call(http, face, "GET", "order/realtime", {**base, "orderId": order_id})
    assert body["result"]["list"][0]["orderStatus"] == "Cancelled"
    assert (await call(http, face, "POST", "order/cancel", {**base, "orderId": order_id}))[1]["retCode"] == 170213
    _, body, _ = await call(http, face, "POST", "order/create", {**base, "side": "Buy", "orderType": "Market",
                                                                "qty": "50"})  # fmt: skip
    assert body["retCode"] == 0
    _, body, _ = await call(http, face, "GET", "order/realtime", {**base, "orderId": body["result"]["orderId"]})
    row = body["result"]["list"][0]
    assert row["orderStatus"] == "Filled" and row["marketUnit"] == "quoteCoin" and D(row["cumExecValue"]) <= 50
    _, body, _ = await call(http, face, "GET", "execution/list", base)
    assert body["result"]["list"] and body["result"]["list"][0]["execType"] == "Trade"
    rules = {"side": "Buy", "orderType": "Limit", "qty": "0.001"}
    cases = [({"price": price + "1"}, 170134), ({"price": price, "qty": "0.0000001"}, 170137),
             ({"price": "1.00"}, 170140), ({"price": price, "qty": "5"}, 170131)]  # fmt: skip
    for extra, code in cases:
        _, body, _ = await call(http, face, "POST", "order/create", {**base, **rules, **extra})
        assert body["retCode"] == code, (extra, body)
    assert (await call(http, face, "POST", "order/create", {**rules, "symbol": "BTCUSDT",
                                                           "price": price}))[1]["retCode"] == 10001  # fmt: skip


async def test_rate_limit_answers_10006(sim: Simulator, http: aiohttp.ClientSession) -> None:
    async with BybitFace(sim, BybitFaceConfig(limit_scale=0.1)) as face:
        await _over_the_limit(face, http)


async def _over_the_limit(face: BybitFace, http: aiohttp.ClientSession) -> None:
    limit = face.rest.limiter.limits["GET /account/wallet-balance"]
    codes = [(await call(http, face, "GET", "account/wallet-balance", {"accountType": "UNIFIED"}))[1]["retCode"]
             for _ in range(limit + 1)]  # fmt: skip
    assert codes[:limit] == [0] * limit and codes[-1] == 10006


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    out: dict[str, Any] = json.loads(msg.data)
    return out


async def test_public_ws_orderbook_rebuilds_the_engine_book(face: BybitFace, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(face.public_ws_url) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"],
                                      "req_id": "r1"}))  # fmt: skip
        ack = await _recv(ws)
        assert ack["success"] is True and ack["op"] == "subscribe" and ack["req_id"] == "r1"
        snap = await _recv(ws)
        assert snap["type"] == "snapshot" and snap["topic"] == "orderbook.50.BTCUSDT"
        bids = {D(p): D(q) for p, q in snap["data"]["b"]}
        asks = {D(p): D(q) for p, q in snap["data"]["a"]}
        last_u = snap["data"]["u"]
        face.sim.step(3000)
        deltas = trades = 0
        while last_u < face.market.u["BTCUSDT"] or trades < 1:
            msg = await _recv(ws)
            if msg["topic"].startswith("publicTrade"):
                trades += 1
                continue
            assert msg["type"] == "delta" and msg["data"]["u"] == last_u + 1
            last_u = msg["data"]["u"]
            deltas += 1
            for side, levels in ((bids, msg["data"]["b"]), (asks, msg["data"]["a"])):
                for p, q in levels:
                    if D(q) == 0:
                        side.pop(D(p), None)
                    else:
                        side[D(p)] = D(q)
        assert deltas > 20
        book = face.sim.markets["BTCUSDT"].book
        assert (max(bids), bids[max(bids)]) == book.best_bid() and (min(asks), asks[min(asks)]) == book.best_ask()
        await ws.send_str(json.dumps({"op": "ping", "req_id": "p"}))
        while (msg := await _recv(ws)).get("op") != "ping":
            pass
        assert msg["ret_msg"] == "pong" and msg["success"] is True
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["orderbook.7.BTCUSDT"]}))
        while "success" not in (msg := await _recv(ws)):
            pass
        assert msg["success"] is False


async def test_private_ws_auth_and_account_pushes(face: BybitFace, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(face.private_ws_url) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["order"]}))
        assert (await _recv(ws))["success"] is False  # not authorized yet
        expires = str(time.time_ns() // 1_000_000 + 10_000)
        await ws.send_str(json.dumps({"op": "auth", "args": [BYBIT_SIM_KEY, expires, sign("bad", "x")]}))
        assert (await _recv(ws))["success"] is False
        await ws.send_str(
            json.dumps(
                {"op": "auth", "args": [BYBIT_SIM_KEY, expires, sign(BYBIT_SIM_SECRET, "GET/realtime" + expires)]}
            )
        )
        assert (await _recv(ws))["success"] is True
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["order", "execution", "wallet"]}))
        assert (await _recv(ws))["success"] is True
        _, body, _ = await call(
            http,
            face,
            "POST",
            "order/create",
            {
                "category": "spot",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Market",
                "qty": "100",
                "orderLinkId": "ws-1",
            },
        )
        assert body["retCode"] == 0
        seen: dict[str, list[dict[str, Any]]] = {}
        async with asyncio.timeout(5):
            while not {"order", "execution", "wallet"} <= set(seen) or seen["order"][-1]["orderStatus"] != "Filled":
                msg = await _recv(ws)
                seen.setdefault(msg["topic"], []).extend(msg["data"])
        assert seen["order"][-1]["orderLinkId"] == "ws-1" and seen["order"][-1]["orderId"] == body["result"]["orderId"]
        fill = seen["execution"][0]
        assert fill["execType"] == "Trade" and D(fill["execQty"]) > 0 and fill["side"] == "Buy"
        coins = {c["coin"] for w in seen["wallet"] for c in w["coin"]}
        assert {"BTC", "USDT"} <= coins
        await ws.send_str(json.dumps({"op": "ping", "req_id": "x"}))
        while (msg := await _recv(ws)).get("op") != "pong":
            pass
        assert msg["args"][0].isdigit()


async def test_order_entry_ws(face: BybitFace, http: aiohttp.ClientSession) -> None:
    order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "20",
             "orderLinkId": "trade-ws-1"}  # fmt: skip

    def header(ts: int | None = None) -> dict[str, str]:
        return {"X-BAPI-TIMESTAMP": str(ts if ts is not None else time.time_ns() // 1_000_000)}

    async with http.ws_connect(face.trade_ws_url) as ws:
        await ws.send_str(json.dumps({"reqId": "a", "header": header(), "op": "order.create", "args": [order]}))
        assert (await _recv(ws))["retCode"] == 10003  # not authenticated
        expires = str(time.time_ns() // 1_000_000 + 10_000)
        await ws.send_str(
            json.dumps(
                {
                    "reqId": "b",
                    "op": "auth",
                    "args": [BYBIT_SIM_KEY, expires, sign(BYBIT_SIM_SECRET, "GET/realtime" + expires)],
                }
            )
        )
        answer = await _recv(ws)
        assert (answer["retCode"], answer["op"], answer["reqId"]) == (0, "auth", "b") and answer["connId"]
        stale = time.time_ns() // 1_000_000 - 60_000
        await ws.send_str(json.dumps({"reqId": "c", "header": header(stale), "op": "order.create", "args": [order]}))
        assert (await _recv(ws))["retCode"] == 10002
        await ws.send_str(json.dumps({"header": header(), "op": "order.create", "args": [order]}))
        answer = await _recv(ws)
        assert answer["retCode"] == 0 and "reqId" not in answer and answer["data"]["orderLinkId"] == "trade-ws-1"
        assert int(answer["header"]["X-Bapi-Limit-Status"]) < int(answer["header"]["X-Bapi-Limit"])
        (engine_order,) = face.sim.engine.account_of(BYBIT_SIM_KEY).orders
        assert (
            engine_order.status == "FILLED"
            and face.ids.wire("BTCUSDT", engine_order.order_id) == answer["data"]["orderId"]
        )
        await ws.send_str(json.dumps({"reqId": "d", "header": header(), "op": "order.amend", "args": [order]}))
        assert (await _recv(ws))["retCode"] == 10001
        await ws.send_str(json.dumps({"op": "ping"}))
        assert (await _recv(ws))["op"] == "pong"
