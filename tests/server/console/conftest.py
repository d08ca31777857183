"""Fixtures of the console tests: ``srv`` (the server on the simulator, see :mod:`.support`) and ``browser``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from .support import ConsoleServer, chromium, console_server


@pytest.fixture
async def srv(data_dir: Path, tmp_path: Path) -> AsyncIterator[ConsoleServer]:
    async with console_server(data_dir, tmp_path) as s:
        yield s


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b
