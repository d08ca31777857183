"""Every ``encode_*`` push of the simulator decodes back through the adapter's ``parse`` to the same values, in MEXC's
wire shapes (the simulator's encoder and the adapter's decoder are separate code, so each checks the other)."""

from __future__ import annotations

from decimal import Decimal

from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.mexc.parse import pushes
from tradingmcp.server.exchanges.models import (
    BalanceEvent,
    DepthUpdate,
    ExecutionType,
    Fill,
    Kline,
    OrderBookSnapshot,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
    Trade,
)
from tradingmcp.sim.mexc import encode

T = 1_723_161_253_900  # 2024-08-08T23:54:13.9Z, the start of the Binance recordings, ms


def test_aggre_deals_round_trip() -> None:
    trades = [
        Trade("BTCUSDT", 3_727_000_001, Decimal("61600.01"), Decimal("0.00123"), T, is_buyer_maker=True),
        Trade("BTCUSDT", 3_727_000_002, Decimal("61600.02"), Decimal("0.5"), T + 1, is_buyer_maker=False),
    ]
    push = parse.decode_push(encode.encode_aggre_deals("BTCUSDT", trades, send_time_ms=T + 5))
    assert push.channel == "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"
    assert push.kind == "publicAggreDeals" and push.symbol == "BTCUSDT" and push.send_time_ms == T + 5
    assert push.body.eventType == "spot@public.aggre.deals.v3.api.pb@100ms"
    assert [d.tradeType for d in push.body.deals] == [2, 1]
    assert parse.to_events(push) == trades


def test_aggre_depth_round_trip_10ms() -> None:
    data = encode.encode_aggre_depth(
        "ETHUSDT",
        bids=[("2680.10", "1.5"), ("2680.20", "0")],
        asks=[(Decimal("2680.30"), Decimal("2.25"))],
        from_version=101,
        to_version=105,
        send_time_ms=T,
        interval="10ms",
    )
    push = parse.decode_push(data)
    assert push.channel == "spot@public.aggre.depth.v3.api.pb@10ms@ETHUSDT"
    assert (push.body.fromVersion, push.body.toVersion) == ("101", "105")
    (ev,) = parse.to_events(push)
    assert isinstance(ev, DepthUpdate)
    assert (ev.first_update_id, ev.final_update_id, ev.time_ms) == (101, 105, T)
    assert [(lv.price, lv.qty) for lv in ev.bids] == [(Decimal("2680.20"), 0), (Decimal("2680.10"), Decimal("1.5"))]
    assert ev.asks[0].qty == Decimal("2.25")


def test_limit_depth_and_book_ticker_and_kline() -> None:
    (snap,) = parse.to_events(
        parse.decode_push(
            encode.encode_limit_depth(
                "BTCUSDT", bids=[("1", "2")], asks=[("3", "4")], version=77, levels=5, send_time_ms=T
            )
        )
    )
    assert isinstance(snap, OrderBookSnapshot) and snap.last_update_id == 77 and snap.asks[0].price == 3
    push = parse.decode_push(
        encode.encode_aggre_book_ticker(
            "BTCUSDT", bid="61600.00", bid_qty="1.2", ask="61600.01", ask_qty="0.3", version=9, send_time_ms=T
        )
    )
    assert push.channel == "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"
    assert parse.to_events(push) == [
        Ticker("BTCUSDT", Decimal(0), Decimal("61600.00"), Decimal("1.2"), Decimal("61600.01"), Decimal("0.3"), T, 9)
    ]
    push = parse.decode_push(
        encode.encode_kline(
            "BTCUSDT",
            interval="1m",
            window_start_s=1_723_161_240,
            open="61600",
            high="61650.5",
            low="61590",
            close="61620.1",
            volume="12.5",
            amount="770000",
            send_time_ms=T,
        )
    )
    assert push.channel == "spot@public.kline.v3.api.pb@BTCUSDT@Min1"
    assert push.body.windowEnd == 1_723_161_300
    (k,) = parse.to_events(push)
    assert isinstance(k, Kline)
    assert (k.interval, k.open_time_ms, k.close_time_ms) == ("1m", 1_723_161_240_000, 1_723_161_299_999)
    assert (k.high, k.quote_volume, k.closed) == (Decimal("61650.5"), Decimal(770000), False)


