"""The order path's shortcuts give exactly what the long ways gave: the one-pass LIMIT check of
``rules.validate_order``, ``replacement_request`` (vs. building ``place_order`` arguments and parsing them),
``order_json``, the id lock's hand-over, and the open-order count seeded at start (not by the first order)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradingmcp.server.decimals import InvalidDecimal
from tradingmcp.server.exchanges import rules
from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.models import (
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SymbolRules,
    TimeInForce,
)
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.tools.shapes import fill_json, order_json, plain
from tradingmcp.server.trading.idempotency import ClientIdRegistry
from tradingmcp.server.trading.orders import parse_order, replacement_request

from ..support import start_tool_server

D = Decimal


@pytest.fixture(scope="module")
def all_rules(data_dir: Path) -> dict[str, SymbolRules]:
    """The real exchangeInfo rules (BTCUSDT: tick 0.01, step 0.00001, bands x0.2..x5)."""
    body = json.loads((data_dir / "binance" / "rest" / "exchangeInfo.json").read_text())
    return parse.exchange_info(body)


# --- validate_order: the long way, as it was before the one-pass LIMIT check -----------------------------------------
def validate_long(r: SymbolRules, request: OrderRequest, reference: Decimal | None) -> list[rules.RuleViolation]:
    out: list[rules.RuleViolation] = []
    if not r.is_trading:
        out.append(rules.RuleViolation("STATUS", "symbol", f"{r.symbol} is not trading (status {r.status})"))
    if r.order_types and request.type not in r.order_types:
        allowed = ", ".join(sorted(t.value for t in r.order_types))
        out.append(
            rules.RuleViolation("ORDER_TYPES", "type", f"order type {request.type} is not allowed; use {allowed}")
        )
    market = request.type in rules.MARKET_TYPES
    if request.type in rules.PRICED_TYPES:
        if request.price is None:
            out.append(rules.RuleViolation("PRICE_FILTER", "price", f"{request.type} orders need a price"))
        else:
            out += rules.check_price(r, request.price)
            if reference is not None:
                out += rules.check_price_band(r, request.side, request.price, reference)
    if request.type in rules.STOP_TYPES:
        if request.stop_price is None:
            out.append(rules.RuleViolation("PRICE_FILTER", "stop_price", f"{request.type} orders need a stop price"))
        else:
            out += rules.check_price(r, request.stop_price, "stop price")
    if (request.quantity is None) == (request.quote_order_qty is None):
        out.append(rules.RuleViolation("LOT_SIZE", "quantity", "give exactly one of quantity or quote_order_qty"))
        return out
    if request.quote_order_qty is not None:
        if request.type is not OrderType.MARKET:
            out.append(rules.RuleViolation("LOT_SIZE", "quote_order_qty", "quote_order_qty is only for MARKET orders"))
        else:
            out += rules.check_quote_qty(r, request.quote_order_qty)
        return out
    assert request.quantity is not None
    out += rules.check_qty(r, request.quantity, market)
    price = request.price if request.type in rules.PRICED_TYPES else (reference if market else request.stop_price)
    if price is None and request.type in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT):
        price = request.stop_price
    if price is not None:
        out += rules.check_notional(r, request.quantity, price, market)
    return out


prices = st.decimals(min_value=D("-1"), max_value=D("2000000"), places=3, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=D("-0.001"), max_value=D("10000"), places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    symbol=st.sampled_from(["BTCUSDT", "ETHUSDT", "ADAUSDT"]),
    order_type=st.sampled_from([OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.MARKET, OrderType.STOP_LOSS_LIMIT]),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    price=st.none() | prices | st.sampled_from([D("61000.01"), D("12200"), D("305000"), D("12199.99")]),
    quantity=st.none() | quantities | st.sampled_from([D("0.001"), D("0.00001"), D("0.000015")]),
    quote=st.none() | st.sampled_from([D("100")]),
    reference=st.none() | st.sampled_from([D(61000), D("61000.005"), D("0.3"), D(0)]),
    halted=st.booleans(),
)
def test_validate_order_matches_the_long_way(
    all_rules: dict[str, SymbolRules],
    symbol: str,
    order_type: OrderType,
    side: Side,
    price: Decimal | None,
    quantity: Decimal | None,
    quote: Decimal | None,
    reference: Decimal | None,
    halted: bool,
) -> None:
    r = all_rules[symbol]
    if halted:
        r = replace(r, status="HALT")
    request = OrderRequest(symbol, side, order_type, quantity=quantity, quote_order_qty=quote, price=price)
    assert rules.validate_order(r, request, reference) == validate_long(r, request, reference)


def test_validate_order_band_edges(all_rules: dict[str, SymbolRules]) -> None:
    """Prices on and just beyond the PERCENT_PRICE_BY_SIDE edges (x0.2 .. x5 of 61000.005)."""
    r = all_rules["BTCUSDT"]
    ref = D("61000.005")
    for p in ("12200", "12200.01", "12199.99", "305000.02", "305000.03", "305000.01"):
        request = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.001"), price=D(p))
        assert rules.validate_order(r, request, ref) == validate_long(r, request, ref), p
    ok = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.001"), price=D("12200.01"))
    assert rules.validate_order(r, ok, ref) == []
    (v,) = rules.validate_order(r, replace(ok, price=D("12200")), ref)
    assert v.filter == "PERCENT_PRICE_BY_SIDE" and v.nearest_valid == D("12200.01")


# --- replacement_request: the long way built place_order arguments and parsed them ------------------------------------
def replacement_args_long(old: Order, args: dict[str, Any]) -> dict[str, Any]:
    new_type = args.get("type") or old.type.value
    out: dict[str, Any] = {
        "symbol": old.symbol,
        "side": args.get("side") or old.side.value,
        "type": new_type,
        "quantity": args["quantity"] if "quantity" in args else plain(old.orig_qty - old.executed_qty),
        "client_order_id": args.get("new_client_order_id"),
    }
    if new_type != "MARKET":
        price = args["price"] if "price" in args else (plain(old.price) if old.price else None)
        if price is not None:
            out["price"] = price
    stop = args["stop_price"] if "stop_price" in args else (plain(old.stop_price) if old.stop_price else None)
    if stop is not None and new_type in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        out["stop_price"] = stop
    tif = args.get("time_in_force") or (old.time_in_force.value if old.time_in_force else None)
    if tif is not None and new_type not in ("MARKET", "LIMIT_MAKER"):
        out["time_in_force"] = tif
    return {k: v for k, v in out.items() if v is not None}


def parse_replacement_long(old: Order, args: dict[str, Any]) -> OrderRequest:
    """The long way's arguments parsed; a remainder of 0 (nothing given, nothing left) is refused before."""
    long_args = replacement_args_long(old, args)
    remainder = long_args["quantity"]
    if "quantity" not in args and D(remainder) <= 0:
        message = f'quantity must be a positive decimal like "0.001", got {remainder!r}'
        raise ToolError(message, "invalid_argument", {"field": "quantity"})
    return parse_order(long_args)


