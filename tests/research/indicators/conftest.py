"""Real candles for the indicator tests: the recorded Binance trades (``TRADINGMCP_DATA``) folded into 1 s klines by
the simulator's own bar builder (:class:`~tradingmcp.sim.market.SymbolMarket`), the candles ``get_klines`` serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingmcp.server.exchanges.models import Kline
from tradingmcp.sim.data import binance_recordings
from tradingmcp.sim.market import SymbolMarket
from tradingmcp.sim.replay import EventKind, read_recording


def recorded_klines(data_dir: Path, symbol: str, interval: str = "1s") -> list[Kline]:
    """Every ``interval`` candle of ``symbol``'s recording, oldest first."""
    market = SymbolMarket(symbol, lambda stream, payload: None, lambda stream: False)
    for event in read_recording(symbol, binance_recordings(symbol, data_dir)):
        if event.kind is EventKind.TRADE:
            market.on_trade(event.data)
    return [
        Kline(symbol, interval, b.t, b.T, b.o, b.h, b.l, b.c, b.v, b.q, b.n, b.V, b.Q) for b in market.bars(interval)
    ]


@pytest.fixture(scope="session")
def btc_1s(data_dir: Path) -> list[Kline]:
    return recorded_klines(data_dir, "BTCUSDT")


@pytest.fixture(scope="session")
def eth_1s(data_dir: Path) -> list[Kline]:
    return recorded_klines(data_dir, "ETHUSDT")