def test_private_order_deal_account_round_trip() -> None:
    push = parse.decode_push(
        encode.encode_private_order(
            "MXUSDT",
            order_id="C02__505979017439002624115",
            client_order_id="tmcp-1",
            price="3.5121",
            quantity="2",
            amount="7.0242",
            avg_price="3.6962",
            order_type=3,
            trade_type=2,
            status=3,
            cumulative_quantity="1",
            cumulative_amount="3.6962",
            remain_quantity="1",
            remain_amount="3.5121",
            last_deal_quantity="1",
            create_time_ms=T,
            send_time_ms=T + 20,
        )
    )
    assert push.channel == "spot@private.orders.v3.api.pb" and push.symbol == "MXUSDT"
    (ev,) = parse.to_events(push)
    assert isinstance(ev, OrderEvent)
    o = ev.order
    assert (o.order_id, o.client_order_id, o.side, o.type, o.time_in_force) == (
        "C02__505979017439002624115",
        "tmcp-1",
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.IOC,
    )
    assert (o.status, ev.execution_type, o.executed_qty, o.avg_price) == (
        OrderStatus.PARTIALLY_FILLED,
        ExecutionType.TRADE,
        Decimal(1),
        Decimal("3.6962"),
    )
    assert (o.time_ms, o.update_time_ms, ev.event_time_ms) == (T, T + 20, T + 20)

    push = parse.decode_push(
        encode.encode_private_deal(
            "MXUSDT",
            price="3.6962",
            quantity="1",
            amount="3.6962",
            trade_type=2,
            is_maker=False,
            trade_id="505979017439002624",
            order_id="C02__505979017439002624115",
            client_order_id="tmcp-1",
            fee_amount="0.0003998377369698171",
            fee_currency="MX",
            time_ms=T,
            send_time_ms=T + 1,
        )
    )
    (fill,) = parse.to_events(push)
    assert isinstance(fill, Fill)
    assert (fill.trade_id, fill.order_id, fill.is_buyer, fill.commission_asset) == (
        505979017439002624,
        "C02__505979017439002624115",
        False,
        "MX",
    )
    assert fill.commission == Decimal("0.0003998377369698171") and fill.quote_qty == Decimal("3.6962")

    push = parse.decode_push(
        encode.encode_private_account(
            asset="USDT",
            balance="21.94210356004384",
            balance_change="10",
            frozen="0",
            frozen_change="0",
            change_type="CONTRACT_TRANSFER",
            time_ms=T,
            send_time_ms=T + 2,
        )
    )
    assert push.symbol is None and push.channel == "spot@private.account.v3.api.pb"
    (bal,) = parse.to_events(push)
    assert isinstance(bal, BalanceEvent)
    assert bal.balances[0].free == Decimal("21.94210356004384") and bal.delta == 10 and bal.delta_asset == "USDT"


def test_order_type_and_status_codes_cover_mexc_tables() -> None:
    assert pushes.ORDER_TYPES[encode_code("MARKET")][0] is OrderType.MARKET
    assert pushes.ORDER_TYPES[encode_code("LIMIT_MAKER")][0] is OrderType.LIMIT_MAKER
    assert pushes.ORDER_TYPES[encode_code("FILL_OR_KILL")] == (OrderType.LIMIT, TimeInForce.FOK)
    assert pushes.ORDER_STATUSES[5] is OrderStatus.CANCELED  # partially canceled


def encode_code(name: str) -> int:
    return encode.ORDER_TYPE_CODES[name]
