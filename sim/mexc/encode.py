"""The simulator's encoder of MEXC Spot v3 protobuf pushes (the MEXC face's frames; tests use it as MEXC's side).

Each ``encode_*`` returns the bytes of one ``PushDataV3ApiWrapper`` binary frame exactly as MEXC would send it on the
topic named in its docstring (channel = topic, ``symbol``, ``sendTime`` in ms, body ``eventType`` as MEXC sets it).
Numbers are given as the exchange's decimal strings (or Decimal/int, formatted with ``str``). Field meanings follow
https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams and #websocket-user-data-streams; the
message classes are the shared wire schema (:mod:`tradingmcp.sim.mexc.proto`), the topic names the face's own
(:mod:`tradingmcp.sim.mexc.topics`). The adapter's decoder is not used here, so a round trip through it tests it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import Trade
from tradingmcp.sim.mexc import topics
from tradingmcp.sim.mexc.proto import tradingmcp_mexc_pb2 as pb

Num = str | Decimal | int
"""A wire number: the exchange's decimal string, or a Decimal/int formatted with ``str``."""

BUY, SELL = 1, 2
"""``tradeType``: 1 = buy (the taker bought; our order bought, on private pushes), 2 = sell."""

ORDER_TYPE_CODES: dict[str, int] = {
    "LIMIT": 1,
    "LIMIT_MAKER": 2,
    "IMMEDIATE_OR_CANCEL": 3,
    "FILL_OR_KILL": 4,
    "MARKET": 5,
}
"""MEXC REST order type → ``privateOrders.orderType`` (100 is a stop-limit order, which the face does not offer)."""


def _wrapper(channel: str, symbol: str | None, send_time_ms: int, create_time_ms: int | None) -> Any:
    w = pb.PushDataV3ApiWrapper(channel=channel, sendTime=send_time_ms)
    if symbol is not None:
        w.symbol = symbol
    if create_time_ms is not None:
        w.createTime = create_time_ms
    return w


def _fill_levels(target: Any, levels: Iterable[tuple[Num, Num]]) -> None:
    for price, qty in levels:
        target.add(price=str(price), quantity=str(qty))


def encode_aggre_deals(
    symbol: str, trades: Sequence[Trade], *, send_time_ms: int, interval: str = "100ms", with_trade_id: bool = True
) -> bytes:
    """``spot@public.aggre.deals.v3.api.pb@<interval>@<SYMBOL>`` push of ``trades``.

    ``tradeType`` is 2 (sell) when ``is_buyer_maker`` else 1; ``tradeId`` (2026-06 field) is the trade id when
    ``with_trade_id`` and the id is known (not -1).
    """
    topic = topics.aggre_deals(symbol, interval)
    w = _wrapper(topic, symbol, send_time_ms, None)
    body = w.publicAggreDeals
    body.eventType = topics.event_type(topic)
    for tr in trades:
        item = body.deals.add(
            price=str(tr.price), quantity=str(tr.qty), tradeType=SELL if tr.is_buyer_maker else BUY, time=tr.time_ms
        )
        if with_trade_id and tr.trade_id not in (-1, ""):
            item.tradeId = str(tr.trade_id)
    return bytes(w.SerializeToString())


def encode_aggre_depth(
    symbol: str,
    *,
    bids: Iterable[tuple[Num, Num]],
    asks: Iterable[tuple[Num, Num]],
    from_version: int,
    to_version: int,
    send_time_ms: int,
    interval: str = "100ms",
    last_order_create_time_ms: int = 0,
) -> bytes:
    """``spot@public.aggre.depth.v3.api.pb@<interval>@<SYMBOL>`` diff: absolute quantities, 0 removes a level."""
    topic = topics.aggre_depth(symbol, interval)
    w = _wrapper(topic, symbol, send_time_ms, None)
    body = w.publicAggreDepths
    _fill_levels(body.bids, bids)
    _fill_levels(body.asks, asks)
    body.eventType = topics.event_type(topic)
    body.fromVersion = str(from_version)
    body.toVersion = str(to_version)
    if last_order_create_time_ms:
        body.lastOrderCreateTime = last_order_create_time_ms
    return bytes(w.SerializeToString())


def encode_limit_depth(
    symbol: str,
    *,
    bids: Iterable[tuple[Num, Num]],
    asks: Iterable[tuple[Num, Num]],
    version: int,
    levels: int,
    send_time_ms: int,
) -> bytes:
    """``spot@public.limit.depth.v3.api.pb@<SYMBOL>@<5|10|20>`` partial-book snapshot (best first)."""
    topic = topics.limit_depth(symbol, levels)
    w = _wrapper(topic, symbol, send_time_ms, None)
    body = w.publicLimitDepths
    _fill_levels(body.bids, bids)
    _fill_levels(body.asks, asks)
    body.eventType = topics.event_type(topic)
    body.version = str(version)
    return bytes(w.SerializeToString())


def encode_aggre_book_ticker(
    symbol: str,
    *,
    bid: Num,
    bid_qty: Num,
    ask: Num,
    ask_qty: Num,
    send_time_ms: int,
    version: int | None = None,
    interval: str = "100ms",
) -> bytes:
    """``spot@public.aggre.bookTicker.v3.api.pb@<interval>@<SYMBOL>`` best bid/ask."""
    w = _wrapper(topics.aggre_book_ticker(symbol, interval), symbol, send_time_ms, None)
    body = w.publicAggreBookTicker
    body.bidPrice, body.bidQuantity = str(bid), str(bid_qty)
    body.askPrice, body.askQuantity = str(ask), str(ask_qty)
    if version is not None:
        body.version = str(version)
    return bytes(w.SerializeToString())


