"""The simulator's Binance and MEXC faces held to ccxt (https://docs.ccxt.com), a client no one here wrote.

ccxt's ``binance`` class (sandbox mode, every endpoint redirected to loopback) and its ``mexc`` class (redirected),
each with ccxt's default options, make their public and private REST calls and their ``ccxt.pro`` watch calls
against the running simulator: markets (Binance's default loads spot, USDⓈ-M and COIN-M listings; MEXC's asks for
contract details and the capital config), system status, trading fees, tickers, books, trades, candles, balances,
an order placed, read back by client order id and cancelled, and the ticker, mini-ticker, book, trade, candle, order
and balance streams. A path neither face serves is answered in that venue's own error shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from ccxt_support import SYMBOL, WAIT_S, watch_streams

from tradingmcp.server.exchanges.ccxt.config import CcxtConfig
from tradingmcp.server.exchanges.ccxt.exchange import build_exchange
from tradingmcp.sim.app import Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET
from tradingmcp.sim.mexc import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace

pytestmark = pytest.mark.data


@pytest.fixture
async def running(live_sim: Simulator) -> AsyncIterator[tuple[Simulator, MexcFace]]:
    async with MexcFace(live_sim) as face:
        yield live_sim, face


def _binance(sim: Simulator) -> Any:
    config = CcxtConfig(
        "binance", BINANCE_SIM_KEY, BINANCE_SIM_SECRET,
        rest_url=f"http://127.0.0.1:{sim.port}", ws_url=f"ws://127.0.0.1:{sim.ws_port}",
    )  # fmt: skip
    built = build_exchange(config)
    assert built.sandbox and not built.live
    return built.exchange


def _mexc(face: MexcFace) -> Any:
    ws_base = face.ws_url.removesuffix("/ws")  # ccxt's MEXC URL ends in /ws too
    config = CcxtConfig("mexc", MEXC_SIM_KEY, MEXC_SIM_SECRET, rest_url=face.rest_url, ws_url=ws_base)
    built = build_exchange(config)
    assert not built.sandbox and not built.live
    return built.exchange


async def _public_calls(ex: Any) -> None:
    markets = await ex.load_markets()
    assert markets[SYMBOL]["id"] == "BTCUSDT" and markets[SYMBOL]["spot"]
    assert (await ex.fetch_status())["status"] == "ok"
    assert await ex.fetch_time() > 0
    ticker = await ex.fetch_ticker(SYMBOL)
    assert ticker["bid"] > 0 and ticker["ask"] >= ticker["bid"]
    book = await ex.fetch_order_book(SYMBOL, 5)
    assert book["bids"] and book["asks"] and book["bids"][0][0] < book["asks"][0][0]
    assert await ex.fetch_trades(SYMBOL)
    candles = await ex.fetch_ohlcv(SYMBOL, "1m")
    assert candles and len(candles[-1]) == 6
    fee = await ex.fetch_trading_fee(SYMBOL)
    assert fee["maker"] == pytest.approx(0.001) and fee["taker"] == pytest.approx(0.001)


async def _private_calls(ex: Any) -> None:
    balance = await ex.fetch_balance()
    assert balance["free"]["USDT"] == pytest.approx(10_000)
    bid = (await ex.fetch_order_book(SYMBOL, 5))["bids"][0][0]
    price = float(ex.price_to_precision(SYMBOL, bid * 0.9))
    placed = await ex.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "ccxtSimTest1"})
    found = await ex.fetch_order(None, SYMBOL, {"clientOrderId": "ccxtSimTest1"})
    assert found["id"] == placed["id"] and found["clientOrderId"] == "ccxtSimTest1" and found["status"] == "open"
    assert [o["id"] for o in await ex.fetch_open_orders(SYMBOL)] == [placed["id"]]
    cancelled = await ex.cancel_order(placed["id"], SYMBOL)
    assert cancelled["status"] == "canceled"
    assert await ex.fetch_open_orders(SYMBOL) == []
    assert any(o["id"] == placed["id"] for o in await ex.fetch_orders(SYMBOL))


async def test_ccxt_binance_against_the_binance_face(running: tuple[Simulator, MexcFace]) -> None:
    sim, _ = running
    ex = _binance(sim)
    try:
        await _public_calls(ex)
        await _private_calls(ex)
        await watch_streams(ex)
        async with asyncio.timeout(WAIT_S):
            tickers = await ex.watch_tickers([SYMBOL])  # ccxt: the !miniTicker@arr-style miniTicker streams
        assert tickers[SYMBOL]["last"] > 0
    finally:
        await ex.close()


async def test_ccxt_mexc_against_the_mexc_face(running: tuple[Simulator, MexcFace]) -> None:
    _, face = running
    ex = _mexc(face)
    try:
        await _public_calls(ex)
        currencies = await ex.fetch_currencies()
        assert {"BTC", "ETH", "USDT"} <= set(currencies)
        await _private_calls(ex)
        await watch_streams(ex)
    finally:
        await ex.close()


async def test_unknown_paths_get_each_venues_error_shape(running: tuple[Simulator, MexcFace]) -> None:
    sim, face = running
    async with aiohttp.ClientSession() as http:
        for url in (f"http://127.0.0.1:{sim.port}/sapi/v9/nothing", f"http://127.0.0.1:{sim.port}/api/v1/nothing"):
            async with http.get(url) as resp:
                assert resp.status == 404
                body = await resp.json()
                assert body["code"] == -1000 and "Unknown endpoint GET /" in body["msg"]
        async with http.post(f"{face.rest_url}/open/api/v2/nothing") as resp:
            assert resp.status == 404
            assert await resp.json() == {"code": 404, "msg": "Not Found: POST /open/api/v2/nothing"}
        async with http.get(f"http://127.0.0.1:{sim.port}/fapi/v1/exchangeInfo") as resp:
            assert (await resp.json())["symbols"] == []  # the simulator lists no futures


async def test_all_market_mini_tickers_stream(running: tuple[Simulator, MexcFace]) -> None:
    sim, _ = running
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"ws://127.0.0.1:{sim.ws_port}/ws/!miniTicker@arr") as ws,
    ):
        async with asyncio.timeout(WAIT_S):
            seen: set[str] = set()
            while seen != {"BTCUSDT", "ETHUSDT"}:
                frame = await ws.receive_json()
                assert isinstance(frame, list)
                for row in frame:
                    assert row["e"] == "24hrMiniTicker" and float(row["c"]) > 0
                    seen.add(row["s"])
