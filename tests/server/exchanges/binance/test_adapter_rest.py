"""Every REST call of the adapter against the simulator (real sockets, real python-binance, real recorded market)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.binance.errors import (
    FilterFailure,
    InsufficientBalance,
    InvalidSignature,
    InvalidSymbol,
    RateLimited,
    UnknownOrder,
)
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from tradingmcp.server.exchanges.rules import OrderRuleError
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.weights import RateLimitConfig

from .conftest import sim_config

pytestmark = pytest.mark.data
D = Decimal


def limit_buy(qty: str, price: str, cid: str | None = None) -> OrderRequest:
    return OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D(qty), price=D(price), client_order_id=cid)


def test_config_guards() -> None:
    with pytest.raises(ValueError, match="allow_mainnet"):
        BinanceConfig(testnet=False)
    cfg = BinanceConfig(api_key="k", api_secret="very-secret")
    assert "very-secret" not in repr(cfg)
    assert cfg.effective_rest_url == "https://testnet.binance.vision/api"
    assert cfg.effective_stream_url == "wss://stream.testnet.binance.vision/"
    assert cfg.effective_ws_api_url == "wss://ws-api.testnet.binance.vision/ws-api/v3"
    assert BinanceConfig(testnet=False, allow_mainnet=True).effective_rest_url == "https://api.binance.com/api"


async def test_market_data(adapter: BinanceAdapter) -> None:
    assert isinstance(adapter, ExchangeAdapter)
    info = await adapter.exchange_info()
    assert {"BTCUSDT", "ETHUSDT"} <= set(info) and info["BTCUSDT"].tick_size == D("0.01")
    assert abs(adapter.clock_offset_ms) < 1000
    book = await adapter.order_book("BTCUSDT", 5)
    assert len(book.bids) == 5 and len(book.asks) == 5 and book.bids[0].price < book.asks[0].price
    assert D(61_000) < book.bids[0].price < D(62_000) and book.last_update_id > 50_093_239_000
    top = await adapter.book_ticker("BTCUSDT")
    assert top.bid < top.ask and top.symbol == "BTCUSDT"
    assert D(61_000) < await adapter.price("BTCUSDT") < D(62_000)
    trades = await adapter.recent_trades("BTCUSDT", 10)
    assert trades and all(D(61_000) < t.price < D(62_000) for t in trades)
    assert [t.trade_id for t in trades] == sorted(t.trade_id for t in trades)
    candles = await adapter.klines("BTCUSDT", "1m", limit=5)
    assert candles and all(c.low <= c.open <= c.high and c.low <= c.close <= c.high for c in candles)
    stats = await adapter.ticker_24h("ETHUSDT")
    assert stats.symbol == "ETHUSDT" and D(2_600) < stats.bid < stats.ask < D(2_700)  # no ETH trade yet at start
    status = await adapter.server_status()
    assert status.reachable and status.testnet
    weight = next(u for u in status.rate_limits if u.kind == "REQUEST_WEIGHT")
    assert weight.limit == 6000 and weight.used > 0  # synced from X-MBX-USED-WEIGHT-1M
    with pytest.raises(InvalidSymbol):
        await adapter.order_book("NOPEUSDT")
    with pytest.raises(InvalidSymbol):
        await adapter.symbol_rules("NOPEUSDT")


async def test_order_lifecycle(adapter: BinanceAdapter) -> None:
    placed = await adapter.place_order(limit_buy("0.001", "60000", "my-order-1"))
    assert placed.client_order_id == "my-order-1" and placed.status is OrderStatus.NEW
    assert placed.time_in_force is TimeInForce.GTC and placed.price == 60000
    same = await adapter.get_order("BTCUSDT", client_order_id="my-order-1")
    assert same.order_id == placed.order_id
    assert [o.order_id for o in await adapter.open_orders("BTCUSDT")] == [placed.order_id]
    assert [o.order_id for o in await adapter.open_orders()] == [placed.order_id]
    usdt = next(b for b in await adapter.balances() if b.asset == "USDT")
    assert usdt.locked == D("60")  # 0.001 × 60000 locked by the open order
    cancelled = await adapter.cancel_order("BTCUSDT", order_id=placed.order_id)
    assert cancelled.status is OrderStatus.CANCELED and cancelled.client_order_id == "my-order-1"
    with pytest.raises(UnknownOrder):
        await adapter.get_order("BTCUSDT", client_order_id="never-placed")
    # generated client ids carry the prefix; cancel-all returns what it cancelled
    a = await adapter.place_order(limit_buy("0.001", "59000"))
    b = await adapter.place_order(limit_buy("0.001", "59001"))
    assert a.client_order_id.startswith("tmcp-") and len(a.client_order_id) <= 36
    assert {o.order_id for o in await adapter.cancel_all_orders("BTCUSDT")} == {a.order_id, b.order_id}
    assert await adapter.cancel_all_orders("BTCUSDT") == []
    history = await adapter.all_orders("BTCUSDT")
    assert {o.order_id for o in history} >= {placed.order_id, a.order_id, b.order_id}
    assert all(o.status is OrderStatus.CANCELED for o in history)


async def test_market_orders_and_fills(adapter: BinanceAdapter) -> None:
    bought = await adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("0.002")))
    assert bought.status is OrderStatus.FILLED and bought.executed_qty == D("0.002")
    assert bought.fills and sum(f.qty for f in bought.fills) == D("0.002")
    assert D(61_000) < bought.avg_price < D(62_000)
    spent = await adapter.place_order(OrderRequest("ETHUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=D(50)))
    assert spent.status is OrderStatus.FILLED and spent.cumulative_quote_qty <= 50
    fills = await adapter.my_trades("BTCUSDT")
    assert {f.order_id for f in fills} == {bought.order_id} and all(f.is_buyer for f in fills)
    assert await adapter.my_trades("BTCUSDT", order_id=bought.order_id) == fills
    await adapter.test_order(limit_buy("0.001", "60000"))  # validated by the exchange, not placed
    assert await adapter.open_orders("BTCUSDT") == []


async def test_oco_and_cancel_replace(adapter: BinanceAdapter) -> None:
    price = await adapter.price("BTCUSDT")
    oco = await adapter.place_oco(
        "BTCUSDT",
        Side.SELL,
        quantity=D("0.01"),
        price=(price * D("1.02")).quantize(D("0.01")),
        stop_price=(price * D("0.98")).quantize(D("0.01")),
        stop_limit_price=(price * D("0.979")).quantize(D("0.01")),
        list_client_order_id="my-oco",
    )
    assert oco.list_client_order_id == "my-oco" and len(oco.orders) == 2
    assert {o.type for o in oco.orders} == {OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT}
    assert len(await adapter.open_orders("BTCUSDT")) == 2
    assert len(await adapter.cancel_all_orders("BTCUSDT")) == 2
    first = await adapter.place_order(limit_buy("0.001", "60000", "to-replace"))
    result = await adapter.cancel_replace(limit_buy("0.002", "60100", "replacement"), cancel_order_id=first.order_id)
    assert (result.cancel_result, result.new_order_result) == ("SUCCESS", "SUCCESS")
    assert result.cancelled is not None and result.cancelled.status is OrderStatus.CANCELED
    assert result.new_order is not None and result.new_order.client_order_id == "replacement"
    assert [o.client_order_id for o in await adapter.open_orders("BTCUSDT")] == ["replacement"]


async def test_rejections_are_typed(adapter: BinanceAdapter) -> None:
    with pytest.raises(OrderRuleError) as local:  # checked locally: nothing sent
        await adapter.place_order(limit_buy("0.000015", "60000"))
    assert "nearest valid: 0.00001" in str(local.value)
    with pytest.raises(FilterFailure) as remote:  # the exchange's own -1013
        await adapter.place_order(limit_buy("0.000015", "60000"), validate=False)
    assert remote.value.code == -1013 and "LOT_SIZE" in remote.value.exchange_message
    assert not isinstance(remote.value, OrderRuleError)
    with pytest.raises(InsufficientBalance):
        await adapter.place_order(limit_buy("1", "60000"))  # 60000 USDT > 10000 free
    with pytest.raises(FilterFailure):
        await adapter.test_order(limit_buy("0.00001", "60000"))  # notional below 5 USDT


async def test_bad_secret_is_invalid_signature(sim: Simulator) -> None:
    async with BinanceAdapter(sim_config(sim, api_secret="wrong-secret")) as ex:
        assert (await ex.order_book("BTCUSDT", 5)).bids  # public calls still work
        with pytest.raises(InvalidSignature) as info:
            await ex.balances()
    assert info.value.code == -1022 and "secret" in str(info.value)


async def test_429_blocks_instead_of_hammering(data_dir: Path) -> None:
    limits = RateLimitConfig(weight_limit_1m=60, ban_after_429=3)
    sim = Simulator(SimConfig(port=0, speed=5.0, data_dir=data_dir, limits=limits))
    await sim.start()
    try:
        async with BinanceAdapter(sim_config(sim, max_rate_wait_s=0.5)) as ex:
            with pytest.raises(RateLimited) as info:
                for _ in range(20):  # exchangeInfo (20) + time (1) + these depth calls (5 each) pass 60
                    await asyncio.wait_for(ex.order_book("BTCUSDT", 5), 5)
            assert info.value.retry_after_s is not None and info.value.retry_after_s > 0.5
            assert ex.limiter.core.blocked_until_ms > ex.server_ms()
            # later calls fail fast from the local block: the simulator never sees enough 429s to ban us
            for _ in range(5):
                with pytest.raises(RateLimited):
                    await ex.price("BTCUSDT")
            assert ex.limiter.core.banned_until_ms is None
    finally:
        await sim.stop()
