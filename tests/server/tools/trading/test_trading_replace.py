"""``replace_order`` takes the old order from the server's own order state (no ``GET /api/v3/order``), and a stale
state never places an order: the exchange refuses the cancel (``STOP_ON_FAILURE``), the tool asks the exchange and
answers ``order_not_open``. Plus the tracker itself (sans-I/O).

Real stack: simulator (manual step, the real recording) → python-binance / MEXC adapter → tools → MCP on loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.client.session import McpClient
from tradingmcp.server.exchanges.models import (
    ExecutionType,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.open_orders import OpenOrderTracker
from tradingmcp.server.venues import Venue

from ...support import ToolServer, call, ok, start_tool_server


def desk_of(srv: ToolServer) -> TradingDesk:
    desk: TradingDesk = srv.app.tools["replace_order"].fn.__self__.desk  # type: ignore[attr-defined]
    return desk


def count_calls(venue: Venue, name: str) -> list[int]:
    """Count (and still make) the adapter's ``name`` calls: a pass-through spy on the real adapter."""
    calls = [0]
    real: Callable[..., Any] = getattr(venue.adapter, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await real(*args, **kwargs)

    setattr(venue.adapter, name, counted)
    return calls


async def resting_buy(c: McpClient, exchange: str, cid: str) -> dict[str, Any]:
    ticker = await ok(c, "get_ticker", {"symbol": "BTCUSDT", "exchange": exchange})
    price = (Decimal(ticker["bid"]) * Decimal("0.99")).quantize(Decimal("0.01"))
    args = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.001", "price": str(price)}
    placed = await ok(c, "place_order", {**args, "client_order_id": cid, "exchange": exchange})
    return placed["order"]


async def test_replace_of_a_tracked_order_asks_the_exchange_nothing(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    venue = tool_server.venues.get()
    get_order = count_calls(venue, "get_order")
    async with tool_server.client() as c:
        first = await resting_buy(c, "binance", "keep-1")
        lower = str(Decimal(first["price"]) - 5)
        by_cid = await ok(
            c,
            "replace_order",
            {"symbol": "BTCUSDT", "client_order_id": "keep-1", "price": lower, "new_client_order_id": "keep-2"},
        )
        assert by_cid["cancelled"]["client_order_id"] == "keep-1" and by_cid["cancelled"]["status"] == "CANCELED"
        assert by_cid["order"]["client_order_id"] == "keep-2" and Decimal(by_cid["order"]["price"]) == Decimal(lower)
        assert by_cid["order"]["orig_qty"] == "0.001" and by_cid["order"]["type"] == "LIMIT_MAKER"  # old values
        by_id = await ok(
            c,
            "replace_order",
            {"symbol": "BTCUSDT", "order_id": by_cid["order"]["order_id"], "quantity": "0.002"},
        )
        assert by_id["cancelled"]["order_id"] == by_cid["order"]["order_id"] and by_id["order"]["orig_qty"] == "0.002"
        assert get_order[0] == 0  # both old orders came from the tracker
        open_now = (await ok(c, "get_open_orders", {"symbol": "BTCUSDT"}))["orders"]
        assert [o["order_id"] for o in open_now] == [by_id["order"]["order_id"]]
        # an order the tracker does not hold (here: closed) is looked up on the exchange, as before
        refused = await call(c, "replace_order", {"symbol": "BTCUSDT", "client_order_id": "keep-1"})
        assert refused["isError"] is True and get_order[0] == 1
        assert refused["structuredContent"]["error"]["code"] == "order_not_open"


@pytest.mark.parametrize("exchange", ["binance", "mexc"])
async def test_stale_tracked_order_places_nothing_and_answers_not_open(
    data_dir: Path, tmp_path: Path, exchange: str
) -> None:
    """A tracker that missed the order's close (a lost event) hands out a stale "open" order: the exchange refuses
    the cancel, nothing is placed, the reservation is given back and the caller gets ``order_not_open``."""
    async with start_tool_server(data_dir, tmp_path, exchange="both" if exchange == "mexc" else "binance") as srv:
        srv.sim.step(2000)
        venue = srv.venues.get(exchange)
        desk = desk_of(srv).desk(venue)
        async with srv.client() as c:
            placed = await resting_buy(c, exchange, "stale-1")
            tracked = desk.open_orders.find("BTCUSDT", client_order_id="stale-1")
            assert tracked is not None and str(tracked.order_id) == str(placed["order_id"])
            await ok(c, "cancel_order", {"symbol": "BTCUSDT", "client_order_id": "stale-1", "exchange": exchange})
            assert desk.open_orders.find("BTCUSDT", client_order_id="stale-1") is None
            stale = OpenOrderTracker()  # the same server state, but the close event was lost
            stale.seed([tracked])
            desk.open_orders = stale
            today = (await ok(c, "get_trading_limits", {"exchange": exchange}))["today_notional"]
            get_order = count_calls(venue, "get_order")
            res = await call(
                c,
                "replace_order",
                {
                    "symbol": "BTCUSDT",
                    "client_order_id": "stale-1",
                    "price": str(Decimal(placed["price"]) - 5),
                    "new_client_order_id": "stale-2",
                    "exchange": exchange,
                },
            )
            assert res["isError"] is True, res["content"][0]["text"]
            error = res["structuredContent"]["error"]
            assert error["code"] == "order_not_open" and error["order"]["status"] == "CANCELED"
            assert get_order[0] == 1  # asked only after the exchange refused
            assert stale.find("BTCUSDT", client_order_id="stale-1") is None and stale.count == 0
            assert (await ok(c, "get_open_orders", {"symbol": "BTCUSDT", "exchange": exchange}))["orders"] == []
            assert (await ok(c, "get_trading_limits", {"exchange": exchange}))["today_notional"] == today


def _order(
    order_id: int,
    status: OrderStatus = OrderStatus.NEW,
    executed: str = "0",
    cid: str | None = None,
    symbol: str = "BTCUSDT",
) -> Order:
    z = Decimal(0)
    return Order(
        order_id,
        cid or f"c{order_id}",
        symbol,
        Side.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
        Decimal(100),
        z,
        Decimal(1),
        Decimal(executed),
        z,
        status,
        0,
        0,
    )


def test_tracker_finds_open_orders_by_id_and_client_id() -> None:
    t = OpenOrderTracker()
    t.on_order(_order(1))
    t.on_order(_order(2, symbol="ETHUSDT"))
    assert t.find("BTCUSDT", 1) == _order(1) and t.find("BTCUSDT", client_order_id="c1") == _order(1)
    assert t.find("BTCUSDT", 1, "c1") is not None and t.find("BTCUSDT", 1, "other") is None
    assert t.find("BTCUSDT", 2) is None and t.find("ETHUSDT", client_order_id="c1") is None  # other symbol
    assert t.find("BTCUSDT") is None and t.find("BTCUSDT", client_order_id="nope") is None
    t.on_order(_order(1, OrderStatus.CANCELED))
    assert t.find("BTCUSDT", 1) is None and t.find("BTCUSDT", client_order_id="c1") is None and t.count == 1


def test_tracker_never_moves_an_order_back() -> None:
    """The exchange's reply and the user stream's events race: the later news wins, whichever arrives last."""
    t = OpenOrderTracker()
    t.on_event(OrderEvent(_order(1, OrderStatus.PARTIALLY_FILLED, "0.4"), ExecutionType.TRADE, 0))
    t.on_order(_order(1))  # the placement reply, older news
    held = t.find("BTCUSDT", 1)
    assert held is not None and held.executed_qty == Decimal("0.4")
    t.on_order(_order(1, OrderStatus.FILLED, "1"))
    t.on_order(_order(1, OrderStatus.PARTIALLY_FILLED, "0.4"))  # late: the order is already closed
    t.seed([_order(1), _order(3)])  # a snapshot taken before the fill
    assert t.find("BTCUSDT", 1) is None and t.count == 1 and t.find("BTCUSDT", 3) is not None


def test_a_reused_client_id_maps_to_the_open_order() -> None:
    t = OpenOrderTracker()
    t.on_order(_order(1, cid="same"))
    t.on_order(_order(2, cid="same"))  # Binance allows reusing the id of an order that is no longer open
    t.on_order(_order(1, OrderStatus.CANCELED, cid="same"))  # the first one's close arrives late
    found = t.find("BTCUSDT", client_order_id="same")
    assert found is not None and found.order_id == 2
    assert replace(found, status=OrderStatus.NEW) == _order(2, cid="same")
