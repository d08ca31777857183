"""The sans-I/O parts of the trading package, with no event loop or server: config loading, confirmation tokens,
the open-order count, argument parsing and the daily-notional reservation."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.server.decimals import InvalidDecimal
from tradingmcp.server.exchanges.models import Order, OrderStatus, OrderType, Side, TimeInForce
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.trading.confirm import ConfirmationBook, ConfirmationError
from tradingmcp.server.trading.idempotency import ClientIdRegistry, new_client_order_id
from tradingmcp.server.trading.open_orders import OpenOrderTracker
from tradingmcp.server.trading.orders import fingerprint, parse_order, request_text
from tradingmcp.server.trading.safety import MS_PER_DAY, SafetyConfig, SafetyRefusal, VenueSafety, check_price_band


def test_config_from_toml_then_env(tmp_path: Path) -> None:
    path = tmp_path / "safety.toml"
    path.write_text(
        '[safety]\nallowed_symbols = ["btcusdt", "ETHUSDT"]\nmax_order_notional = "250.5"\nmax_open_orders = 3\n'
        'price_band_pct = "none"\nkill_switch = false\n'
    )
    cfg = SafetyConfig.from_toml(path)
    assert cfg.allowed_symbols == frozenset({"BTCUSDT", "ETHUSDT"}) and cfg.max_order_notional == Decimal("250.5")
    assert cfg.max_open_orders == 3 and cfg.price_band_pct is None and cfg.max_batch == 10
    env = {"TRADINGMCP_SAFETY_KILL_SWITCH": "yes", "TRADINGMCP_SAFETY_ALLOWED_SYMBOLS": "all", "OTHER": "x"}
    loaded = SafetyConfig.load(path, env)
    assert loaded.kill_switch is True and loaded.allowed_symbols is None and loaded.max_open_orders == 3
    assert loaded.describe()["max_order_notional"] == "250.5"
    with pytest.raises(ValueError, match="unknown safety setting"):
        SafetyConfig.from_env({"TRADINGMCP_SAFETY_MAX_ORDERS": "1"})
    with pytest.raises(ValueError, match="bad value"):
        SafetyConfig.from_env({"TRADINGMCP_SAFETY_ALLOW_LIVE": "maybe"})
    default = SafetyConfig()
    assert default.allow_live is False and default.kill_switch is False and default.confirm_above_notional


def test_confirmation_tokens_are_bound_short_lived_and_single_use() -> None:
    now = [100.0]
    book = ConfirmationBook(ttl_s=60, clock_s=lambda: now[0])
    token = book.issue("alice", "binance", "fp1")
    for principal, venue, fp in (("bob", "binance", "fp1"), ("alice", "mexc", "fp1"), ("alice", "binance", "fp2")):
        with pytest.raises(ConfirmationError) as info:
            book.redeem(token, principal, venue, fp, "big")
        assert info.value.details["reason"] == "mismatch" and info.value.code == "confirmation_required"
    book.redeem(token, "alice", "binance", "fp1", "big")
    with pytest.raises(ConfirmationError) as used:
        book.redeem(token, "alice", "binance", "fp1", "big")
    assert used.value.details["reason"] == "used"
    late = book.issue("alice", "binance", "fp1")
    now[0] += 60.001
    with pytest.raises(ConfirmationError) as expired:
        book.redeem(late, "alice", "binance", "fp1", "big")
    assert expired.value.details["reason"] == "expired"
    with pytest.raises(ConfirmationError) as missing:
        book.redeem(None, "alice", "binance", "fp1", "notional 9000 USDT is above 5000")
    assert missing.value.details["reason"] == "missing" and "9000" in missing.value.message


def _order(order_id: int, status: OrderStatus, symbol: str = "BTCUSDT") -> Order:
    z = Decimal(0)
    return Order(
        order_id,
        f"c{order_id}",
        symbol,
        Side.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
        Decimal(1),
        z,
        Decimal(1),
        z,
        z,
        status,
        0,
        0,
    )


def test_open_order_tracker_counts_from_seed_and_events() -> None:
    t = OpenOrderTracker()
    assert t.needs_seed(5)
    t.on_order(_order(3, OrderStatus.CANCELED))  # closed while the seed request was in flight
    t.seed([_order(1, OrderStatus.NEW), _order(2, OrderStatus.PARTIALLY_FILLED), _order(3, OrderStatus.NEW)])
    assert t.count == 2 and not t.needs_seed(5) and t.needs_seed(2)
    t.on_order(_order(4, OrderStatus.NEW, "ETHUSDT"))
    t.on_order(_order(1, OrderStatus.FILLED))
    assert t.count == 2


def test_parse_order_normalizes_and_refuses_bad_combinations() -> None:
    r = parse_order({"symbol": "btcusdt", "side": "BUY", "quantity": 0.001, "price": "60000.00"})
    assert r.symbol == "BTCUSDT" and r.type is OrderType.LIMIT and r.time_in_force is TimeInForce.GTC
    assert r.quantity == Decimal("0.001") and r.client_order_id is not None and r.client_order_id.startswith("tmcp-")
    assert request_text(r) == "BUY 0.001 BTCUSDT LIMIT @ 60000"
    m = parse_order({"symbol": "BTCUSDT", "side": "SELL", "quote_quantity": "25"})
    assert m.type is OrderType.MARKET and m.time_in_force is None and m.quote_order_qty == 25
    same = parse_order({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.0010", "price": "60000"})
    assert fingerprint("binance", r) == fingerprint("binance", same) != fingerprint("mexc", same)
    for quantity in ("abc", "NaN", "6E+4"):
        with pytest.raises(InvalidDecimal) as refused:
            parse_order({"symbol": "BTCUSDT", "side": "BUY", "quantity": quantity, "price": "1"})
        assert refused.value.code == -32602 and refused.value.field == "quantity", quantity
    bad = [
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quote_quantity": "10", "price": "1"},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "price": "1"},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "time_in_force": "GTC"},
        {"symbol": "BTCUSDT", "side": "BUY", "quantity": "1", "price": "1", "client_order_id": "x" * 37},
    ]
    for args in bad:
        with pytest.raises(ToolError) as info:
            parse_order(args)
        assert info.value.code == "invalid_argument", args
    assert len(new_client_order_id()) == 25


def test_daily_reservation_rolls_over_at_utc_midnight() -> None:
    clock = [5 * MS_PER_DAY + 1000]
    s = VenueSafety("binance", clock_ms=lambda: clock[0])
    cfg = SafetyConfig(max_daily_notional=Decimal(100))
    s.reserve(cfg, Decimal(60), "USDT")
    with pytest.raises(SafetyRefusal) as info:
        s.reserve(cfg, Decimal(41), "USDT")
    assert info.value.code == "safety_max_daily_notional" and info.value.details["remaining"] == "40"
    s.release(s.reserve(cfg, Decimal(40), "USDT"))
    assert s.today_notional() == 60
    clock[0] = 6 * MS_PER_DAY
    assert s.today_notional() == 0 and s.reserve(cfg, Decimal(100), "USDT") == 100


def test_price_band_range_is_on_the_tick() -> None:
    cfg = SafetyConfig(price_band_pct=Decimal(5))
    check_price_band(cfg, "price", Decimal("104.99"), Decimal(100), Decimal("0.01"))
    with pytest.raises(SafetyRefusal) as info:
        check_price_band(cfg, "price", Decimal("105.01"), Decimal("100.003"), Decimal("0.01"))
    assert (info.value.details["low"], info.value.details["high"]) == ("95.01", "105")


def test_price_band_refuses_the_largest_price_the_boundary_admits() -> None:
    """The largest decimal argument (20 digits before and after the point) against the smallest mid: the distance
    (about 1e30 %) is refused and rendered, not an InvalidOperation from rounding it to 0.01 in 28 digits."""
    price = Decimal("99999999999999999999.99999999999999999999")
    with pytest.raises(SafetyRefusal) as info:
        check_price_band(SafetyConfig(), "price", price, Decimal("0.00000001"), Decimal("0.00000001"))
    assert info.value.details["value_pct"].startswith("9999999999999999999999999999")
    assert str(price) in info.value.message


async def test_client_id_registry_is_bounded_and_lock_is_released() -> None:
    ids = ClientIdRegistry(capacity=2)
    for i in range(3):
        ids.remember(f"c{i}", "BTCUSDT", i)
    assert ids.recall("c0") is None and ids.recall("c2") is not None and len(ids) == 2
    async with ids.lock("c1"):
        assert "c1" in ids.in_flight
    assert ids.in_flight == frozenset()


async def test_client_id_lock_serializes_callers_and_survives_a_cancelled_waiter() -> None:
    ids = ClientIdRegistry()
    seen: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with ids.lock("c1"):
            seen.append("first in")
            await release.wait()
            seen.append("first out")

    async def second() -> None:
        async with ids.lock("c1"):
            seen.append("second in")

    async with asyncio.timeout(5):
        a = asyncio.create_task(first())
        await asyncio.sleep(0)
        gone = asyncio.create_task(second())
        b = asyncio.create_task(second())
        await asyncio.sleep(0)
        gone.cancel()
        async with ids.lock("other"):  # another id never waits
            seen.append("other")
        release.set()
        await asyncio.gather(a, b)
    assert gone.cancelled()
    assert seen == ["first in", "other", "first out", "second in"]
    assert ids.in_flight == frozenset()
