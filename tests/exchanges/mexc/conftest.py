"""Fixtures for the MEXC tests: the real MEXC samples under ``../shared/data/mexc`` (missing data fails)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
from tradingmcp.server.exchanges.mexc.config import MexcConfig

from .fake_mexc import KEY, SECRET, FakeMexc


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


@pytest.fixture
async def fake(
    data_dir: Path, rest_bodies: dict[str, Any], misc_samples: dict[str, Any], symbol_entries: list[dict[str, Any]]
) -> AsyncIterator[FakeMexc]:
    """The MEXC-shaped fake exchange (REST + WebSocket) on 127.0.0.1, replaying the real BTCUSDT recording."""
    server = FakeMexc(data_dir, rest_bodies, misc_samples, symbol_entries)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await server.stop()
        await runner.cleanup()


def fake_config(fake: FakeMexc, **overrides: Any) -> MexcConfig:
    """An adapter config aimed at ``fake`` with its key, short timeouts and fast reconnects."""
    base: dict[str, Any] = {
        "api_key": KEY,
        "api_secret": SECRET,
        "rest_url": fake.url,
        "ws_url": fake.url.replace("http://", "ws://") + "/ws",
        "request_timeout_s": 2.0,
        "reconnect_delay_s": 0.05,
        "fill_merge_window_ms": 300,
    }
    base.update(overrides)
    return MexcConfig(**base)


@pytest.fixture
async def adapter(fake: FakeMexc) -> AsyncIterator[MexcAdapter]:
    """A started ``MexcAdapter`` on the fake."""
    async with MexcAdapter(fake_config(fake)) as ex:
        yield ex
