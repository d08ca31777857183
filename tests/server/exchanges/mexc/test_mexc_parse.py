"""Real MEXC REST bodies parse into the exchange-neutral models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges import wire
from tradingmcp.server.exchanges.errors import FilterFailure
from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.models import OrderStatus, OrderType, Side, TimeInForce


def test_symbol_rules_from_ccxt_entries(symbol_entries: list[dict[str, Any]]) -> None:
    rules = parse.exchange_info({"symbols": symbol_entries})
    assert set(rules) == {"BTCUSDT", "LTCUSDT", "ADAUSDT", "XRPUSDT", "SOLUSDT", "TRXUSDT"}
    btc = rules["BTCUSDT"]
    assert (btc.base_asset, btc.quote_asset, btc.status, btc.is_trading) == ("BTC", "USDT", "1", True)
    assert btc.tick_size == Decimal("0.01")  # quotePrecision 2
    assert btc.step_size == Decimal("0.000001")  # baseAssetPrecision 6
    assert btc.min_qty == Decimal("0.000001")  # baseSizePrecision
    assert btc.min_notional == Decimal(1)  # quoteAmountPrecision
    assert btc.max_notional == Decimal(2_000_000)  # maxQuoteAmount
    assert (btc.market_min_notional, btc.market_max_notional) == (Decimal(1), Decimal(200_000))  # *Market
    assert btc.order_types == {OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER}
    assert (btc.base_precision, btc.quote_precision, btc.max_qty) == (6, 2, 0)
    ltc = rules["LTCUSDT"]
    assert (ltc.step_size, ltc.min_qty) == (Decimal("0.0001"), Decimal("0.001"))
    trx = rules["TRXUSDT"]
    assert (trx.tick_size, trx.min_qty) == (Decimal("0.0001"), Decimal(1))


def test_symbol_rules_from_real_exchange_info(misc_samples: dict[str, Any]) -> None:
    body = misc_samples["rest.GET /api/v3/exchangeInfo (1 symbol)"]
    (rules,) = parse.exchange_info(body).values()
    assert rules.symbol == "BROCKUSDT" and rules.tick_size == Decimal("0.00001") and rules.step_size == Decimal("0.01")
    assert rules.min_notional == 1 and rules.max_notional == 2_000_000 and rules.min_qty == 0


def test_market_data_bodies(rest_bodies: dict[str, Any], misc_samples: dict[str, Any]) -> None:
    book = parse.depth("BTCUSDT", rest_bodies["GET /api/v3/depth?symbol=BTCUSDT&limit=1"])
    assert (book.last_update_id, book.time_ms) == (20453289489, 1704908526228)
    assert book.bids[0].price == Decimal("45995.47") and book.asks[0].qty == Decimal("13.457322")

    (agg,) = [
        parse.agg_trade("BTCUSDT", r)
        for r in rest_bodies["GET /api/v3/aggTrades?symbol=BTCUSDT&limit=1 (ccxt fetchTrades)"]
    ]
    assert (agg.trade_id, agg.price, agg.qty, agg.time_ms, agg.is_buyer_maker, agg.is_aggregate) == (
        -1, Decimal("73238.7"), Decimal("0.000112"), 1710327661000, False, True
    )  # fmt: skip
    assert agg.first_trade_id is None

    stats = parse.stats_24h(rest_bodies["GET /api/v3/ticker/24hr?symbol=BTCUSDT"])
    assert stats.last_price == Decimal("73397.77") and stats.price_change_percent == Decimal("1.73")
    assert stats.count == 0 and stats.weighted_avg_price > 0
    assert stats.weighted_avg_price == Decimal("554877037.44") / Decimal("7729.258925")

    (kline,) = [
        parse.rest_kline("BTCUSDT", "60m", row)
        for row in rest_bodies["GET /api/v3/klines?symbol=BTCUSDT&interval=60m&limit=1"]
    ]
    assert (kline.open_time_ms, kline.close_time_ms, kline.open, kline.close) == (
        1710327600000, 1710331200000, Decimal("73260.0"), Decimal("73414.21")
    )  # fmt: skip
    assert kline.quote_volume == Decimal("3633995.45") and kline.trades == 0

    trades = parse.rest_trades("ETHUSDT", misc_samples["rest.GET /api/v3/trades?symbol=ETHUSDT"])
    assert [t.time_ms for t in trades] == [1737623988876, 1737623988881]  # oldest first
    assert [t.is_buyer_maker for t in trades] == [True, False] and trades[0].trade_id == -1


def test_orders_fills_balances(rest_bodies: dict[str, Any]) -> None:
    (o,) = [parse.order(r) for r in rest_bodies["GET /api/v3/allOrders (ATLASUSDT, private)"]]
    assert (o.order_id, o.client_order_id, o.symbol, o.side, o.type) == (
        "C02__385413065019117569043", "", "ATLASUSDT", Side.SELL, OrderType.MARKET
    )  # fmt: skip
    assert (o.status, o.executed_qty, o.cumulative_quote_qty, o.order_list_id) == (
        OrderStatus.FILLED, Decimal(1220), Decimal("5.54124"), -1
    )  # fmt: skip
    assert o.avg_price == Decimal("5.54124") / 1220 and o.time_ms == 1707671871000

    (fill,) = [parse.my_trade(r) for r in rest_bodies["GET /api/v3/myTrades (ATLASUSDT, private)"]]
    assert (fill.symbol, fill.price, fill.qty, fill.quote_qty, fill.commission_asset) == (
        "ATLASUSDT", Decimal("0.004542"), Decimal(1220), Decimal("5.54124"), "USDT"
    )  # fmt: skip
    assert (fill.is_buyer, fill.is_maker, fill.time_ms) == (False, False, 1707671871000)
    assert (fill.trade_id, fill.order_id) == ("dd44f79dda764c2e927a190ac5e7a1e5", "C02__385413065019117569043")

    placed = parse.order(
        {"symbol": "MXUSDT", "orderId": "06a480e69e604477bfb48dddd5f0b750", "orderListId": -1, "price": "0.1",
         "origQty": "50", "type": "IMMEDIATE_OR_CANCEL", "side": "BUY", "transactTime": 1666676533741}
    )  # fmt: skip
    assert (placed.status, placed.type, placed.time_in_force, placed.time_ms) == (
        OrderStatus.NEW, OrderType.LIMIT, TimeInForce.IOC, 1666676533741
    )  # fmt: skip
    account = {"balances": [{"asset": "MX", "free": "3", "locked": "1"}, {"asset": "X", "free": "0", "locked": "0"}]}
    assert [b.asset for b in wire.balances(account)] == ["MX"]
    assert len(wire.balances(account, non_zero=False)) == 2


def test_batch_answer_mixes_orders_and_errors() -> None:
    rows = [
        {"symbol": "BTCUSDT", "orderId": "1196315350023612316", "newClientOrderId": "hio8279hbdsds", "orderListId": -1},
        {
            "newClientOrderId": "123456",
            "msg": "The minimum transaction volume cannot be less than:0.5USDT",
            "code": 30002,
        },
    ]
    ok, failed = parse.batch_orders(rows)
    assert not isinstance(ok, Exception) and ok.client_order_id == "hio8279hbdsds"
    assert isinstance(failed, FilterFailure) and failed.code == 30002
