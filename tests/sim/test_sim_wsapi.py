"""WS API and user data: python-binance's ws_* calls and user_socket() against the simulator, plus determinism."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
import websockets
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException
from sim_support import client_class

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.signing import hmac_hex


async def _client(sim: Simulator, secret: str = "sim-secret") -> AsyncClient:
    cls = client_class(sim)
    client = await cls.create("sim-key", secret)
    client.ws_api.TIMEOUT = 1  # python-binance's read loop poll; an idle manual-step feed would make close wait 10 s
    return client


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AsyncClient]:
    c = await _client(sim)
    try:
        yield c
    finally:
        await c.close_connection()


async def test_ws_api_market_data_and_order(sim: Simulator, client: AsyncClient) -> None:
    sim.step(500)
    assert await client.ws_ping() == {}
    book = await client.ws_get_order_book(symbol="BTCUSDT", limit=5)
    assert book == sim.markets["BTCUSDT"].book.depth(5)
    order = await client.ws_create_order(symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.05")
    assert order["status"] == "FILLED" and order["fills"] and order["symbol"] == "ETHUSDT"
    status = await client.ws_get_order(symbol="ETHUSDT", orderId=order["orderId"])
    assert status["status"] == "FILLED" and status["executedQty"] == "0.05000000"
    account = await client.ws_get_account()
    eth = next(b for b in account["balances"] if b["asset"] == "ETH")
    assert Decimal(eth["free"]) == Decimal("10") - Decimal("0.05")


async def test_ws_api_raw_shapes_and_errors(sim: Simulator) -> None:
    async with websockets.connect(sim.ws_api_url) as ws:
        await ws.send(orjson.dumps({"id": "a", "method": "time", "params": {}}).decode())
        async with asyncio.timeout(5):
            reply = orjson.loads(await ws.recv())
        assert (
            reply["id"] == "a"
            and reply["status"] == 200
            and abs(reply["result"]["serverTime"] - time.time() * 1e3) < 5e3
        )
        assert reply["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT" and reply["rateLimits"][0]["count"] >= 3
        params: dict[str, Any] = {"apiKey": "sim-key", "timestamp": int(time.time() * 1000)}
        bad = params | {"signature": hmac_hex("wrong-secret", urlencode(sorted(params.items())))}
        await ws.send(orjson.dumps({"id": 2, "method": "account.status", "params": bad}).decode())
        async with asyncio.timeout(5):
            reply = orjson.loads(await ws.recv())
        assert reply["status"] == 400 and reply["error"] == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }
        await ws.send(orjson.dumps({"id": 3, "method": "depth", "params": {"symbol": "NOPE"}}).decode())
        async with asyncio.timeout(5):
            reply = orjson.loads(await ws.recv())
        assert reply["status"] == 400 and reply["error"]["code"] == -1121


async def test_user_socket_gets_execution_reports(sim: Simulator, client: AsyncClient) -> None:
    sim.step(500)
    bsm = BinanceSocketManager(client)
    async with bsm.user_socket() as user:
        await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(5):
            while len(events) < 3:
                events.append(await user.recv())
        reports = [e for e in events if e["e"] == "executionReport"]
        assert [r["x"] for r in reports] == ["NEW", "TRADE"] and reports[-1]["X"] == "FILLED"
        assert any(e["e"] == "outboundAccountPosition" for e in events)

        # a resting bid at the touch is filled by the replayed market (maker), reported on the same socket
        bid = sim.markets["BTCUSDT"].book.best_bid()
        assert bid is not None
        resting = await client.create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price=f"{bid[0]}"
        )
        fill: dict[str, Any] | None = None
        for _ in range(400):  # bounded: step the replay until a print trades through the bid
            sim.step(25)
            try:
                while fill is None:
                    async with asyncio.timeout(0.02):
                        event = await user.recv()
                    if (
                        event.get("e") == "executionReport"
                        and event["i"] == resting["orderId"]
                        and event["x"] == "TRADE"
                    ):
                        fill = event
            except TimeoutError:
                pass
            if fill is not None:
                break
        assert fill is not None and fill["m"] is True and Decimal(fill["L"]) == bid[0]


async def _scenario(data_dir: Path) -> list[Any]:
    """One fixed session: the same steps and orders every time."""
    out: list[Any] = []
    async with Simulator(SimConfig(speed=0, data_dir=data_dir, time_offset_ms=0)) as sim:
        client = await _client(sim)
        try:
            sim.step(700)
            out.append(await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                                                 newClientOrderId="m1"))  # fmt: skip
            bid = sim.markets["BTCUSDT"].book.best_bid()
            assert bid is not None
            out.append(await client.create_order(symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC",
                                                 quantity="0.02", price=f"{bid[0] + 3}", newClientOrderId="l1"))  # fmt: skip
            sim.step(6000)
            out.append(await client.ws_create_order(symbol="ETHUSDT", side="BUY", type="MARKET", quoteOrderQty="100",
                                                    newClientOrderId="w1"))  # fmt: skip
            sim.step(3000)
            out.append(await client.get_all_orders(symbol="BTCUSDT"))
            out.append(await client.get_my_trades(symbol="BTCUSDT"))
            out.append(await client.get_my_trades(symbol="ETHUSDT"))
            balances = (await client.get_account())["balances"]
            out.append(sorted((b["asset"], b["free"], b["locked"]) for b in balances))
        finally:
            await client.close_connection()
    return out


async def test_replay_determinism(data_dir: Path) -> None:
    first = await _scenario(data_dir)
    second = await _scenario(data_dir)
    assert first == second
    assert first[4], "the scenario must trade"


async def test_wrong_secret_rejected_on_ws_api(sim: Simulator) -> None:
    client = await _client(sim, secret="nope")
    try:
        with pytest.raises(BinanceAPIException) as exc:
            await client.ws_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
        assert exc.value.code == -1022
    finally:
        await client.close_connection()
