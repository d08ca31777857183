"""``MexcAdapter`` REST side over real sockets against the simulator's MEXC face (real recording, manual step): rules
cache, market data, orders (idempotent placement after a 5xx or a timeout), and what MEXC lacks."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.errors import (
    ExchangeUnavailable,
    FilterFailure,
    InvalidSymbol,
    NotSupported,
    UnknownOrder,
)
from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
from tradingmcp.server.exchanges.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce

from .conftest import MexcSim, sim_config

D = Decimal
pytestmark = pytest.mark.data


def _limit(price: str = "60000", qty: str = "0.001", cid: str | None = None) -> OrderRequest:
    return OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D(qty), price=D(price), client_order_id=cid)


async def test_rules_cache_and_market_data(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    calls, market = mexc_sim.face.rest.calls, mexc_sim.sim.markets["BTCUSDT"]
    assert isinstance(adapter, ExchangeAdapter)
    async with asyncio.timeout(10):
        rules = await adapter.exchange_info()
        assert set(rules) == {"BTCUSDT", "ETHUSDT"}
        btc = await adapter.symbol_rules("btcusdt")
        assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (D("0.01"), D("0.00001"),
                                                                                 D("0.00001"), D(5))  # fmt: skip
        with pytest.raises(InvalidSymbol):
            await adapter.symbol_rules("NOPEUSDT")
        assert [c[1] for c in calls].count("/exchangeInfo") == 1  # cached
        book = await adapter.order_book("BTCUSDT", limit=5)
        assert book.last_update_id == market.book.last_update_id and len(book.bids) == 5
        assert (book.bids[0].price, book.bids[0].qty) == market.book.best_bid()
        assert book.bids[0].price < book.asks[0].price
        trades = await adapter.recent_trades("BTCUSDT", 3)
        assert [t.price for t in trades] == [D(r["price"]) for r in market.trades[-3:]]
        (k,) = await adapter.klines("BTCUSDT", "1h", limit=1)
        bar = market.bars("1h")[-1]
        assert (k.interval, k.open_time_ms, k.close, k.volume) == ("1h", bar.t, bar.c, bar.v)
        assert calls[-1][2]["interval"] == "60m"  # MEXC's spelling on the wire
        assert (await adapter.ticker_24h("BTCUSDT")).last_price == D(market.trades[-1]["price"])
        assert await adapter.price("BTCUSDT") == D(market.trades[-1]["price"])
        tick = await adapter.book_ticker("BTCUSDT")
        assert (tick.bid, tick.ask) == (book.bids[0].price, book.asks[0].price)
        status = await adapter.server_status()
        assert status.exchange == "mexc" and status.reachable and abs(status.clock_offset_ms) < 2000
        depth_usage = next(u for u in status.rate_limits if u.kind == "GET /api/v3/depth")
        assert (depth_usage.used, depth_usage.limit, depth_usage.interval_s) == (1, 500, 10)


async def test_orders_round_trip(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    async with asyncio.timeout(10):
        placed = await adapter.place_order(_limit(cid="mine-1"))
        assert (placed.client_order_id, placed.status, placed.price) == ("mine-1", OrderStatus.NEW, D(60000))
        assert isinstance(placed.order_id, str) and placed.order_id.startswith("C02__")
        auto = await adapter.place_order(_limit("59000"))
        assert auto.client_order_id.startswith("tmcp") and len(auto.client_order_id) == 32
        assert [o.client_order_id for o in await adapter.open_orders("BTCUSDT")] == ["mine-1", auto.client_order_id]
        # account-wide: MEXC needs a symbol, so the adapter fans out over the symbols it traded (BTCUSDT here)
        assert [o.client_order_id for o in await adapter.open_orders()] == ["mine-1", auto.client_order_id]
        got = await adapter.get_order("BTCUSDT", client_order_id="mine-1")
        assert got.order_id == placed.order_id
        cancelled = await adapter.cancel_order("BTCUSDT", order_id=placed.order_id)
        assert cancelled.status is OrderStatus.CANCELED
        assert [o.order_id for o in await adapter.cancel_all_orders("BTCUSDT")] == [auto.order_id]
        assert await adapter.cancel_all_orders("BTCUSDT") == []
        with pytest.raises(UnknownOrder):
            await adapter.get_order("BTCUSDT", order_id="C02__999")
        market = await adapter.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=D("100"))
        )
        assert market.status is OrderStatus.FILLED and market.executed_qty > 0  # read back after the ack
        assert D(99) < market.cumulative_quote_qty <= D(100)
        ioc = await adapter.place_order(_ioc())
        assert ioc.time_in_force is TimeInForce.IOC
        await adapter.test_order(_limit())
        assert len(await adapter.all_orders("BTCUSDT")) == 4
        fills = await adapter.my_trades("BTCUSDT")
        assert {f.order_id for f in fills} == {market.order_id, ioc.order_id}
        assert all(f.commission_asset in ("BTC", "USDT") and f.commission > 0 for f in fills)
        balances = {b.asset: b.free for b in await adapter.balances()}
        usdt, btc = D(10_000), D(1)
        for f in fills:
            sign = 1 if f.is_buyer else -1
            usdt -= sign * f.quote_qty + (f.commission if f.commission_asset == "USDT" else 0)
            btc += sign * f.qty - (f.commission if f.commission_asset == "BTC" else 0)
        assert (balances["USDT"], balances["BTC"]) == (usdt, btc)
    sent = [p for m, path, p in mexc_sim.face.rest.calls if (m, path) == ("POST", "/order")]
    assert sent[0]["newClientOrderId"] == "mine-1" and sent[-1]["type"] == "IMMEDIATE_OR_CANCEL"
    assert all("signature" not in p for _, _, p in mexc_sim.face.rest.calls)  # never kept


def _ioc() -> OrderRequest:
    return OrderRequest("BTCUSDT", Side.SELL, OrderType.LIMIT, quantity=D("0.002"), price=D("61000"),
                        time_in_force=TimeInForce.IOC)  # fmt: skip


async def test_local_validation_and_unsupported_shapes(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    async with asyncio.timeout(10):
        with pytest.raises(FilterFailure, match="tick size"):
            await adapter.place_order(_limit("60000.001"))
        stop = OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS_LIMIT, quantity=D("0.001"), price=D(1),
                            stop_price=D(1))  # fmt: skip
        with pytest.raises(NotSupported):
            await adapter.place_order(stop)
        with pytest.raises(NotSupported):
            await adapter.place_oco("BTCUSDT", Side.SELL, quantity=D(1), price=D(2), stop_price=D(1))
    assert not [c for c in mexc_sim.face.rest.calls if c[1] == "/order"]


async def test_cancel_replace_is_cancel_then_place(adapter: MexcAdapter) -> None:
    async with asyncio.timeout(10):
        old = await adapter.place_order(_limit())
        result = await adapter.cancel_replace(_limit("59500"), cancel_order_id=old.order_id)
        assert (result.cancel_result, result.new_order_result) == ("SUCCESS", "SUCCESS")
        assert result.new_order is not None and result.new_order.price == D(59500)
        assert (await adapter.get_order("BTCUSDT", order_id=old.order_id)).status is OrderStatus.CANCELED


@pytest.mark.parametrize("fault", ["503_after", "hang_after"])
async def test_unknown_outcome_is_looked_up_not_resent(mexc_sim: MexcSim, fault: str) -> None:
    """MEXC created the order but the answer was lost (5xx / timeout): the adapter finds it by client order id."""
    mexc_sim.face.rest.faults["POST /order"] = [fault]
    async with asyncio.timeout(15), MexcAdapter(sim_config(mexc_sim, request_timeout_s=0.5)) as ex:
        order = await ex.place_order(_limit(cid="once-1"))
    assert order.client_order_id == "once-1" and order.status is OrderStatus.NEW
    assert len(mexc_sim.orders()) == 1
    calls = mexc_sim.face.rest.calls
    lookups = [p for m, path, p in calls if (m, path) == ("GET", "/order")]
    assert lookups == [lookups[0]] and lookups[0]["origClientOrderId"] == "once-1"


async def test_rejected_before_creation_is_sent_again_once(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    faults, calls = mexc_sim.face.rest.faults, mexc_sim.face.rest.calls
    faults["POST /order"] = ["503_before"]
    async with asyncio.timeout(10):
        order = await adapter.place_order(_limit(cid="twice-1"))
    assert order.client_order_id == "twice-1" and len(mexc_sim.orders()) == 1
    assert [path for m, path, _ in calls if path == "/order"] == ["/order", "/order", "/order"]  # POST GET POST
    faults["POST /order"] = ["503_before", "503_before"]
    async with asyncio.timeout(10):
        with pytest.raises(ExchangeUnavailable):
            await adapter.place_order(_limit(cid="never-1"))
    assert len(mexc_sim.orders()) == 1


async def test_failed_lookup_sends_nothing_more(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    """MEXC made the order but its answer was a 503, and the lookup by client order id fails too: the outcome stays
    unknown, so the adapter sends nothing more and says to query by client order id first."""
    faults, calls = mexc_sim.face.rest.faults, mexc_sim.face.rest.calls
    faults["POST /order"] = ["503_after"]
    faults["GET /order"] = ["503_before"]
    async with asyncio.timeout(10):
        with pytest.raises(ExchangeUnavailable) as info:
            await adapter.place_order(_limit(cid="blind-1"))
    text = str(info.value)
    assert "unknown outcome" in text and "checking it failed" in text
    assert "query get_order(client_order_id='blind-1') before placing it again" in text
    assert [m for m, path, _ in calls if path == "/order"] == ["POST", "GET"]  # one send, one lookup, nothing more
    assert [o.client_order_id for o in mexc_sim.orders()] == ["blind-1"]


async def test_market_order_found_by_lookup_is_not_read_back(adapter: MexcAdapter, mexc_sim: MexcSim) -> None:
    """A MARKET order whose answer was lost is found by client order id; that answer already shows the execution, so
    no read-back by order id follows (the read-back is for MEXC's short placement acknowledgement)."""
    calls = mexc_sim.face.rest.calls
    mexc_sim.face.rest.faults["POST /order"] = ["503_after"]
    async with asyncio.timeout(10):
        order = await adapter.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quote_order_qty=D("100"), client_order_id="mkt-1")
        )
    assert order.client_order_id == "mkt-1" and order.status is OrderStatus.FILLED and order.executed_qty > 0
    lookups = [p for m, path, p in calls if (m, path) == ("GET", "/order")]
    assert [p.get("origClientOrderId") for p in lookups] == ["mkt-1"]  # the lookup only
    assert len(mexc_sim.orders()) == 1
