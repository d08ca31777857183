"""Shared fixtures: uvloop for every async test, the real data folder (fails loudly when missing)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from tradingmcp.data import data_root


@pytest.fixture(scope="session")
def event_loop_policy() -> Iterator[asyncio.AbstractEventLoopPolicy]:
    """Every async test runs on uvloop, as the product does."""
    yield uvloop.EventLoopPolicy()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real recorded data (``../shared/data``). Missing data is an error, never a skip."""
    return data_root()
