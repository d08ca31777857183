"""Fixtures for the exchange tests: the real Binance exchangeInfo body and its parsed rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.models import SymbolRules


@pytest.fixture(scope="session")
def exchange_info_body(data_dir: Path) -> dict[str, Any]:
    """The real ``/api/v3/exchangeInfo`` body (BTCUSDT, ETHUSDT, ADAUSDT)."""
    body: dict[str, Any] = json.loads((data_dir / "binance" / "rest" / "exchangeInfo.json").read_text())
    return body


@pytest.fixture(scope="session")
def btc_rules(exchange_info_body: dict[str, Any]) -> SymbolRules:
    """BTCUSDT rules: tick 0.01, step 0.00001, min notional 5 USDT."""
    return parse.exchange_info(exchange_info_body)["BTCUSDT"]
