"""``BybitAdapter`` REST against the simulator's Bybit face over loopback: market data equal to the engine's,
symbol rules from instruments-info, the order lifecycle, typed errors, rate limits read from the headers, and the
unknown-outcome lookup by ``orderLinkId`` with faults injected in the face."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.bybit.adapter import BybitAdapter
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.errors import (
    BadParameter,
    ExchangeUnavailable,
    FilterFailure,
    InsufficientBalance,
    InvalidSignature,
    InvalidSymbol,
    NotSupported,
    UnknownOrder,
)
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from tradingmcp.sim.bybit import BybitFace, BybitFaceConfig

from .conftest import BybitSim, sim_config

D = Decimal
pytestmark = pytest.mark.data


def limit_buy(bs: BybitSim, cid: str | None = None, below: str = "0.98") -> OrderRequest:
    bid = bs.sim.markets["BTCUSDT"].book.best_bid()
    assert bid is not None
    price = (bid[0] * D(below)).quantize(D("0.01"))
    return OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.001"), price=price, client_order_id=cid)


async def test_market_data_matches_the_engine(adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    market = bybit_sim.sim.markets["BTCUSDT"]
    rules = await adapter.symbol_rules("btcusdt")
    info = bybit_sim.sim.exchange_info.symbol("BTCUSDT")
    assert info.price_filter is not None and info.lot_size is not None and info.notional is not None
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (
        info.price_filter.tick_size, info.lot_size.step_size, info.notional.min_notional)  # fmt: skip
    assert rules.is_trading and rules.base_asset == "BTC" and rules.quote_asset == "USDT"
    book = await adapter.order_book("BTCUSDT", 5)
    assert (book.bids[0].price, book.bids[0].qty) == market.book.best_bid() and len(book.asks) == 5
    tick = await adapter.book_ticker("BTCUSDT")
    assert (tick.bid, tick.ask) == (market.book.best_bid()[0], market.book.best_ask()[0])  # type: ignore[index]
    trades = await adapter.recent_trades("BTCUSDT", 10)
    assert len(trades) == 10 and trades[0].time_ms <= trades[-1].time_ms
    assert trades[-1].price == D(market.trades[-1]["price"])
    klines = await adapter.klines("BTCUSDT", "1m", 3)
    bar = market.current_bar("1m")
    assert bar is not None and all(k.interval == "1m" for k in klines)
    assert (klines[-1].open_time_ms, klines[-1].close, klines[-1].volume) == (bar.t, bar.c, bar.v)
    stats = await adapter.ticker_24h("BTCUSDT")
    assert stats.last_price == D(market.trades[-1]["price"])
    with pytest.raises(InvalidSymbol):
        await adapter.symbol_rules("DOGEUSDT")
    with pytest.raises(InvalidSymbol):
        await adapter.order_book("DOGEUSDT")
    with pytest.raises(BadParameter):
        await adapter.klines("BTCUSDT", "1s")
    status = await adapter.server_status()
    assert status.exchange == "bybit" and status.reachable and abs(status.clock_offset_ms) < 1000


async def test_limit_order_lifecycle(adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    req = limit_buy(bybit_sim, "lifecycle-1")
    order = await adapter.place_order(req)
    assert order.status is OrderStatus.NEW and order.client_order_id == "lifecycle-1" and order.price == req.price
    assert order.time_in_force is TimeInForce.GTC and str(order.order_id).isdigit()
    assert (await adapter.get_order("BTCUSDT", client_order_id="lifecycle-1")).order_id == order.order_id
    assert [o.order_id for o in await adapter.open_orders()] == [order.order_id]
    usdt = next(b for b in await adapter.balances() if b.asset == "USDT")
    assert usdt.locked == req.price * D("0.001")  # type: ignore[operator]
    cancelled = await adapter.cancel_order("BTCUSDT", order_id=order.order_id)
    assert cancelled.status is OrderStatus.CANCELED
    with pytest.raises(UnknownOrder):
        await adapter.cancel_order("BTCUSDT", order_id=order.order_id)
    with pytest.raises(UnknownOrder):
        await adapter.get_order("BTCUSDT", client_order_id="never-placed")
    maker = await adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, quantity=D("0.001"),
                                                   price=req.price))  # fmt: skip
    assert maker.type is OrderType.LIMIT_MAKER and maker.client_order_id.startswith("tmcp")
    assert [o.order_id for o in await adapter.cancel_all_orders("BTCUSDT")] == [maker.order_id]
    assert await adapter.open_orders("BTCUSDT") == []
    history = await adapter.all_orders("BTCUSDT")
    assert [o.order_id for o in history] == [order.order_id, maker.order_id]


async def test_market_orders_fill_and_report_fills(adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    buy = await adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=D(100)))
    assert buy.status is OrderStatus.FILLED and buy.executed_qty > 0 and buy.cumulative_quote_qty <= 100
    sell = await adapter.place_order(OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, quantity=D("0.0005")))
    assert sell.status is OrderStatus.FILLED and sell.executed_qty == D("0.0005")
    fills = await adapter.my_trades("BTCUSDT")
    assert {f.order_id for f in fills} == {buy.order_id, sell.order_id}
    assert sum(f.qty for f in fills if f.order_id == buy.order_id) == buy.executed_qty
    btc = next(b for b in await adapter.balances() if b.asset == "BTC")
    acct = bybit_sim.sim.engine.account_of(adapter.config.api_key)
    assert btc.free == acct.free_of("BTC")


async def test_typed_errors(adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    big = limit_buy(bybit_sim)
    with pytest.raises(InsufficientBalance):
        await adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D(5), price=big.price))
    with pytest.raises(FilterFailure):  # the face's rule, not the local check
        await adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.00001"),
                                               price=big.price), validate=False)  # fmt: skip
    with pytest.raises(NotSupported):
        await adapter.place_order(OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS, quantity=D(1),
                                               stop_price=D(1)))  # fmt: skip
    async with BybitAdapter(sim_config(bybit_sim, api_secret="wrong")) as wrong:
        with pytest.raises(InvalidSignature):
            await wrong.balances()
    with pytest.raises(ValueError, match="allow_live"):
        BybitConfig(testnet=False)
    testnet = BybitConfig(api_key="k", api_secret="s")
    assert testnet.effective_rest_url == "https://api-testnet.bybit.com"
    assert testnet.effective_private_ws_url == "wss://stream-testnet.bybit.com/v5/private"
    live = BybitConfig(api_key="k", api_secret="s", testnet=False, allow_live=True)
    assert live.effective_rest_url == "https://api.bybit.com" and "api_secret" not in repr(live)


async def test_unknown_outcome_after_the_engine_acted_is_found_not_resent(
    adapter: BybitAdapter, bybit_sim: BybitSim
) -> None:
    bybit_sim.face.rest.faults["POST /order/create"] = ["503_after"]
    order = await adapter.place_order(limit_buy(bybit_sim, "unknown-after"))
    assert order.client_order_id == "unknown-after" and order.status is OrderStatus.NEW
    assert [o.client_order_id for o in bybit_sim.orders()] == ["unknown-after"]
    creates = [c for c in bybit_sim.face.rest.calls if c[1] == "/order/create"]
    assert len(creates) == 1


async def test_unknown_outcome_before_the_engine_acted_is_sent_again_once(
    adapter: BybitAdapter, bybit_sim: BybitSim
) -> None:
    bybit_sim.face.rest.faults["POST /order/create"] = ["503_before"]
    order = await adapter.place_order(limit_buy(bybit_sim, "unknown-before"))
    assert order.client_order_id == "unknown-before"
    assert [o.client_order_id for o in bybit_sim.orders()] == ["unknown-before"]
    assert len([c for c in bybit_sim.face.rest.calls if c[1] == "/order/create"]) == 2


async def test_a_timed_out_placement_is_looked_up(bybit_sim: BybitSim) -> None:
    bybit_sim.face.rest.faults["POST /order/create"] = ["hang_after"]
    async with BybitAdapter(sim_config(bybit_sim, request_timeout_s=0.3)) as ex:
        order = await ex.place_order(limit_buy(bybit_sim, "timed-out"))
    assert order.client_order_id == "timed-out" and len(bybit_sim.orders()) == 1


async def test_outcome_stays_unknown_when_the_lookup_fails(adapter: BybitAdapter, bybit_sim: BybitSim) -> None:
    faults = bybit_sim.face.rest.faults
    faults["POST /order/create"] = ["503_after"]
    faults["GET /order/realtime"] = ["503_before"]
    with pytest.raises(ExchangeUnavailable, match="query get_order"):
        await adapter.place_order(limit_buy(bybit_sim, "lookup-fails"))
    assert len([c for c in bybit_sim.face.rest.calls if c[1] == "/order/create"]) == 1


async def test_rate_limits_are_read_from_the_headers(sim_and_small_limits: tuple[BybitSim, BybitFace]) -> None:
    bs, face = sim_and_small_limits
    async with BybitAdapter(sim_config(BybitSim(bs.sim, face))) as ex:
        limit = face.rest.limiter.limits["GET /account/wallet-balance"]
        started = time.monotonic()
        for _ in range(limit + 2):
            await ex.balances()
        assert time.monotonic() - started > 0.5  # waited for the reset instead of drawing a 10006
        state = ex.rest.limiter.endpoints["GET /v5/account/wallet-balance"]
        assert state.limit == limit
        status = await ex.server_status()
        assert any(r.kind == "GET /v5/account/wallet-balance" and r.limit == limit for r in status.rate_limits)


@pytest.fixture
async def sim_and_small_limits(bybit_sim: BybitSim):  # type: ignore[no-untyped-def]
    face = BybitFace(bybit_sim.sim, BybitFaceConfig(limit_scale=0.06))
    await face.start()
    try:
        yield bybit_sim, face
    finally:
        await face.stop()


async def test_a_10006_blocks_until_the_reset_and_is_retried_once(
    sim_and_small_limits: tuple[BybitSim, BybitFace],
) -> None:
    """Another client of the same key used up the endpoint: the first call draws a 10006, the client waits for
    ``X-Bapi-Limit-Reset-Timestamp`` and sends it once more, which succeeds."""
    bs, face = sim_and_small_limits
    other = BybitSim(bs.sim, face)
    async with BybitAdapter(sim_config(other)) as first, BybitAdapter(sim_config(other)) as second:
        limit = face.rest.limiter.limits["GET /account/wallet-balance"]
        for _ in range(limit):
            await first.balances()
        assert await second.balances()
        assert second.rest.limiter.blocked_until_ms > 0  # it was told to wait, and did
