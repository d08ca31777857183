"""Shared fixtures: uvloop for every async test, the real data folder (fails loudly when missing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import uvloop

from tradingmcp.sim.data import data_root


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], Any]]:
    """Every async test runs on uvloop, as the product does."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real recorded data (``../shared/data``). Missing data is an error, never a skip."""
    return data_root()