def encode_kline(
    symbol: str,
    *,
    interval: str,
    window_start_s: int,
    open: Num,
    high: Num,
    low: Num,
    close: Num,
    volume: Num,
    amount: Num,
    send_time_ms: int,
    window_end_s: int | None = None,
) -> bytes:
    """``spot@public.kline.v3.api.pb@<SYMBOL>@<Min1…>`` candle update (times in SECONDS, as MEXC sends them).

    ``interval`` may be MEXC's (``Min1``) or Binance's (``1m``) spelling; ``window_end_s`` defaults to start +
    interval length. ``volume`` is base asset, ``amount`` quote asset.
    """
    mexc_interval = topics.kline_interval(interval)
    w = _wrapper(topics.kline(symbol, mexc_interval), symbol, send_time_ms, send_time_ms)
    k = w.publicSpotKline
    k.interval = mexc_interval
    k.windowStart = window_start_s
    k.windowEnd = window_end_s if window_end_s is not None else window_start_s + topics.KLINE_SECONDS[mexc_interval]
    k.openingPrice, k.closingPrice = str(open), str(close)
    k.highestPrice, k.lowestPrice = str(high), str(low)
    k.volume, k.amount = str(volume), str(amount)
    return bytes(w.SerializeToString())


def encode_private_order(
    symbol: str,
    *,
    order_id: str,
    client_order_id: str,
    price: Num,
    quantity: Num,
    amount: Num,
    avg_price: Num,
    order_type: int,
    trade_type: int,
    status: int,
    cumulative_quantity: Num,
    cumulative_amount: Num,
    remain_quantity: Num,
    remain_amount: Num,
    create_time_ms: int,
    send_time_ms: int,
    is_maker: bool = False,
    last_deal_quantity: Num | None = None,
) -> bytes:
    """``spot@private.orders.v3.api.pb`` order update.

    Codes: ``order_type`` 1 LIMIT, 2 LIMIT_MAKER, 3 IOC, 4 FOK, 5 MARKET (see ``ORDER_TYPE_CODES``);
    ``trade_type`` 1 buy / 2 sell; ``status`` 1 new, 2 filled, 3 partially filled, 4 canceled, 5 partially canceled.
    """
    w = _wrapper(topics.PRIVATE_ORDERS, symbol, send_time_ms, None)
    o = w.privateOrders
    o.id, o.clientId = order_id, client_order_id
    o.price, o.quantity, o.amount, o.avgPrice = str(price), str(quantity), str(amount), str(avg_price)
    o.orderType, o.tradeType, o.isMaker, o.status = order_type, trade_type, is_maker, status
    o.remainAmount, o.remainQuantity = str(remain_amount), str(remain_quantity)
    o.cumulativeQuantity, o.cumulativeAmount = str(cumulative_quantity), str(cumulative_amount)
    if last_deal_quantity is not None:
        o.lastDealQuantity = str(last_deal_quantity)
    o.createTime = create_time_ms
    return bytes(w.SerializeToString())


def encode_private_deal(
    symbol: str,
    *,
    price: Num,
    quantity: Num,
    amount: Num,
    trade_type: int,
    is_maker: bool,
    trade_id: str,
    order_id: str,
    client_order_id: str,
    fee_amount: Num,
    fee_currency: str,
    time_ms: int,
    send_time_ms: int,
    is_self_trade: bool = False,
) -> bytes:
    """``spot@private.deals.v3.api.pb`` one fill of one of our orders (``amount`` = price × quantity, quote)."""
    w = _wrapper(topics.PRIVATE_DEALS, symbol, send_time_ms, None)
    d = w.privateDeals
    d.price, d.quantity, d.amount = str(price), str(quantity), str(amount)
    d.tradeType, d.isMaker, d.isSelfTrade = trade_type, is_maker, is_self_trade
    d.tradeId, d.orderId, d.clientOrderId = trade_id, order_id, client_order_id
    d.feeAmount, d.feeCurrency, d.time = str(fee_amount), fee_currency, time_ms
    return bytes(w.SerializeToString())


def encode_private_account(
    *,
    asset: str,
    balance: Num,
    balance_change: Num,
    frozen: Num,
    frozen_change: Num,
    change_type: str,
    time_ms: int,
    send_time_ms: int,
    coin_id: str = "",
) -> bytes:
    """``spot@private.account.v3.api.pb`` balance change of one asset (``balance`` = free, ``frozen`` = locked).

    ``change_type`` is MEXC's: ENTRUST (deal), ENTRUST_PLACE, ENTRUST_CANCEL, TRADE_FEE, DEPOSIT, WITHDRAW….
    """
    w = _wrapper(topics.PRIVATE_ACCOUNT, None, send_time_ms, send_time_ms)
    a = w.privateAccount
    a.vcoinName, a.coinId = asset, coin_id
    a.balanceAmount, a.balanceAmountChange = str(balance), str(balance_change)
    a.frozenAmount, a.frozenAmountChange = str(frozen), str(frozen_change)
    a.type, a.time = change_type, time_ms
    return bytes(w.SerializeToString())
