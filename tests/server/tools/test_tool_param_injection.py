"""Parameter injection at the tool boundary: every tool argument that reaches an exchange, on both venues, against
values holding ``&``, ``=``, ``%``, ``#``, a space, a newline or non-ASCII text.

Each must be refused with JSON-RPC -32602 naming the argument, before anything is sent: a real resting order is placed
first, and ``zz&orderId=<its id>`` must neither return it nor touch it (it stays open, unchanged, and no refusal text
carries its client order id). Runs the whole server (``exchange="both"``) on the simulator, through a real client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tradingmcp.client.session import McpClient, RpcError

from ..support import ToolServer, call, ok, start_tool_server

pytestmark = [pytest.mark.data, pytest.mark.asyncio(loop_scope="module")]

HOSTILE = ("zz&orderId={order_id}", "a=b", "100%", "x#y", "a b", "a\nb", "ордер", "BTCUSDT\n")
"""Values a client may send; ``{order_id}`` becomes the id of the real order placed first. The last is legal but for
its trailing newline (which Python's ``$`` lets through a ``re.match``)."""
VENUES = ("binance", "mexc")

Args = dict[str, Any]
Build = Callable[[str, dict[str, Any]], Args]
"""(hostile value, the real order as ``order_json``) → the tool's arguments."""


def _limit(value: str, order: dict[str, Any]) -> Args:
    return {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": "50000", "client_order_id": value}


CASES: list[tuple[str, str, Build]] = [
    ("get_order", "client_order_id", lambda v, o: {"symbol": "BTCUSDT", "client_order_id": v}),
    ("get_order", "order_id", lambda v, o: {"symbol": "BTCUSDT", "order_id": v}),
    ("get_order", "symbol", lambda v, o: {"symbol": v, "order_id": o["order_id"]}),
    ("cancel_order", "client_order_id", lambda v, o: {"symbol": "BTCUSDT", "client_order_id": v}),
    ("cancel_order", "order_id", lambda v, o: {"symbol": "BTCUSDT", "order_id": v}),
    ("cancel_order", "symbol", lambda v, o: {"symbol": v, "order_id": o["order_id"]}),
    ("replace_order", "client_order_id", lambda v, o: {"symbol": "BTCUSDT", "client_order_id": v, "price": "50001"}),
    ("replace_order", "order_id", lambda v, o: {"symbol": "BTCUSDT", "order_id": v, "price": "50001"}),
    (
        "replace_order",
        "new_client_order_id",
        lambda v, o: {"symbol": "BTCUSDT", "order_id": o["order_id"], "price": "50001", "new_client_order_id": v},
    ),
    ("replace_order", "symbol", lambda v, o: {"symbol": v, "order_id": o["order_id"], "price": "50001"}),
    ("place_order", "client_order_id", _limit),
    ("place_order", "symbol", lambda v, o: {**_limit("ok-id", o), "symbol": v}),
    ("preview_order", "client_order_id", _limit),
    ("place_orders_batch", "orders[0].client_order_id", lambda v, o: {"orders": [_limit(v, o)]}),
    ("place_orders_batch", "orders[0].symbol", lambda v, o: {"orders": [{**_limit("ok-id", o), "symbol": v}]}),
    (
        "place_oco",
        "list_client_order_id",
        lambda v, o: {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.001",
            "price": "90000",
            "stop_price": "40000",
            "list_client_order_id": v,
        },
    ),
    (
        "cancel_orders_batch",
        "orders[0].client_order_id",
        lambda v, o: {"orders": [{"symbol": "BTCUSDT", "client_order_id": v}]},
    ),
    ("cancel_orders_batch", "orders[0].order_id", lambda v, o: {"orders": [{"symbol": "BTCUSDT", "order_id": v}]}),
    ("cancel_orders_batch", "orders[0].symbol", lambda v, o: {"orders": [{"symbol": v, "order_id": o["order_id"]}]}),
    ("get_my_trades", "order_id", lambda v, o: {"symbol": "BTCUSDT", "order_id": v}),
    ("get_my_trades", "symbol", lambda v, o: {"symbol": v}),
    ("get_order_history", "symbol", lambda v, o: {"symbol": v}),
    ("get_open_orders", "symbol", lambda v, o: {"symbol": v}),
    ("cancel_all_orders", "symbol", lambda v, o: {"symbol": v}),
    ("get_klines", "interval", lambda v, o: {"symbol": "BTCUSDT", "interval": v}),
    ("get_klines", "symbol", lambda v, o: {"symbol": v, "interval": "1m"}),
    ("get_ticker", "symbol", lambda v, o: {"symbol": v}),
    ("get_ticker", "symbols[1]", lambda v, o: {"symbols": ["BTCUSDT", v]}),
    ("get_order_book", "symbol", lambda v, o: {"symbol": v}),
    ("get_symbol_rules", "symbol", lambda v, o: {"symbol": v}),
    ("get_24h_stats", "symbol", lambda v, o: {"symbol": v}),
    ("get_recent_trades", "symbol", lambda v, o: {"symbol": v}),
    ("get_positions", "symbol", lambda v, o: {"symbol": v}),
    ("get_pnl", "symbol", lambda v, o: {"symbol": v}),
    ("export_trades", "symbol", lambda v, o: {"symbol": v}),
    ("wait_for_event", "symbol", lambda v, o: {"condition": "price_above", "symbol": v, "level": "1", "timeout_s": 1}),
    ("subscribe", "stream", lambda v, o: {"stream": f"trades:{o['_venue']}:{v}"}),  # the symbol of a stream key
    ("subscribe", "stream", lambda v, o: {"stream": f"klines:{o['_venue']}:BTCUSDT:{v}"}),  # its kline interval
]
NO_EXCHANGE_ARG = {"subscribe"}
"""Tools whose venue is named inside another argument (the stream key), not by ``exchange``."""
CASE_IDS = [f"{t}-{p}-{i}" for i, (t, p, _) in enumerate(CASES)]


class Stack:
    """The module's server and, per venue, the real resting order placed before the hostile calls."""

    def __init__(self, server: ToolServer) -> None:
        self.server = server
        self.orders: dict[str, dict[str, Any]] = {}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The whole server with both venues (manual-step simulator) and one resting BUY on each."""
    async with start_tool_server(data_dir, tmp_path_factory.mktemp("inject"), exchange="both") as srv:
        srv.sim.step(2000)
        out = Stack(srv)
        async with srv.client() as c:
            for venue in VENUES:
                bid = Decimal((await ok(c, "get_ticker", {"symbol": "BTCUSDT", "exchange": venue}))["bid"])
                price = str((bid * Decimal("0.99")).quantize(Decimal("0.01")))
                placed = await ok(
                    c,
                    "place_order",
                    {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": price, "exchange": venue},
                )
                out.orders[venue] = placed["order"]
        yield out


async def refused(c: McpClient, tool: str, args: Args) -> RpcError:
    """The JSON-RPC error of a refused call (fails the test when the call got through)."""
    try:
        res = await call(c, tool, args)
    except RpcError as exc:
        return exc
    raise AssertionError(f"{tool}({args!r}) was not refused: {str(res)[:300]}")


async def assert_untouched(c: McpClient, venue: str, order: dict[str, Any]) -> None:
    """The real order is still open with its original values, and nothing else is open."""
    now = (await ok(c, "get_order", {"symbol": "BTCUSDT", "order_id": order["order_id"], "exchange": venue}))["order"]
    keep = ("order_id", "client_order_id", "status", "price", "orig_qty", "executed_qty", "side", "type")
    assert {k: now[k] for k in keep} == {k: order[k] for k in keep}
    open_now = (await ok(c, "get_open_orders", {"symbol": "BTCUSDT", "exchange": venue}))["orders"]
    assert [o["order_id"] for o in open_now] == [order["order_id"]]


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("tool", "path", "build"), CASES, ids=CASE_IDS)
async def test_hostile_values_are_refused_before_reaching_the_venue(
    stack: Stack, venue: str, tool: str, path: str, build: Build
) -> None:
    order = stack.orders[venue]
    async with stack.server.client() as c:
        for template in HOSTILE:
            value = template.format(order_id=order["order_id"])
            args = build(value, {**order, "_venue": venue})
            if tool not in NO_EXCHANGE_ARG:
                args["exchange"] = venue
            exc = await refused(c, tool, args)
            assert exc.code == -32602, (value, exc.message)
            assert f"arguments.{path}" in exc.message, (value, exc.message)
            assert order["client_order_id"] not in exc.message  # no data of the real order leaks
        await assert_untouched(c, venue, order)


VENUE_RULES = [
    # (venue, tool, arguments, field, the venue's rule named in the refusal)
    ("binance", "get_order", {"symbol": "BTCUSDT", "order_id": "C02__100000001"}, "order_id", "^[0-9]{1,20}$"),
    ("binance", "cancel_order", {"symbol": "BTCUSDT", "order_id": "1_2"}, "order_id", "^[0-9]{1,20}$"),
    ("mexc", "get_order_history", {"symbol": "BTC-USDT"}, "symbol", "^[A-Z0-9]{1,20}$"),
    ("mexc", "get_klines", {"symbol": "BTCUSDT", "interval": "3m"}, "interval", "1m 5m 15m 30m 1h 4h 8h 1d 1w 1M"),
    ("mexc", "subscribe", {"stream": "klines:mexc:BTCUSDT:3m"}, "stream", "1m"),
]


@pytest.mark.parametrize(("venue", "tool", "args", "field", "rule"), VENUE_RULES)
async def test_each_venue_is_held_to_its_own_rules(
    stack: Stack, venue: str, tool: str, args: Args, field: str, rule: str
) -> None:
    """Values the tool schemas allow (they admit what any venue takes) but this venue does not: still -32602, naming
    the field and the venue's rule, and the venue is not asked."""
    async with stack.server.client() as c:
        exc = await refused(c, tool, args if tool in NO_EXCHANGE_ARG else {**args, "exchange": venue})
        assert exc.code == -32602 and f"arguments.{field}" in exc.message and rule in exc.message, exc.message
        await assert_untouched(c, venue, stack.orders[venue])
