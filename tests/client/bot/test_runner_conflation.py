"""The runner during a burst, against a real server (the simulator held still, so only the crafted burst moves the
bot): each symbol's first book ticker of the turn is decided on at once, the rest of the turn once more per symbol on
its newest market; every order event is booked."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from tradingmcp.client.bot.runner import BotRunner
from tradingmcp.client.session import Notification
from tradingmcp.server.mcp.streams import STREAM_METHOD

from .recorded import pushed_messages
from .support import start_bot_server


def _order_event(n: int) -> dict[str, Any]:
    order = {"client_order_id": f"someone-else-{n}", "symbol": "BTCUSDT", "status": "NEW", "executed_qty": "0",
             "order_id": n}  # fmt: skip
    return {"event": "order", "execution_type": "NEW", "order": order}


async def test_a_burst_is_decided_at_once_then_once_more_per_symbol_on_its_newest_market(
    data_dir: Path, tmp_path: Path
) -> None:
    btc = list(pushed_messages(data_dir, "BTCUSDT", 300))
    eth = list(pushed_messages(data_dir, "ETHUSDT", 300))
    burst: list[tuple[str, dict[str, Any]]] = []
    for i, pair in enumerate(itertools.zip_longest(btc, eth)):
        burst += [m for m in pair if m is not None]
        if i % 25 == 0:
            burst.append(("orders:binance", _order_event(i)))
    burst.insert(0, next(m for m in btc if m[0].startswith("book_ticker")))  # the turn opens with a book ticker
    tickers = [(k, d) for k, d in burst if k.startswith("book_ticker")]
    last = {d["symbol"]: d["update_id"] for _, d in tickers}
    first_btc, first_eth = (
        next(d["update_id"] for _, d in tickers if d["symbol"] == s) for s in ("BTCUSDT", "ETHUSDT")
    )
    n_events = sum(1 for k, _ in burst if k.startswith("orders:"))
    assert len(tickers) > 100 and n_events > 5

    async with start_bot_server(data_dir, tmp_path, speed=0) as srv:
        runner = BotRunner(srv.bot_config(tmp_path / "out", ("BTCUSDT", "ETHUSDT")))
        await runner.start()
        try:
            core = runner.core
            for seq, (key, data) in enumerate(burst, 1):  # one loop turn: no await in between
                assert runner.handle_notification(
                    Notification(STREAM_METHOD, {"stream": key, "seq": seq, "data": data})
                )
            # in the frame callbacks: each symbol's first book ticker, at once
            assert core.decisions == 2
            firsts = {a.symbol: a.tick.update_id for a in core.busy_actions() if a.tick is not None}
            assert firsts == {"BTCUSDT": first_btc, "ETHUSDT": first_eth}
            await asyncio.sleep(0)  # the turn ends
            assert core.events == n_events  # no order event lost
            assert core.decisions == 2 + 2  # then once more per symbol, on its newest market
            assert core.ticks == len(burst) - n_events - runner.conflated  # every message kept was applied once
            assert runner.conflated >= len(tickers) - 2 - 4  # all but the first and the latest few tickers
            assert core.markets["ETHUSDT"].update_id == last["ETHUSDT"]
            assert core.markets["BTCUSDT"].update_id == last["BTCUSDT"]
            await asyncio.sleep(0.05)
            assert core.decisions == 4  # nothing decided twice
        finally:
            await runner.finish(settle_s=2.0)