def order(
    order_type: OrderType = OrderType.LIMIT,
    tif: TimeInForce | None = TimeInForce.GTC,
    price: str = "61000.00000000",
    stop: str = "0E-8",
    executed: str = "0E-8",
    quote: str = "0E-8",
    status: OrderStatus = OrderStatus.NEW,
    fills: tuple[Fill, ...] = (),
) -> Order:
    return Order(
        7,
        "old-1",
        "BTCUSDT",
        Side.BUY,
        order_type,
        tif,
        D(price),
        D(stop),
        D("0.00300000"),
        D(executed),
        D(quote),
        status,
        1_700_000_000_000,
        1_700_000_000_001,
        fills,
    )


def outcome(fn: Any) -> Any:
    try:
        result = fn()
    except ToolError as exc:
        return ("error", exc.code, exc.message, exc.details)
    except InvalidDecimal as exc:
        return ("invalid_decimal", exc.code, exc.message, exc.data)
    except ValueError as exc:
        return ("value_error", str(exc))
    assert isinstance(result, OrderRequest)
    generated = (result.client_order_id or "").startswith("tmcp-")
    return replace(result, client_order_id=None) if generated else result


@settings(max_examples=300, deadline=None)
@given(
    old_type=st.sampled_from([OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT]),
    executed=st.sampled_from(["0E-8", "0.00100000", "0.00300000"]),
    side=st.none() | st.sampled_from(["BUY", "SELL"]),
    new_type=st.none() | st.sampled_from(["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT"]),
    quantity=st.none() | st.sampled_from(["0.002", "", "-1", "abc", 0.004]),
    price=st.none() | st.sampled_from(["60000.5", "", "0", "1e2"]),
    stop_price=st.none() | st.sampled_from(["59000", "x"]),
    tif=st.none() | st.sampled_from(["IOC", "FOK", ""]),
    new_cid=st.none() | st.sampled_from(["new-1", "bad id!"]),
)
def test_replacement_request_matches_the_long_way(
    old_type: OrderType,
    executed: str,
    side: str | None,
    new_type: str | None,
    quantity: Any,
    price: str | None,
    stop_price: str | None,
    tif: str | None,
    new_cid: str | None,
) -> None:
    old = order(
        old_type,
        None if old_type is OrderType.LIMIT_MAKER else TimeInForce.GTC,
        stop="58000.00000000" if old_type is OrderType.STOP_LOSS_LIMIT else "0E-8",
        executed=executed,
    )
    given_args = {
        "side": side,
        "type": new_type,
        "quantity": quantity,
        "price": price,
        "stop_price": stop_price,
        "time_in_force": tif,
        "new_client_order_id": new_cid,
    }
    args: dict[str, Any] = {"symbol": "btcusdt", "order_id": 7} | {k: v for k, v in given_args.items() if v is not None}
    expected = outcome(lambda: parse_replacement_long(old, args))
    assert outcome(lambda: replacement_request(old, args)) == expected


