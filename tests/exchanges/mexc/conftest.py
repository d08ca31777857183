"""Fixtures for the MEXC tests: the real MEXC samples under ``../shared/data/mexc`` (missing data fails)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def mexc_dir(data_dir: Path) -> Path:
    """``<data>/mexc``: samples, REST bodies, MEXC's official .proto files."""
    path = data_dir / "mexc"
    assert path.is_dir(), f"missing {path}"
    return path


@pytest.fixture(scope="session")
def misc_samples(mexc_dir: Path) -> dict[str, Any]:
    """``mexc_misc_real_samples.json``: protobuf-era pushes decoded to JSON, an exchangeInfo body, a trades body."""
    body: dict[str, Any] = json.loads((mexc_dir / "mexc_misc_real_samples.json").read_text())
    return body


@pytest.fixture(scope="session")
def rest_bodies(mexc_dir: Path) -> dict[str, Any]:
    """``mexc_rest_responses_ccxt.json``: real REST bodies keyed by request."""
    body: dict[str, Any] = json.loads((mexc_dir / "mexc_rest_responses_ccxt.json").read_text())
    return body


@pytest.fixture(scope="session")
def symbol_entries(mexc_dir: Path) -> list[dict[str, Any]]:
    """``exchangeInfo`` symbol entries for six USDT pairs (numbers stringified by ccxt)."""
    body: dict[str, Any] = json.loads((mexc_dir / "mexc_exchangeInfo_spot_symbols_ccxt.json").read_text())
    entries: list[dict[str, Any]] = body["symbols"]
    return entries
