"""Read-only account endpoints: ``GET /api/v3/account``, ``allOrders``, ``myTrades`` (selection rules as Binance's).

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from tradingmcp.sim import render
from tradingmcp.sim.errors import more_than_hours
from tradingmcp.sim.params import Params
from tradingmcp.sim.state import Account, Order, Trade

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_DAY_MS = 24 * 3_600_000
T = TypeVar("T")


def _select(
    rows: Sequence[T], p: Params, *, key_id: Callable[[T], int], key_time: Callable[[T], int], from_param: str
) -> list[T]:
    """Binance's window rules: ``from_param`` (id >=) or startTime give the oldest ``limit`` rows from there; otherwise
    the newest ``limit`` rows; endTime caps; startTime..endTime may span at most 24 h. Ascending order.

    Raises:
        BinanceError: -1130 bad limit, -1127 window over 24 h, -1100 malformed numbers.
    """
    limit = p.opt_int("limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
    from_id = p.opt_int(from_param, minimum=0)
    start = p.opt_int("startTime", minimum=0)
    end = p.opt_int("endTime", minimum=0)
    if start is not None and end is not None and end - start > _DAY_MS:
        raise more_than_hours(24)
    out = [
        r
        for r in rows
        if (from_id is None or key_id(r) >= from_id)
        and (start is None or key_time(r) >= start)
        and (end is None or key_time(r) <= end)
    ]
    return out[:limit] if (from_id is not None or start is not None) else out[-limit:]


def all_orders(acct: Account, symbol: str, p: Params) -> list[dict[str, Any]]:
    """``GET /api/v3/allOrders`` rows (``orderId`` = from this id on; ``startTime``/``endTime`` on order time)."""
    rows = [o for o in acct.orders if o.symbol == symbol]
    chosen = _select(rows, p, key_id=lambda o: o.order_id, key_time=lambda o: o.time, from_param="orderId")
    return [render.order_query(o) for o in chosen]


def my_trades(acct: Account, symbol: str, p: Params) -> list[dict[str, Any]]:
    """``GET /api/v3/myTrades`` rows (``orderId`` narrows to one order; ``fromId`` = from this trade id on)."""
    order_id = p.opt_int("orderId", minimum=0)
    rows: list[Trade] = [t for t in acct.trades if t.symbol == symbol and (order_id is None or t.order_id == order_id)]
    chosen = _select(rows, p, key_id=lambda t: t.id, key_time=lambda t: t.time, from_param="fromId")
    return [render.my_trade(t) for t in chosen]


def open_orders(orders: Sequence[Order]) -> list[dict[str, Any]]:
    """``GET /api/v3/openOrders`` rows, oldest first."""
    return [render.order_query(o) for o in sorted(orders, key=lambda o: o.seq)]


def account(acct: Account, p: Params, *, maker_fee: Decimal, taker_fee: Decimal) -> dict[str, Any]:
    """``GET /api/v3/account`` (``omitZeroBalances=true`` drops assets with nothing free or locked).

    Commissions are given in basis points (``makerCommission``: 10 = 0.1 %) and as rates in ``commissionRates``.
    """
    omit_zero = bool(p.opt_bool("omitZeroBalances"))
    assets = list(dict.fromkeys([*acct.free, *acct.locked]))
    balances = [
        {"asset": a, "free": render.fmt(acct.free_of(a)), "locked": render.fmt(acct.locked_of(a))}
        for a in assets
        if not (omit_zero and not acct.free_of(a) and not acct.locked_of(a))
    ]
    zero = render.fmt(Decimal(0))
    return {
        "makerCommission": int(maker_fee * 10_000),
        "takerCommission": int(taker_fee * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": render.fmt(maker_fee),
            "taker": render.fmt(taker_fee),
            "buyer": zero,
            "seller": zero,
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": acct.update_time,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": acct.uid,
    }
