"""Stopping the exchange adapters' background tasks (readers, keep-alives, resyncs) on close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task of ``tasks`` (one snapshot), then wait for each to end; a task's own failure is swallowed
    (the adapter is closing: nothing is left to report it to)."""
    snapshot = list(tasks)
    for task in snapshot:
        task.cancel()
    for task in snapshot:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
