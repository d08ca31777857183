"""Fixtures for the low-latency mode's tests: ``tool_server``, the whole server stack (see
:mod:`tests.server.support`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server.support import ToolServer, start_tool_server


@pytest.fixture
async def tool_server(data_dir: Path, tmp_path: Path) -> AsyncIterator[ToolServer]:
    """The whole stack with the default ToolsetConfig, the simulator in manual-step mode."""
    async with start_tool_server(data_dir, tmp_path) as srv:
        yield srv
