"""Per-endpoint weight windows (MEXC: 500 per 10 s per endpoint) and Retry-After blocking, with no event loop."""

from __future__ import annotations

import pytest

from tradingmcp.server.exchanges.mexc.ratelimit import EndpointLimiter


def test_window_fills_then_frees() -> None:
    lim = EndpointLimiter(limit=20, window_s=10.0)
    for i in range(2):
        assert lim.delay_s("GET /api/v3/account", 100.0 + i) == 0
        lim.spend("GET /api/v3/account", 100.0 + i)  # weight 10 each
    assert lim.used("GET /api/v3/account", 101.0) == 20
    assert lim.delay_s("GET /api/v3/account", 102.0) == pytest.approx(8.0)  # the first call leaves at 110
    assert lim.delay_s("GET /api/v3/depth", 102.0) == 0  # endpoints are independent
    assert lim.delay_s("GET /api/v3/account", 110.0) == 0 and lim.used("GET /api/v3/account", 110.0) == 10


def test_retry_after_blocks_every_endpoint_and_bans_clear() -> None:
    lim = EndpointLimiter()
    lim.on_retry_after(3.0, 50.0, banned=False)
    assert lim.delay_s("GET /api/v3/ping", 51.0) == pytest.approx(2.0) and not lim.banned
    lim.on_retry_after(120.0, 51.0, banned=True)
    assert lim.banned and lim.delay_s("GET /api/v3/time", 60.0) == pytest.approx(111.0)
    lim.clear_ban(100.0)
    assert lim.banned
    lim.clear_ban(171.0)
    assert not lim.banned and lim.delay_s("GET /api/v3/time", 171.0) == 0
