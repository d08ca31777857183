"""The runner books pushed order events one loop callback after their frame (the call waiting on the tool result
resumes first), and books every waiting one before the core decides on a market message: no decision sees a stale
position."""

from __future__ import annotations

import asyncio
from typing import Any

from tradingmcp.client.bot.config import BotConfig, SymbolConfig
from tradingmcp.client.bot.runner import BotRunner
from tradingmcp.client.session import Notification
from tradingmcp.server.mcp.streams import STREAM_METHOD


def _fill_event(cid: str, qty: str) -> dict[str, Any]:
    fill = {"symbol": "BTCUSDT", "trade_id": 1, "order_id": 7, "price": "60000", "qty": qty, "commission": "0",
            "commission_asset": "BTC", "is_maker": True, "time_ms": 1}  # fmt: skip
    order = {"client_order_id": cid, "symbol": "BTCUSDT", "status": "FILLED", "executed_qty": qty, "order_id": 7}
    return {"event": "order", "execution_type": "TRADE", "order": order, "fill": fill}


def _note(stream: str, data: dict[str, Any]) -> Notification:
    return Notification(STREAM_METHOD, {"stream": stream, "seq": 1, "data": data})


async def test_order_events_wait_one_callback_and_a_market_message_books_them_first() -> None:
    runner = BotRunner(BotConfig(symbols=(SymbolConfig("BTCUSDT"),)))
    core = runner.core
    assert runner.handle_notification(_note("orders:binance", _fill_event("a", "0.001")))
    assert core.events == 0  # not yet: the frame callback returned first
    await asyncio.sleep(0)  # one loop turn: the waiting event is booked
    assert core.events == 1

    assert runner.handle_notification(_note("orders:binance", _fill_event("b", "0.002")))
    assert runner.handle_notification(_note("orders:binance", _fill_event("c", "0.002")))
    assert core.events == 1
    ticker = {"symbol": "BTCUSDT", "bid": "59999", "bid_qty": "1", "ask": "60001", "ask_qty": "1", "update_id": 1}
    assert runner.handle_notification(_note("book_ticker:binance:BTCUSDT", ticker))
    assert core.events == 3 and core.ticks == 1  # both booked, in order, before the core saw the ticker
    await asyncio.sleep(0)
    assert core.events == 3  # and only once
