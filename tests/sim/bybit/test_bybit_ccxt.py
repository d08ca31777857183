"""The simulator's Bybit face held to ccxt's ``bybit`` class (https://docs.ccxt.com), a client no one here wrote:
sandbox mode with every testnet URL rewritten to the face, ccxt's default options (it loads every category, the coin
list and the account's unified status), its public and private REST calls (an order placed with a client order id,
read back, listed, cancelled; a market order and its fill) and its ``ccxt.pro`` watch calls (ticker, book, trades,
candles, orders, balance)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from ccxt_support import SYMBOL, watch_streams

from tradingmcp.sim.app import Simulator
from tradingmcp.sim.bybit import BYBIT_SIM_KEY, BYBIT_SIM_SECRET, BybitFace

pytestmark = pytest.mark.data


@pytest.fixture
async def face(live_sim: Simulator) -> AsyncIterator[BybitFace]:
    async with BybitFace(live_sim) as f:
        yield f


@pytest.fixture
async def bybit(face: BybitFace) -> AsyncIterator[Any]:
    """ccxt's bybit class in sandbox mode, its testnet hosts rewritten to the face."""
    ex = ccxtpro.bybit({"apiKey": BYBIT_SIM_KEY, "secret": BYBIT_SIM_SECRET})
    ex.set_sandbox_mode(True)
    api = ex.urls["api"]
    assert "api-testnet" in api["public"]  # sandbox: the testnet URLs are the ones replaced
    for name in ("spot", "futures", "v2", "public", "private"):
        api[name] = face.rest_url
    api["ws"]["public"]["spot"] = face.public_ws_url
    api["ws"]["private"]["spot"]["unified"] = face.private_ws_url
    api["ws"]["private"]["contract"] = face.private_ws_url
    try:
        yield ex
    finally:
        await ex.close()


async def test_ccxt_bybit_public_and_private_rest(bybit: Any, face: BybitFace) -> None:
    markets = await bybit.load_markets()
    assert markets[SYMBOL]["id"] == "BTCUSDT" and markets[SYMBOL]["spot"]
    info = face.sim.exchange_info.symbol("BTCUSDT")
    assert info.price_filter is not None
    assert markets[SYMBOL]["precision"]["price"] == float(info.price_filter.tick_size)
    assert await bybit.fetch_time() > 0
    ticker = await bybit.fetch_ticker(SYMBOL)
    assert ticker["bid"] > 0 and ticker["ask"] >= ticker["bid"]
    book = await bybit.fetch_order_book(SYMBOL, 5)
    assert book["bids"][0][0] < book["asks"][0][0]
    assert await bybit.fetch_trades(SYMBOL)
    candles = await bybit.fetch_ohlcv(SYMBOL, "1m")
    assert candles and len(candles[-1]) == 6
    balance = await bybit.fetch_balance()
    assert balance["free"]["USDT"] == pytest.approx(10_000)
    price = float(bybit.price_to_precision(SYMBOL, book["bids"][0][0] * 0.9))
    placed = await bybit.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "ccxtBybit1"})
    found = await bybit.fetch_open_order(placed["id"], SYMBOL)
    assert found["clientOrderId"] == "ccxtBybit1" and found["status"] == "open" and found["price"] == price
    assert [o["id"] for o in await bybit.fetch_open_orders(SYMBOL)] == [placed["id"]]
    await bybit.cancel_order(placed["id"], SYMBOL)
    assert await bybit.fetch_open_orders(SYMBOL) == []
    assert [(o["id"], o["status"]) for o in await bybit.fetch_closed_orders(SYMBOL)] == [(placed["id"], "canceled")]
    bought = await bybit.create_order(SYMBOL, "market", "buy", 0.001)
    fills = await bybit.fetch_my_trades(SYMBOL)
    assert fills and fills[-1]["order"] == bought["id"] and fills[-1]["side"] == "buy"
    engine_orders = face.sim.engine.account_of(BYBIT_SIM_KEY).orders
    assert engine_orders[0].client_order_id == "ccxtBybit1" and len(engine_orders) == 2


async def test_ccxt_pro_bybit_streams(bybit: Any) -> None:
    ticker, book = await watch_streams(bybit)
    assert ticker["last"] > 0  # Bybit's ticker carries the last trade
    assert book["bids"][0][0] < book["asks"][0][0]