# --- order_json: the long way ------------------------------------------------------------------------------------------
def order_json_long(o: Order) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.type.value,
        "time_in_force": o.time_in_force.value if o.time_in_force else None,
        "status": o.status.value,
        "is_open": o.status.is_open,
        "price": plain(o.price),
        "stop_price": plain(o.stop_price),
        "orig_qty": plain(o.orig_qty),
        "executed_qty": plain(o.executed_qty),
        "cumulative_quote_qty": plain(o.cumulative_quote_qty),
        "avg_price": plain(o.avg_price),
        "time_ms": o.time_ms,
        "update_time_ms": o.update_time_ms,
        "order_list_id": o.order_list_id,
        "fills": [fill_json(f) for f in o.fills],
    }


def test_order_json_matches_the_long_way() -> None:
    fill = Fill("BTCUSDT", 3, 7, D("61000.00"), D("0.001"), D("61.00"), D("0.00000100"), "BTC", False, 1, True)
    cases = [
        order(),
        order(OrderType.LIMIT_MAKER, None),
        order(OrderType.MARKET, None, price="0E-8", executed="0.00300000", quote="183.00300000", fills=(fill, fill)),
        order(
            OrderType.STOP_LOSS_LIMIT,
            stop="59000.10",
            executed="0.00100000",
            quote="61.0000000",
            status=OrderStatus.PARTIALLY_FILLED,
        ),
        order(status=OrderStatus.CANCELED, executed="-0"),
    ]
    for o in cases:
        got, want = order_json(o), order_json_long(o)
        assert got == want
        assert all(type(got[k]) is type(want[k]) for k in want), o  # plain str, never a StrEnum member
        assert json.dumps(got) == json.dumps(want)


# --- the client order id lock ------------------------------------------------------------------------------------------
async def test_client_id_lock_handed_over_to_a_cancelled_waiter_passes_it_on() -> None:
    """The holder hands the id to the first waiter; that waiter is cancelled before it runs: the id goes on to the
    next waiter instead of staying held forever."""
    ids = ClientIdRegistry()
    seen: list[str] = []
    release = asyncio.Event()

    tasks: dict[str, asyncio.Task[None]] = {}

    async def holder() -> None:
        async with ids.lock("c1"):
            await release.wait()
        tasks["second"].cancel()  # the id was just handed to `second`, which has not run yet

    async def waiter(name: str) -> None:
        async with ids.lock("c1"):
            seen.append(name)

    async with asyncio.timeout(5):
        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        second = tasks["second"] = asyncio.create_task(waiter("second"))
        third = asyncio.create_task(waiter("third"))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, second, third, return_exceptions=True)
    assert second.cancelled() and seen == ["third"]
    assert ids.in_flight == frozenset()
    async with asyncio.timeout(1), ids.lock("c1"):  # free again
        pass


# --- the open-order count is seeded when the server starts -------------------------------------------------------------
async def test_open_orders_seeded_at_start_not_by_the_first_order(data_dir: Path, tmp_path: Path) -> None:
    async with start_tool_server(data_dir, tmp_path) as srv:
        desk = srv.stack.toolset.desk
        assert desk is not None
        venue = srv.venues.get()
        tracker = desk.desk(venue).open_orders
        assert tracker.seeded and not tracker.stale and tracker.count == 0
        srv.sim.step(2000)
        async with srv.client() as c:
            bid = D((await c.call_tool("get_ticker", {"symbol": "BTCUSDT"}))["structuredContent"]["bid"])
            price = plain((bid * D("0.99")).quantize(D("0.01")))
            res = await c.call_tool(
                "place_order",
                {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.001", "price": price},
            )
            assert not res["isError"], res
            assert tracker.count == 1 and tracker.seeded
            listed = await c.call_tool("get_open_orders", {"symbol": "BTCUSDT"})
            assert len(listed["structuredContent"]["orders"]) == tracker.count
