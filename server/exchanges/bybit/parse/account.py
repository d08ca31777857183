"""Bybit V5 orders, fills and balances → exchange-neutral models (pure functions): REST rows and private pushes.

Shapes: https://bybit-exchange.github.io/docs/v5/order/open-order (order rows, also the ``order`` topic's data),
/v5/order/execution (``execution/list`` rows, also the ``execution`` topic's), /v5/account/wallet-balance (and the
``wallet`` topic). Enums: /v5/enum (``orderStatus``, ``timeInForce``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import (
    Balance,
    ExecutionType,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tradingmcp.server.exchanges.wire import ZERO, dec

Json = Mapping[str, Any]

STATUSES = {
    "New": OrderStatus.NEW, "PartiallyFilled": OrderStatus.PARTIALLY_FILLED, "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED, "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED, "Untriggered": OrderStatus.NEW, "Triggered": OrderStatus.NEW,
    "Deactivated": OrderStatus.CANCELED,
}  # fmt: skip
"""Bybit ``orderStatus`` → neutral status."""
EXECUTION_TYPES = {OrderStatus.NEW: ExecutionType.NEW, OrderStatus.CANCELED: ExecutionType.CANCELED,
                   OrderStatus.REJECTED: ExecutionType.REJECTED}  # fmt: skip


def _side(raw: Any) -> Side:
    return Side.BUY if str(raw) == "Buy" else Side.SELL


def _ms(raw: Any) -> int:
    text = str(raw or "0")
    return int(text) if text.isdigit() else 0


def order(row: Json) -> Order:
    """An order row (REST ``realtime``/``history`` or the ``order`` push) → Order.

    ``Limit`` + ``PostOnly`` → LIMIT_MAKER; a market order's ``qty`` in the quote coin (``marketUnit=quoteCoin``)
    leaves ``orig_qty`` 0 (the base quantity is not known until it fills).
    """
    market = row.get("orderType") == "Market"
    tif_raw = str(row.get("timeInForce") or "GTC")
    kind = OrderType.MARKET if market else OrderType.LIMIT_MAKER if tif_raw == "PostOnly" else OrderType.LIMIT
    tif = None if kind is not OrderType.LIMIT else TimeInForce(tif_raw) if tif_raw in ("GTC", "IOC", "FOK") else None
    quote_unit = market and row.get("marketUnit") == "quoteCoin"
    return Order(
        order_id=str(row["orderId"]),
        client_order_id=str(row.get("orderLinkId") or ""),
        symbol=str(row["symbol"]),
        side=_side(row.get("side")),
        type=kind,
        time_in_force=tif,
        price=ZERO if market else dec(row.get("price")),
        stop_price=ZERO,
        orig_qty=ZERO if quote_unit else dec(row.get("qty")),
        executed_qty=dec(row.get("cumExecQty")),
        cumulative_quote_qty=dec(row.get("cumExecValue")),
        status=STATUSES.get(str(row.get("orderStatus")), OrderStatus.NEW),
        time_ms=_ms(row.get("createdTime")),
        update_time_ms=_ms(row.get("updatedTime")),
    )


def fill(row: Json) -> Fill:
    """An execution row (REST ``execution/list`` or the ``execution`` push) → Fill."""
    return Fill(
        symbol=str(row["symbol"]),
        trade_id=str(row.get("execId") or -1),
        order_id=str(row["orderId"]),
        price=dec(row.get("execPrice")),
        qty=dec(row.get("execQty")),
        quote_qty=dec(row.get("execValue")),
        commission=dec(row.get("execFee")),
        commission_asset=str(row.get("feeCurrency") or ""),
        is_maker=bool(row.get("isMaker")),
        time_ms=_ms(row.get("execTime")),
        is_buyer=str(row.get("side")) == "Buy",
    )


def with_fee_asset(f: Fill, base: str, quote: str) -> Fill:
    """``f`` with its commission asset filled in when the row had no ``feeCurrency``: Bybit spot charges a buy's fee in
    the base coin and a sell's in the quote coin (a rebate, a negative fee, is paid in the other one)."""
    if f.commission_asset:
        return f
    buy = bool(f.is_buyer)
    in_base = buy if f.commission > 0 else not buy
    return dataclasses.replace(f, commission_asset=base if in_base else quote)


def balances(result: Json | Sequence[Json], non_zero: bool = True) -> list[Balance]:
    """``/v5/account/wallet-balance`` result (or a ``wallet`` push's data list) → balances: ``free`` =
    ``walletBalance - locked``."""
    rows = result.get("list", ()) if isinstance(result, Mapping) else result
    out: list[Balance] = []
    for account in rows:
        for c in account.get("coin", ()):
            total, locked = dec(c.get("walletBalance")), dec(c.get("locked"))
            out.append(Balance(str(c["coin"]), max(total - locked, Decimal(0)), locked))
    return [b for b in out if b.total > 0] if non_zero else out
