"""The bot's sans-I/O core on the real recording: quotes stay passive and on the tick grid, slots never have two
actions in flight, acknowledged orders get replaced as the market moves, position limits and the loss stop hold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.client.bot.config import BotConfig, RiskConfig, StrategyConfig, SymbolConfig
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.market import MarketState
from tradingmcp.client.bot.strategy import SymbolRulesLite, target_quotes

from .recorded import pushed_messages

BTC_RULES = SymbolRulesLite(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
MS = 1_000_000


def _core(**risk: Any) -> BotCore:
    cfg = BotConfig(symbols=(SymbolConfig("BTCUSDT"),), risk=RiskConfig(**risk))
    core = BotCore(cfg)
    core.rules["BTCUSDT"] = BTC_RULES
    return core


def _ack(action: Action, status: str = "NEW") -> dict[str, Any]:
    order = {"client_order_id": action.client_order_id, "order_id": hash(action.client_order_id) % 10**9,
             "symbol": action.symbol, "side": action.side, "status": status, "price": str(action.price),
             "orig_qty": str(action.qty), "executed_qty": "0"}  # fmt: skip
    if action.kind == "replace":
        return {"structuredContent": {"order": order, "cancelled": {"client_order_id": action.old_client_order_id,
                                                                    "status": "CANCELED", "executed_qty": "0"}}}  # fmt: skip
    if action.kind == "cancel":
        return {"structuredContent": {"order": {**order, "status": "CANCELED"}}}
    return {"structuredContent": {"order": order, "duplicate": False}}


def test_quotes_are_passive_and_on_the_grid(data_dir: Path) -> None:
    cfg = SymbolConfig("BTCUSDT", strategy=StrategyConfig(half_spread_ticks=1, skew_ticks=3))
    market = MarketState("BTCUSDT")
    checked = 0
    for key, data in pushed_messages(data_dir, "BTCUSDT", 6000):
        if not key.startswith("book_ticker"):
            continue
        market.on_book_ticker(data)
        for position in (Decimal(0), Decimal("0.002"), Decimal("-0.002")):
            q = target_quotes(market, position, cfg, BTC_RULES)
            assert q is not None and q.bid is not None and q.ask is not None and market.bid and market.ask
            assert q.bid < q.ask
            assert q.bid <= market.ask - BTC_RULES.tick_size and q.ask >= market.bid + BTC_RULES.tick_size
            assert q.bid % BTC_RULES.tick_size == 0 and q.ask % BTC_RULES.tick_size == 0
            assert q.qty * market.ask >= BTC_RULES.min_notional
            checked += 1
        long_q = target_quotes(market, Decimal("0.003"), cfg, BTC_RULES)
        flat_q = target_quotes(market, Decimal(0), cfg, BTC_RULES)
        assert long_q is not None and flat_q is not None and flat_q.bid is not None
        assert long_q.bid is None  # at the position limit: no more buying
        assert long_q.ask is not None and flat_q.ask is not None and long_q.ask <= flat_q.ask  # skewed to sell
    assert checked > 1000


def test_core_places_then_replaces_with_one_action_per_slot(data_dir: Path) -> None:
    core = _core(max_orders_per_s=1000.0, order_burst=1000)
    now = 0
    in_flight: list[Action] = []
    kinds: dict[str, int] = {}
    for key, data in pushed_messages(data_dir, "BTCUSDT", 20000):
        now += MS  # 1 ms between messages
        actions = core.on_stream(key, data, now)
        for a in actions:
            assert all((b.symbol, b.side) != (a.symbol, a.side) for b in in_flight), "two actions in one slot"
            kinds[a.kind] = kinds.get(a.kind, 0) + 1
            name, args = a.tool_call("binance")
            assert args["type"] == "LIMIT_MAKER" and args["exchange"] == "binance"
            if name == "replace_order":
                assert args["client_order_id"] != args["new_client_order_id"]
        in_flight += actions
        if len(in_flight) >= 2 or (in_flight and now % (3 * MS) == 0):  # answers arrive a little later
            for a in in_flight:
                core.on_result(a, _ack(a), now)
            in_flight = []
    assert kinds.get("place", 0) >= 2 and kinds.get("replace", 0) > 10, kinds
    assert len(core.latencies) == kinds["place"] + kinds["replace"] - len([a for a in in_flight if a.kind != "cancel"])
    live = core.tracker.live_orders("BTCUSDT")
    assert len([o for o in live if o.side == "BUY"]) <= 1 and len([o for o in live if o.side == "SELL"]) <= 1
    cids = [o.client_order_id for o in core.tracker.orders.values()]
    assert len(cids) == len(set(cids)) and all(core.tracker.owns(c) for c in cids)


def test_rate_limit_and_reject_cooldown(data_dir: Path) -> None:
    core = _core(max_orders_per_s=2.0, order_burst=2, reject_cooldown_ms=10_000)
    now = 0
    sent: list[Action] = []
    for key, data in pushed_messages(data_dir, "BTCUSDT", 20000):
        now += MS
        for a in core.on_stream(key, data, now):
            sent.append(a)
            core.on_result(a, _ack(a), now)
    span_s = now / 1e9
    assert len([a for a in sent if a.kind != "cancel"]) <= 2 + 2.0 * span_s + 1
    assert core.risk.refusals.get("rate_limit", 0) > 0
    # a rejection starts the cooldown: nothing more on the symbol for 10 s
    core2 = _core(reject_cooldown_ms=10_000)
    now, first = 0, None
    for key, data in pushed_messages(data_dir, "BTCUSDT", 3000):
        now += MS
        for a in core2.on_stream(key, data, now):
            if first is None:
                first = a
                core2.on_result(a, {"isError": True, "structuredContent": {"error": {"code": "exchange_error"}}}, now)
            else:
                assert a.side != first.side or a.kind == "cancel", "acted during the cooldown"
                core2.on_result(a, _ack(a), now)
    assert first is not None and core2.errors == {"exchange_error": 1}
    assert core2.tracker.get(first.client_order_id) is not None
    assert core2.tracker.orders[first.client_order_id].status == "REJECTED"


def test_fills_move_position_and_loss_limit_halts(data_dir: Path) -> None:
    core = _core(max_daily_loss_quote=Decimal("0.5"))
    now = 0
    acked: list[Action] = []
    messages = list(pushed_messages(data_dir, "BTCUSDT", 4000))
    for key, data in messages[:200]:
        now += MS
        for a in core.on_stream(key, data, now):
            core.on_result(a, _ack(a), now)
            acked.append(a)
    buy = next(a for a in acked if a.side == "BUY" and a.kind == "place")
    assert buy.price is not None and buy.qty is not None
    # the buy fills at a price far above the market: a loss beyond the limit
    fill = {"symbol": "BTCUSDT", "trade_id": 1, "order_id": 7, "price": str(buy.price + 2000), "qty": str(buy.qty),
            "commission": "0", "commission_asset": "BTC", "is_maker": True, "time_ms": 1}  # fmt: skip
    event = {"event": "order", "execution_type": "TRADE",
             "order": {"client_order_id": buy.client_order_id, "symbol": "BTCUSDT", "status": "FILLED",
                       "executed_qty": str(buy.qty), "order_id": 7}, "fill": fill}  # fmt: skip
    core.on_stream("orders:binance", event, now)
    core.on_stream("orders:binance", event, now)  # the same fill twice (e.g. seen again at a reconcile): booked once
    assert core.ledger.position("BTCUSDT") == buy.qty
    assert core.risk.halted is not None and "max daily loss" in core.risk.halted
    after = [a for key, data in messages[200:] for a in core.on_stream(key, data, now + MS)]
    assert after and all(a.kind == "cancel" for a in after)
