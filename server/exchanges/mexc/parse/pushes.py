"""MEXC Spot v3 protobuf pushes (market and private) → typed bodies → exchange-neutral events (pure functions, no
I/O). MEXC's streams are protobuf where Binance's are JSON, so they are read here rather than in :mod:`.market` and
:mod:`.account`; re-exported by the ``parse`` package.

Every binary frame is one ``PushDataV3ApiWrapper`` (``channel``=1, oneof ``body`` 301..315, ``symbol``=3,
``symbolId``=4, ``createTime``=5, ``sendTime``=6; times in ms). Schema: ``../proto/tradingmcp_mexc.proto``.
Field semantics: https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams and
#websocket-user-data-streams. ``tradeType`` 1 = the taker bought, 2 = the taker sold.

Bytes in, dataclasses out. (The simulator encodes pushes with its own ``tradingmcp.sim.mexc.encode``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.message import DecodeError

from tradingmcp.server.exchanges.mexc.control import (
    KLINE_INTERVAL_S,
    kline_interval,
    rest_kline_interval,
)
from tradingmcp.server.exchanges.mexc.proto import tradingmcp_mexc_pb2 as pb
from tradingmcp.server.exchanges.models import (
    Balance,
    BalanceEvent,
    BookLevel,
    DepthUpdate,
    ExecutionType,
    Fill,
    Kline,
    Order,
    OrderBookSnapshot,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
    Trade,
)

BUY, SELL = 1, 2
"""``tradeType`` values: 1 = buy (taker bought), 2 = sell (taker sold)."""

# privateOrders.orderType -> (type, timeInForce). 100 = stop-limit (MEXC "stop loss/take profit").
ORDER_TYPES: dict[int, tuple[OrderType, TimeInForce | None]] = {
    1: (OrderType.LIMIT, TimeInForce.GTC),
    2: (OrderType.LIMIT_MAKER, None),
    3: (OrderType.LIMIT, TimeInForce.IOC),
    4: (OrderType.LIMIT, TimeInForce.FOK),
    5: (OrderType.MARKET, None),
    100: (OrderType.STOP_LOSS_LIMIT, TimeInForce.GTC),
}

# privateOrders.status: 1 not traded, 2 fully traded, 3 partially traded, 4 canceled, 5 partially canceled.
ORDER_STATUSES: dict[int, OrderStatus] = {
    1: OrderStatus.NEW,
    2: OrderStatus.FILLED,
    3: OrderStatus.PARTIALLY_FILLED,
    4: OrderStatus.CANCELED,
    5: OrderStatus.CANCELED,
}
_EXECUTION_TYPES: dict[int, ExecutionType] = {
    1: ExecutionType.NEW,
    2: ExecutionType.TRADE,
    3: ExecutionType.TRADE,
    4: ExecutionType.CANCELED,
    5: ExecutionType.CANCELED,
}

NeutralEvent = Trade | DepthUpdate | OrderBookSnapshot | Ticker | Kline | OrderEvent | Fill | BalanceEvent
"""Everything ``to_events`` yields."""


class PushDecodeError(ValueError):
    """A binary frame that is not a valid ``PushDataV3ApiWrapper``."""


@dataclass(frozen=True, slots=True)
class Push:
    """One decoded push.

    Attributes:
        channel: the topic, e.g. ``spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT``.
        symbol: the symbol (None on account pushes).
        kind: the oneof field set (``publicAggreDeals``, ``privateOrders``…), None when empty.
        body: the typed protobuf body message (None when empty).
        send_time_ms: MEXC's send time (0 when absent).
        create_time_ms: MEXC's build time (0 when absent).
        symbol_id: MEXC's internal symbol id (None when absent).
    """

    channel: str
    symbol: str | None
    kind: str | None
    body: Any
    send_time_ms: int = 0
    create_time_ms: int = 0
    symbol_id: str | None = None

    @property
    def time_ms(self) -> int:
        """The best event time available: send time, else create time."""
        return self.send_time_ms or self.create_time_ms


def decode_push(data: bytes | bytearray | memoryview) -> Push:
    """Decode one binary WebSocket frame.

    Raises:
        PushDecodeError: the bytes do not parse as a ``PushDataV3ApiWrapper``.
    """
    wrapper = pb.PushDataV3ApiWrapper()
    try:
        wrapper.ParseFromString(bytes(data))
    except DecodeError as exc:
        raise PushDecodeError(f"not a MEXC push ({len(data)} bytes): {exc}") from exc
    kind = wrapper.WhichOneof("body")
    return Push(
        channel=wrapper.channel,
        symbol=wrapper.symbol if wrapper.HasField("symbol") else None,
        kind=kind,
        body=getattr(wrapper, kind) if kind else None,
        send_time_ms=wrapper.sendTime if wrapper.HasField("sendTime") else 0,
        create_time_ms=wrapper.createTime if wrapper.HasField("createTime") else 0,
        symbol_id=wrapper.symbolId if wrapper.HasField("symbolId") else None,
    )


# ---------------------------------------------------------------------------------------------- to neutral models


def _dec(value: str) -> Decimal:
    if not value:
        return Decimal(0)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise PushDecodeError(f"not a decimal: {value!r}") from None


def wire_id(value: str) -> int | str:
    """A MEXC id as the neutral models hold it: numeric strings as int, other strings unchanged, "" as -1."""
    if not value:
        return -1
    return int(value) if value.isdigit() else value


def _levels(items: Iterable[Any], reverse: bool) -> tuple[BookLevel, ...]:
    levels = [BookLevel(_dec(i.price), _dec(i.quantity)) for i in items]
    levels.sort(key=lambda lv: lv.price, reverse=reverse)
    return tuple(levels)


def _symbol(push: Push) -> str:
    if push.symbol:
        return push.symbol
    return push.channel.rsplit("@", 1)[-1] if "@" in push.channel else ""


def _trades(push: Push) -> list[NeutralEvent]:
    sym = _symbol(push)
    aggregate = push.kind == "publicAggreDeals"
    out: list[NeutralEvent] = []
    for d in push.body.deals:
        trade_id = wire_id(d.tradeId) if aggregate else -1
        out.append(
            Trade(
                symbol=sym,
                trade_id=trade_id,
                price=_dec(d.price),
                qty=_dec(d.quantity),
                time_ms=d.time,
                is_buyer_maker=d.tradeType == SELL,
            )
        )
    return out


def _ticker(sym: str, body: Any, time_ms: int, version: str = "") -> Ticker:
    return Ticker(
        symbol=sym,
        price=Decimal(0),
        bid=_dec(body.bidPrice),
        bid_qty=_dec(body.bidQuantity),
        ask=_dec(body.askPrice),
        ask_qty=_dec(body.askQuantity),
        time_ms=time_ms,
        update_id=int(version) if version.isdigit() else None,
    )


def _kline(sym: str, k: Any) -> Kline:
    interval = kline_interval(k.interval) if k.interval else "Min1"
    end_s = k.windowEnd or (k.windowStart + KLINE_INTERVAL_S.get(interval, 0))
    return Kline(
        symbol=sym,
        interval=rest_kline_interval(interval),
        open_time_ms=k.windowStart * 1000,
        close_time_ms=end_s * 1000 - 1,
        open=_dec(k.openingPrice),
        high=_dec(k.highestPrice),
        low=_dec(k.lowestPrice),
        close=_dec(k.closingPrice),
        volume=_dec(k.volume),
        quote_volume=_dec(k.amount),
        trades=0,
        closed=False,
    )


def private_order(push: Push) -> OrderEvent:
    """A ``privateOrders`` push → ``OrderEvent`` (no ``last_fill``: MEXC sends fills as separate deals pushes).

    ``orig_qty`` is ``quantity`` (0 for a market buy by quote amount, whose size is ``amount``), ``executed_qty`` is
    ``cumulativeQuantity``, ``cumulative_quote_qty`` is ``cumulativeAmount``. Status 5 (partially canceled) maps to
    CANCELED with ``executed_qty`` > 0.
    """
    o = push.body
    otype, tif = ORDER_TYPES.get(o.orderType, (OrderType.LIMIT, TimeInForce.GTC))
    status = ORDER_STATUSES.get(o.status, OrderStatus.NEW)
    order = Order(
        order_id=o.id,
        client_order_id=o.clientId,
        symbol=_symbol(push),
        side=Side.BUY if o.tradeType == BUY else Side.SELL,
        type=otype,
        time_in_force=tif,
        price=_dec(o.price),
        stop_price=_dec(o.triggerPrice) if o.HasField("triggerPrice") else Decimal(0),
        orig_qty=_dec(o.quantity),
        executed_qty=_dec(o.cumulativeQuantity),
        cumulative_quote_qty=_dec(o.cumulativeAmount),
        status=status,
        time_ms=o.createTime,
        update_time_ms=push.time_ms or o.createTime,
    )
    return OrderEvent(
        order=order, execution_type=_EXECUTION_TYPES.get(o.status, ExecutionType.NEW), event_time_ms=push.time_ms
    )


def private_deal(push: Push) -> Fill:
    """A ``privateDeals`` push → ``Fill`` (MEXC's string ids kept; numeric ones as int, see ``wire_id``)."""
    d = push.body
    return Fill(
        symbol=_symbol(push),
        trade_id=wire_id(d.tradeId),
        order_id=d.orderId,
        price=_dec(d.price),
        qty=_dec(d.quantity),
        quote_qty=_dec(d.amount),
        commission=_dec(d.feeAmount),
        commission_asset=d.feeCurrency,
        is_maker=d.isMaker,
        time_ms=d.time,
        is_buyer=d.tradeType == BUY,
    )


def private_account(push: Push) -> BalanceEvent:
    """A ``privateAccount`` push → ``BalanceEvent`` with the asset's new free/locked and the free-balance change."""
    a = push.body
    return BalanceEvent(
        event_time_ms=a.time or push.time_ms,
        balances=(Balance(a.vcoinName, _dec(a.balanceAmount), _dec(a.frozenAmount)),),
        delta_asset=a.vcoinName,
        delta=_dec(a.balanceAmountChange),
    )


def to_events(push: Push) -> list[NeutralEvent]:
    """Exchange-neutral events for one push.

    Mapping: aggre deals / deals → ``Trade`` (``is_buyer_maker`` = tradeType 2); aggre depth → ``DepthUpdate``
    (``first_update_id``/``final_update_id`` = fromVersion/toVersion); increase depth (+batch) → ``DepthUpdate`` with
    first = final = version; limit depth → ``OrderBookSnapshot`` (``last_update_id`` = version); book tickers →
    ``Ticker`` (price 0, ``update_id`` = version when sent); kline → ``Kline`` (REST interval spelling, ``closed``
    False: MEXC pushes the open candle every second); private orders/deals/account → ``OrderEvent``/``Fill``/
    ``BalanceEvent``. Mini tickers yield nothing (no neutral model fits them).
    """
    kind, body, t = push.kind, push.body, push.time_ms
    if kind is None:
        return []
    sym = _symbol(push)
    if kind in ("publicAggreDeals", "publicDeals"):
        return _trades(push)
    if kind == "publicAggreDepths":
        return [
            DepthUpdate(
                symbol=sym,
                first_update_id=int(body.fromVersion or 0),
                final_update_id=int(body.toVersion or 0),
                bids=_levels(body.bids, reverse=True),
                asks=_levels(body.asks, reverse=False),
                time_ms=t,
            )
        ]
    if kind in ("publicIncreaseDepths", "publicIncreaseDepthsBatch"):
        items = [body] if kind == "publicIncreaseDepths" else list(body.items)
        return [
            DepthUpdate(sym, int(i.version or 0), int(i.version or 0), _levels(i.bids, True), _levels(i.asks, False), t)
            for i in items
        ]
    if kind == "publicLimitDepths":
        return [OrderBookSnapshot(sym, int(body.version or 0), _levels(body.bids, True), _levels(body.asks, False), t)]
    if kind == "publicAggreBookTicker":
        return [_ticker(sym, body, t, body.version)]
    if kind == "publicBookTicker":
        return [_ticker(sym, body, t)]
    if kind == "publicBookTickerBatch":
        return [_ticker(sym, item, t, body.version) for item in body.items]
    if kind == "publicSpotKline":
        return [_kline(sym, body)]
    if kind == "privateOrders":
        return [private_order(push)]
    if kind == "privateDeals":
        return [private_deal(push)]
    if kind == "privateAccount":
        return [private_account(push)]
    return []
