"""The real python-binance AsyncClient against the simulator's REST face (real sockets on 127.0.0.1, real data)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from sim_support import client_class

from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.weights import RateLimitConfig


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AsyncClient]:
    c = await client_class(sim).create("sim-key", "sim-secret")
    try:
        yield c
    finally:
        await c.close_connection()


async def test_public_market_data(sim: Simulator, client: AsyncClient) -> None:
    assert not sim.synthetic
    assert await client.ping() == {}
    server = (await client.get_server_time())["serverTime"]
    w0 = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
    assert abs(server - time.time() * 1000) < 5000
    info = await client.get_exchange_info()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert isinstance(info["serverTime"], int)
    book = await client.get_order_book(symbol="BTCUSDT", limit=5)
    assert book["lastUpdateId"] == sim.markets["BTCUSDT"].book.last_update_id
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert [Decimal(p) for p, _ in book["bids"]] == sorted((Decimal(p) for p, _ in book["bids"]), reverse=True)
    assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])
    w1 = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
    assert w1 - w0 == 20 + 5 or w1 <= 25  # exchangeInfo + depth (unless the minute rolled over in between)

    assert sim.step(3000) == 3000
    trades = await client.get_recent_trades(symbol="BTCUSDT", limit=10)
    assert len(trades) == 10 and [t["id"] for t in trades] == list(range(trades[0]["id"], trades[0]["id"] + 10))
    assert set(trades[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
    older = await client.get_historical_trades(symbol="BTCUSDT", fromId=trades[0]["id"] - 5, limit=5)
    assert [t["id"] for t in older] == list(range(trades[0]["id"] - 5, trades[0]["id"]))
    aggs = await client.get_aggregate_trades(symbol="BTCUSDT", limit=3)
    assert len(aggs) == 3 and set(aggs[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    klines = await client.get_klines(symbol="BTCUSDT", interval="1m", limit=5)
    assert klines and all(len(k) == 12 for k in klines)
    assert sum(k[8] for k in klines) == len(sim.markets["BTCUSDT"].trades)  # every trade since start is in a bar
    ticker = await client.get_ticker(symbol="BTCUSDT")
    assert ticker["lastPrice"] == trades[-1]["price"] and ticker["count"] == sum(k[8] for k in klines)
    best = await client.get_orderbook_ticker(symbol="ETHUSDT")
    bid = sim.markets["ETHUSDT"].book.best_bid()
    assert bid is not None and Decimal(best["bidPrice"]) == bid[0]
    price = await client.get_symbol_ticker(symbol="BTCUSDT")
    assert price == {"symbol": "BTCUSDT", "price": trades[-1]["price"]}
    avg = await client.get_avg_price(symbol="BTCUSDT")
    assert avg["mins"] == 5 and Decimal("61000") < Decimal(avg["price"]) < Decimal("62000")
    both = await client.get_all_tickers()
    assert [t["symbol"] for t in both] == ["BTCUSDT", "ETHUSDT"]


async def test_depth_weight_and_limit_rules(client: AsyncClient) -> None:
    await client.get_order_book(symbol="BTCUSDT", limit=1000)
    first = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
    big = await client.get_order_book(symbol="BTCUSDT", limit=5000)
    assert int(client.response.headers["X-MBX-USED-WEIGHT-1M"]) - first in (250, 250 - first)  # minute may roll
    assert len(big["bids"]) <= 1000 and len(big["bids"]) > 100  # the recorded snapshot has 1000 levels a side
    with pytest.raises(BinanceAPIException) as exc:
        await client.get_order_book(symbol="BTCUSDT", limit=0)
    assert exc.value.code == -1130


async def test_errors_match_binance(sim: Simulator, client: AsyncClient) -> None:
    with pytest.raises(BinanceAPIException) as bad_symbol:
        await client.get_order_book(symbol="NOPEUSDT")
    assert (bad_symbol.value.status_code, bad_symbol.value.code, bad_symbol.value.message) == (
        400,
        -1121,
        "Invalid symbol.",
    )
    wrong = await client_class(sim).create("sim-key", "not-the-secret")
    try:
        with pytest.raises(BinanceAPIException) as bad_sig:
            await wrong.get_account()
        assert (bad_sig.value.status_code, bad_sig.value.code) == (400, -1022)
    finally:
        await wrong.close_connection()
    unknown = await client_class(sim).create("who", "ever")
    try:
        with pytest.raises(BinanceAPIException) as bad_key:
            await unknown.get_account()
        assert (bad_key.value.status_code, bad_key.value.code) == (401, -2015)
    finally:
        await unknown.close_connection()
    client.timestamp_offset = -70_000  # 70 s behind, past the 10 s recvWindow python-binance sends
    with pytest.raises(BinanceAPIException) as skewed:
        await client.get_account()
    assert (skewed.value.code, skewed.value.message) == (
        -1021,
        "Timestamp for this request is outside of the recvWindow.",
    )
    client.timestamp_offset = 5_000  # ahead of the server by more than 1 s
    with pytest.raises(BinanceAPIException) as ahead:
        await client.get_account()
    assert ahead.value.code == -1021


async def test_429_with_retry_after_then_418(data_dir: Path) -> None:
    limits = RateLimitConfig(weight_limit_1m=40, ban_after_429=2, ban_s=120)
    async with Simulator(SimConfig(speed=0, data_dir=data_dir, limits=limits)) as sim:
        client = await client_class(sim).create("sim-key", "sim-secret")
        statuses: list[int] = []
        try:
            for _ in range(40):  # bounded: depth costs 5, so 429 comes within ~8 calls (or ~16 across a minute edge)
                try:
                    await client.get_order_book(symbol="BTCUSDT")
                except BinanceAPIException as exc:
                    statuses.append(exc.status_code)
                    retry_after = int(exc.response.headers["Retry-After"])
                    assert exc.code == -1003 and 0 < retry_after <= 120
                    assert "X-MBX-USED-WEIGHT-1M" in exc.response.headers
                    if exc.status_code == 418:
                        break
        finally:
            await client.close_connection()
    assert statuses[:2] == [429, 429] and statuses[-1] == 418


async def test_signed_order_round_trip(sim: Simulator, client: AsyncClient) -> None:
    sim.step(500)
    before = {b["asset"]: Decimal(b["free"]) for b in (await client.get_account())["balances"]}
    market = await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002")
    assert market["status"] == "FILLED" and market["fills"]
    assert client.response.headers["X-MBX-ORDER-COUNT-10S"] == "1"
    after = {b["asset"]: Decimal(b["free"]) for b in (await client.get_account())["balances"]}
    spent = Decimal(market["cummulativeQuoteQty"])
    assert after["USDT"] == before["USDT"] - spent
    assert after["BTC"] > before["BTC"]
    bid = sim.markets["BTCUSDT"].book.best_bid()
    assert bid is not None
    low = str((bid[0] * Decimal("0.98")).quantize(Decimal("0.01")))
    limit = await client.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price=low
    )
    assert limit["status"] == "NEW"
    assert [o["orderId"] for o in await client.get_open_orders(symbol="BTCUSDT")] == [limit["orderId"]]
    assert (await client.get_order(symbol="BTCUSDT", orderId=limit["orderId"]))["price"] == f"{Decimal(low):.8f}"
    canceled = await client.cancel_order(symbol="BTCUSDT", orderId=limit["orderId"])
    assert canceled["status"] == "CANCELED"
    assert await client.get_open_orders(symbol="BTCUSDT") == []
    trades = await client.get_my_trades(symbol="BTCUSDT")
    assert [t["orderId"] for t in trades] == [market["orderId"]] * len(market["fills"])
    orders = await client.get_all_orders(symbol="BTCUSDT")
    assert [o["status"] for o in orders] == ["FILLED", "CANCELED"]
    test = await client.create_test_order(symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.01")
    assert test == {}
    with pytest.raises(BinanceAPIException) as too_big:
        await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="5")
    assert too_big.value.code == -2010
    with pytest.raises(BinanceAPIException) as not_listed:
        await client.create_order(symbol="ADAUSDT", side="BUY", type="MARKET", quantity="5")
    assert not_listed.value.code == -1121


async def test_oco_and_cancel_replace(sim: Simulator, client: AsyncClient) -> None:
    sim.step(500)
    bid = sim.markets["BTCUSDT"].book.best_bid()
    assert bid is not None
    q = Decimal("0.01")
    oco = await client.create_oco_order(
        symbol="BTCUSDT", side="SELL", quantity="0.001",
        aboveType="LIMIT_MAKER", abovePrice=str((bid[0] * Decimal("1.02")).quantize(q)),
        belowType="STOP_LOSS_LIMIT", belowStopPrice=str((bid[0] * Decimal("0.98")).quantize(q)),
        belowPrice=str((bid[0] * Decimal("0.979")).quantize(q)), belowTimeInForce="GTC",
    )  # fmt: skip
    assert oco["listOrderStatus"] == "EXECUTING" and len(oco["orderReports"]) == 2
    limit = await client.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001",
        price=str((bid[0] * Decimal("0.97")).quantize(q)),
    )  # fmt: skip
    replaced = await client.cancel_replace_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.002",
        price=str((bid[0] * Decimal("0.96")).quantize(q)), cancelReplaceMode="STOP_ON_FAILURE",
        cancelOrderId=limit["orderId"],
    )  # fmt: skip
    assert replaced["cancelResult"] == "SUCCESS" and replaced["newOrderResult"] == "SUCCESS"
    with pytest.raises(BinanceAPIException) as partial:
        await client.cancel_replace_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.002",
            price=str((bid[0] * Decimal("0.96")).quantize(q)), cancelReplaceMode="ALLOW_FAILURE",
            cancelOrderId=limit["orderId"],  # already canceled
        )  # fmt: skip
    assert partial.value.status_code == 409 and partial.value.code == -2021


async def test_paced_replay_finishes_and_looping_keeps_ids_growing() -> None:
    async with Simulator(SimConfig(synthetic=True, synthetic_duration_s=5, speed=50.0)) as sim:
        start = time.monotonic()
        async with asyncio.timeout(10):
            await sim.run_until_replay_done()
        elapsed = time.monotonic() - start
        assert sim.synthetic and 0.05 < elapsed < 5  # 5 s of market at 50x is ~0.1 s
        assert sim.events_replayed > 100
    async with Simulator(SimConfig(synthetic=True, synthetic_duration_s=2, speed=float("inf"), loop=True)) as sim:
        market = sim.markets["BTCUSDT"]
        for _ in range(1000):  # bounded: ~10 s
            if sim.pass_index >= 2:
                break
            await asyncio.sleep(0.01)
        assert sim.pass_index >= 2
        ids = [t["id"] for t in market.trades]
        assert ids == sorted(set(ids))  # three passes of the same synthetic trades, ids still strictly growing
        assert not sim.replay_done.is_set()
