"""The CCXT venue's sans-I/O pieces: ccxt markets → symbol rules (both precision modes) that refuse bad orders
locally, ccxt's exceptions → our error types, URL redirection, building an exchange (sandbox, live refused, unknown
id), and the account-event tracker (execution types, fills once, order ids per symbol)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.ccxt import parse
from tradingmcp.server.exchanges.ccxt.adapter import ORDER_TYPES
from tradingmcp.server.exchanges.ccxt.config import CcxtConfig, ccxt_id, redirect_urls
from tradingmcp.server.exchanges.ccxt.errors import ccxt_error
from tradingmcp.server.exchanges.ccxt.exchange import build_exchange
from tradingmcp.server.exchanges.ccxt.streams import BalanceTracker, OrderTracker
from tradingmcp.server.exchanges.errors import (
    ExchangeError,
    ExchangeUnavailable,
    FilterFailure,
    InsufficientBalance,
    InvalidSignature,
    NotSupported,
    RateLimited,
    UnknownOrder,
)
from tradingmcp.server.exchanges.models import ExecutionType, OrderRequest, OrderStatus, OrderType, Side

D = Decimal
MARKET: dict[str, Any] = {
    "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "active": True, "spot": True,
    "precision": {"amount": 1e-05, "price": 0.01},
    "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "price": {"min": 0.01, "max": 1000000.0},
               "cost": {"min": 5.0, "max": 9000000.0}, "market": {"min": 0.0, "max": 128.5}},
}  # fmt: skip


def test_symbol_rules_from_a_tick_size_market_refuse_bad_orders_locally() -> None:
    r = parse.symbol_rules(MARKET, parse.TICK_SIZE, ORDER_TYPES)
    assert (r.symbol, r.tick_size, r.step_size, r.min_qty, r.min_notional) == ("BTCUSDT", D("0.01"), D("0.00001"),
                                                                             D("0.00001"), D(5))  # fmt: skip
    assert (r.market_max_qty, r.max_price, r.is_trading) == (D("128.5"), D(1000000), True)
    good = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.001"), price=D("60000.01"))
    rules.check_order(r, good)
    for bad in (
        OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.0010001"), price=D("60000")),  # step
        OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.001"), price=D("60000.001")),  # tick
        OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.00002"), price=D("60000")),  # notional
    ):
        with pytest.raises(FilterFailure, match="nothing was sent"):
            rules.check_order(r, bad)


def test_symbol_rules_from_a_decimal_places_market_and_an_inactive_one() -> None:
    market = {**MARKET, "active": False, "precision": {"amount": 4, "price": 2}}
    r = parse.symbol_rules(market, parse.DECIMAL_PLACES, ORDER_TYPES)
    assert (r.tick_size, r.step_size, r.is_trading) == (D("0.01"), D("0.0001"), False)


def test_ccxt_errors_map_onto_ours() -> None:
    cases: list[tuple[Exception, type[ExchangeError]]] = [
        (ccxt.OrderNotFound("binance {-2013}"), UnknownOrder),
        (ccxt.InsufficientFunds("binance {-2010}"), InsufficientBalance),
        (ccxt.InvalidOrder("binance {-1013}"), FilterFailure),
        (ccxt.OperationFailed('binance {"code":-1000}'), ExchangeUnavailable),
        (ccxt.RequestTimeout("timed out"), ExchangeUnavailable),
        (ccxt.DDoSProtection("429"), RateLimited),
        (ccxt.AuthenticationError("Signature for this request is not valid."), InvalidSignature),
        (ccxt.NotSupported("no"), NotSupported),
        (ccxt.ExchangeError("other"), ExchangeError),
        (ccxt.ExchangeError('mexc {"code":-2013,"msg":"Order does not exist."}'), UnknownOrder),
    ]
    for exc, ours in cases:
        mapped = ccxt_error(exc, "binance")
        assert type(mapped) is ours and mapped.exchange == "binance" and str(exc) in str(mapped)


def test_redirect_urls_keeps_paths_and_the_shape() -> None:
    urls = {"public": "https://api.x.com/api/v3", "ws": {"spot": "wss://s.x.com:9443/ws"}, "n": 1}
    out = redirect_urls(urls, "http://127.0.0.1:1", "ws://127.0.0.1:2")
    assert out == {"public": "http://127.0.0.1:1/api/v3", "ws": {"spot": "ws://127.0.0.1:2/ws"}, "n": 1}
    assert redirect_urls(urls, None, None) == urls


def test_building_exchanges() -> None:
    binance = build_exchange(CcxtConfig("binance"))
    assert binance.sandbox and not binance.live and "testnet" in str(binance.exchange.urls["api"])
    with pytest.raises(NotSupported, match="REAL funds"):
        build_exchange(CcxtConfig("mexc"))  # no sandbox, not redirected: live needs allow_live
    assert build_exchange(CcxtConfig("mexc", allow_live=True)).live
    with pytest.raises(NotSupported, match="no exchange 'nosuchexchange'"):
        build_exchange(CcxtConfig("nosuchexchange"))
    with pytest.raises(ValueError, match="exchange_id"):
        CcxtConfig("Bad-Id")
    assert ccxt_id("ccxt:OKX") == "okx" and ccxt_id("binance") is None
    with pytest.raises(ValueError, match="ccxt:<id>"):
        ccxt_id("ccxt:a&b")


def _raw(symbol: str, oid: str, filled: float, cost: float, status: str, fee: float | None = None) -> dict[str, Any]:
    return {"id": oid, "symbol": symbol, "side": "buy", "type": "limit", "amount": 0.002, "price": 100.0,
            "filled": filled, "cost": cost, "status": status, "timestamp": 1, "fee": {"cost": fee, "currency": "BTC"}}  # fmt: skip


def test_order_tracker_events_and_fills() -> None:
    tracker = OrderTracker(lambda raw: str(raw["symbol"]).replace("/", ""))
    (new,) = tracker.on_orders([_raw("BTC/USDT", "7", 0, 0, "open")])
    assert new.execution_type is ExecutionType.NEW and new.order.status is OrderStatus.NEW
    (part,) = tracker.on_orders([_raw("BTC/USDT", "7", 0.001, 0.1, "open", 0.000001)])
    assert part.execution_type is ExecutionType.TRADE and part.order.status is OrderStatus.PARTIALLY_FILLED
    assert part.last_fill is not None and (part.last_fill.qty, part.last_fill.price) == (D("0.001"), D(100))
    (other,) = tracker.on_orders([_raw("ETH/USDT", "7", 0, 0, "open")])  # the same id on another symbol is new
    assert other.execution_type is ExecutionType.NEW
    (done,) = tracker.on_orders([_raw("BTC/USDT", "7", 0.002, 0.2, "closed", 0.000002)])
    assert done.order.status is OrderStatus.FILLED and done.last_fill is not None
    assert done.last_fill.qty == D("0.001") and done.last_fill.commission == D("0.000001")
    (gone,) = tracker.on_orders([_raw("ETH/USDT", "7", 0, 0, "canceled")])
    assert gone.execution_type is ExecutionType.CANCELED


def test_fills_from_my_trades_come_once() -> None:
    tracker = OrderTracker(lambda raw: str(raw["symbol"]).replace("/", ""))
    tracker.fills_from_trades = True
    tracker.on_orders([_raw("BTC/USDT", "7", 0, 0, "open")])
    (update,) = tracker.on_orders([_raw("BTC/USDT", "7", 0.001, 0.1, "open")])
    assert update.execution_type is ExecutionType.TRADE and update.last_fill is None  # the fill comes from trades
    trade = {"id": "55", "order": "7", "symbol": "BTC/USDT", "side": "buy", "price": 100.0, "amount": 0.001,
             "cost": 0.1, "fee": {"cost": 0.000001, "currency": "BTC"}, "takerOrMaker": "maker", "timestamp": 2}  # fmt: skip
    (event,) = tracker.on_trades([trade])
    assert event.last_fill is not None and event.last_fill.trade_id == 55 and event.last_fill.is_maker
    assert event.order.order_id == 7 and event.order.executed_qty == D("0.001")
    assert tracker.on_trades([trade]) == []


def test_balance_tracker_reports_changes_only() -> None:
    tracker = BalanceTracker()
    first = tracker.on_balance({"free": {"BTC": 1.0, "USDT": 10.0, "XRP": 0.0}, "used": {"BTC": 0.0, "USDT": 0.0}})
    assert first is not None and {b.asset for b in first.balances} == {"BTC", "USDT"}
    assert tracker.on_balance({"free": {"BTC": 1.0, "USDT": 10.0}, "used": {"BTC": 0.0, "USDT": 0.0}}) is None
    later = tracker.on_balance({"free": {"BTC": 1.0, "USDT": 5.0}, "used": {"BTC": 0.0, "USDT": 5.0}})
    assert later is not None and [(b.asset, b.free, b.locked) for b in later.balances] == [("USDT", D(5), D(5))]
