"""The shared reconnect backoff (client reconnect, the Binance order channel and user data stream, market streams)."""

from __future__ import annotations

import itertools
import random

from tradingmcp.transport.backoff import backoff


class _Edge(random.Random):
    """``uniform`` at one end of the range: the top (no jitter) or the bottom (most jitter)."""

    def __init__(self, top: bool) -> None:
        super().__init__()
        self.top = top

    def uniform(self, a: float, b: float) -> float:
        return b if self.top else a


def test_reconnect_backoff_grows_capped_with_jitter() -> None:
    assert list(itertools.islice(backoff(0.2, 2.0, 30.0, _Edge(True)), 4)) == [0.2, 0.4, 0.8, 1.6]
    assert list(itertools.islice(backoff(0.2, 2.0, 30.0, _Edge(True)), 100))[-1] == 30.0
    assert next(backoff(0.2, 2.0, 30.0, _Edge(False))) == 0.1  # jitter: 50-100 %
    delays = list(itertools.islice(backoff(0.2, 2.0, 30.0), 50))
    assert all(0.1 <= d <= 30.0 for d in delays)
