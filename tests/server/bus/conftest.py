"""A real ``nats-server -js`` on a free loopback port with a temporary store, started and stopped by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tradingmcp.server.bus.natsserver import NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A running nats-server (``.url``), stopped after the test; ``stop()``/``start()`` take it down and back."""
    server = NatsServer(tmp_path / "nats-store", log_file=tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
