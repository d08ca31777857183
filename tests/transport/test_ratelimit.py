"""The token bucket without a loop: a fake clock, exact waits, refill capped at the burst, refusals take nothing."""

from __future__ import annotations

import pytest

from tradingmcp.transport.ratelimit import NO_LIMIT, RateLimit, TokenBucket, retry_after_ms


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_the_wait_until_one_token_then_served() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_s=10, burst=3), clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst passes at once
    wait = bucket.take()
    assert wait == pytest.approx(0.1)  # one token per 1/10 s
    assert bucket.take() == pytest.approx(0.1)  # a refused request took nothing: the wait did not grow
    clock.now += 0.05
    assert bucket.take() == pytest.approx(0.05)  # half a token there: half the wait left
    clock.now += 0.05
    assert bucket.take() == 0.0  # served after the wait
    assert bucket.take() == pytest.approx(0.1)


def test_refill_is_capped_at_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_s=100, burst=5), clock)
    for _ in range(5):
        bucket.take()
    clock.now += 3600  # an hour idle refills only the burst
    assert bucket.tokens == 5
    assert sum(bucket.take() == 0.0 for _ in range(6)) == 5


def test_sustained_rate_is_the_configured_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_s=50, burst=10), clock)
    served = 0
    for _ in range(10_000):  # 10 s of a client sending every millisecond
        clock.now += 0.001
        served += bucket.take() == 0.0
    assert 10 + 500 - 1 <= served <= 10 + 500  # the burst, then 50 a second


def test_limits_are_validated_and_retry_is_whole_milliseconds_rounded_up() -> None:
    for per_s, burst in ((-1.0, 5), (float("nan"), 5), (float("inf"), 5), (10.0, 0)):
        with pytest.raises(ValueError):
            RateLimit(per_s, burst)
    assert not NO_LIMIT.enabled and RateLimit(0, 0).describe() == "no request-rate limit"
    assert RateLimit(1000, 2000).describe() == "1000 requests/s, burst 2000"
    with pytest.raises(ValueError):
        TokenBucket(NO_LIMIT)
    assert retry_after_ms(0.0001) == 1 and retry_after_ms(0.1) == 100 and retry_after_ms(0.1004) == 101
