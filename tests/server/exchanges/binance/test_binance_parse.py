"""Wire parsing on real samples (ws-samples, nautilus REST bodies) and the overflow-reporting event queue."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import Stats24h, StreamStatus, Trade

pytestmark = pytest.mark.data


def test_stream_samples(data_dir: Path) -> None:
    samples = data_dir / "binance" / "ws-samples"
    agg = parse.stream_event(json.loads((samples / "ws_spot_agg_trade.json").read_text())["data"])
    assert isinstance(agg, Trade) and agg.is_aggregate and agg.trade_id == 226532
    assert agg.price == Decimal("1632.46") and agg.first_trade_id == agg.last_trade_id == 228423
    ticker = parse.stream_event(json.loads((samples / "ws_spot_ticker_24hr.json").read_text()))
    assert isinstance(ticker, Stats24h) and ticker.symbol == "BNBBTC" and ticker.count == 18151
    assert ticker.price_change_percent == Decimal("250.00") and ticker.close_time_ms == 86400000
    assert parse.stream_event({"e": "somethingNew"}) is None


def test_rest_samples(data_dir: Path) -> None:
    rest = data_dir / "binance" / "rest" / "nautilus"
    klines = json.loads((rest / "http_spot_market_klines.json").read_text())
    parsed = [parse.rest_kline("BTCUSDT", "1m", row) for row in klines]
    assert parsed and all(k.low <= k.high and k.close_time_ms > k.open_time_ms for k in parsed)
    trades = json.loads((rest / "http_spot_market_trades.json").read_text())
    assert [parse.rest_trade("BTCUSDT", t).trade_id for t in trades] == [t["id"] for t in trades]
    info = parse.exchange_info(json.loads((rest / "http_spot_market_exchange_info.json").read_text()))
    assert info["BTCUSDT"].tick_size == Decimal("0.01")  # the 2021 body with the legacy MIN_NOTIONAL filter
    assert info["BTCUSDT"].min_notional > 0


async def test_event_queue_reports_overflow() -> None:
    queue: EventQueue[int] = EventQueue(maxsize=3, name="market")
    for i in range(5):
        queue.put(i)
    first = await queue.get()
    assert isinstance(first, StreamStatus) and first.state == "overflow" and "2 market events" in first.detail
    assert [await queue.get() for _ in range(3)] == [2, 3, 4]
    assert queue.dropped_total == 2
    queue.close()
    assert [e async for e in queue] == []


async def test_event_queue_listener_gets_queued_events_first_and_survives_its_own_errors() -> None:
    queue: EventQueue[int] = EventQueue(maxsize=2, name="market")
    for i in range(3):
        queue.put(i)
    seen: list[object] = []

    def listener(item: object) -> None:
        if item == 4:
            raise RuntimeError("a bug in the consumer")
        seen.append(item)

    queue.listen(listener)
    assert isinstance(seen[0], StreamStatus) and seen[0].state == "overflow" and seen[1:] == [1, 2]
    for i in range(3, 6):
        queue.put(i)
    assert seen[3:] == [3, 5] and queue.listener_errors == 1 and len(queue) == 0
    queue.listen(None)
    queue.put(6)
    assert await queue.get() == 6
