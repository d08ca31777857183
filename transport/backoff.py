"""Jittered exponential backoff for reconnects (pure: no sleeping here)."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff(
    initial_s: float = 0.1, factor: float = 2.0, max_s: float = 10.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Delays in seconds: ``initial_s``, ×``factor`` each step, capped at ``max_s``, with "full jitter"
    (each delay uniform in [d/2, d]) so that many clients do not reconnect in lockstep. Infinite."""
    r = rng or random.Random()
    delay = initial_s
    while True:
        yield r.uniform(delay / 2, delay)
        delay = min(max_s, delay * factor)
