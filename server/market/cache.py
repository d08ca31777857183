"""An in-memory TTL cache with single flight, in front of the venues' REST market-data reads.

Each entry is keyed by ``(exchange, kind, *rest)`` and is fresh for the TTL its reader gives. A miss runs the fetch in
a task of its own; every caller that asks for the same key while it runs awaits that one task (single flight), so a
thousand concurrent misses cost the exchange one request, and a caller that is cancelled does not cancel the fetch the
others wait for. A fetch that raises is not kept, except for the errors the reader names as lasting (e.g. an unknown
symbol), which answer like a value until the TTL ends.

Counters: :attr:`TtlCache.hits` and :attr:`TtlCache.misses` by ``(exchange, kind)``; a caller that joins a fetch under
way counts as a hit (it sent nothing).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

CacheKey = tuple[Hashable, ...]
"""``(exchange, kind, *rest)``: the first two items label the counters."""
ClockMs = Callable[[], int]
"""Monotonic time in ms."""
DEFAULT_MAX_ENTRIES = 10_000
"""Most entries kept; the oldest stored goes first when a new one would pass it."""


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value read through the cache: ``age_ms`` since it was fetched, ``cached`` False when this call fetched it."""

    value: T
    age_ms: int
    cached: bool


class TtlCache:
    """See the module docstring.

    Args:
        clock_ms: monotonic clock in ms (injectable for tests).
        max_entries: most entries kept (:data:`DEFAULT_MAX_ENTRIES`).
    """

    def __init__(self, clock_ms: ClockMs = monotonic_ms, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.clock_ms = clock_ms
        self.max_entries = max_entries
        self.hits: Counter[tuple[str, str]] = Counter()
        self.misses: Counter[tuple[str, str]] = Counter()
        self._entries: dict[CacheKey, tuple[int, bool, Any]] = {}
        self._inflight: dict[CacheKey, asyncio.Task[Any]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self,
        key: CacheKey,
        ttl_ms: int,
        fetch: Callable[[], Awaitable[T]],
        lasting: tuple[type[BaseException], ...] = (),
    ) -> Cached[T]:
        """The value of ``key``: a stored one younger than ``ttl_ms``, else the result of the fetch under way for
        ``key``, else of a new ``fetch()``.

        Raises:
            Exception: what ``fetch`` raised (instances of ``lasting`` are stored and raised again until the TTL
                ends; others are not stored).
        """
        label = (str(key[0]), str(key[1]))
        now = self.clock_ms()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < ttl_ms:
            self.hits[label] += 1
            stamp, failed, value = entry
            if failed:
                raise value.with_traceback(None)  # the same instance each time: no traceback piling up
            return Cached(value, now - stamp, True)
        task = self._inflight.get(key)
        joined = task is not None
        if task is None:
            self.misses[label] += 1
            task = asyncio.get_running_loop().create_task(self._fill(key, fetch, lasting))
            task.add_done_callback(_retrieve)
            self._inflight[key] = task
        else:
            self.hits[label] += 1
        value = await asyncio.shield(task)
        return Cached(value, 0, joined)

    async def _fill(
        self, key: CacheKey, fetch: Callable[[], Awaitable[T]], lasting: tuple[type[BaseException], ...]
    ) -> T:
        try:
            value = await fetch()
        except lasting as exc:
            self._store(key, True, exc)
            raise
        else:
            self._store(key, False, value)
            return value
        finally:
            self._inflight.pop(key, None)

    def _store(self, key: CacheKey, failed: bool, value: Any) -> None:
        self._entries.pop(key, None)  # re-inserted last: the insertion order is the age order
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (self.clock_ms(), failed, value)

    def clear(self) -> None:
        """Forget every stored value (fetches under way still answer their callers)."""
        self._entries.clear()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a fetch's exception as retrieved: nobody may be left awaiting it (its callers were cancelled)."""
    if not task.cancelled():
        task.exception()


__all__ = ["DEFAULT_MAX_ENTRIES", "CacheKey", "Cached", "TtlCache", "monotonic_ms"]
